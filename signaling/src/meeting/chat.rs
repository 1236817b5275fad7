//! Text messages. A site writes to the chair; the chair, co-chairs and operators write to
//! everyone or to one site. Whoever wrote, the chair, co-chairs and operators read every
//! message (they moderate); a site reads what it wrote, what was sent to all, and what was
//! sent to it.
//!
//! History: the meeting keeps its last [`HISTORY`] messages, and with a data directory every
//! message is appended to `chat/<meeting>.jsonl` (see [`crate::jsonl`]) before anyone is
//! sent it (its [`Effect::AppendChat`] comes before the sends), so a restart loses nothing
//! a participant saw. A page that joins (late, or after a reload) is sent, after `joined`,
//! the kept messages it may read by the rules above, as ordinary `chat` messages; a resumed
//! socket is not (its page has them). The whole file is exported through the API.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::protocol::{ErrorCode, Refusal, Role, ServerMessage, SiteRef};

use super::{site_removed, Effect, Input, State};

/// How many messages a meeting keeps for pages that join later (the page keeps as many).
pub const HISTORY: usize = 500;

/// One message as kept.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Line {
    /// When the server took it, Unix milliseconds.
    pub at_ms: u64,
    /// The writer's site id.
    pub from_id: String,
    /// The writer's name.
    pub from_name: String,
    /// The writer's role (`chair`, `site`, `operator`).
    pub from_role: String,
    /// `chair`, `all` or a site id.
    pub to: String,
    /// The text.
    pub text: String,
}

/// A meeting's chat as exported.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct History {
    /// Meeting id.
    pub meeting_id: String,
    /// Every message, oldest first.
    pub messages: Vec<Line>,
    /// Lines that did not parse (cut by a crash) and were left out.
    pub skipped_lines: usize,
}

/// Where the chat of `meeting_id` is kept.
pub fn file_for(data_dir: &Path, meeting_id: &str) -> PathBuf {
    data_dir.join("chat").join(format!("{meeting_id}.jsonl"))
}

/// The whole chat of `meeting_id` as kept on disk.
pub fn load(data_dir: Option<&Path>, meeting_id: &str) -> History {
    let (messages, skipped_lines) = match data_dir {
        Some(dir) => crate::jsonl::read(&file_for(dir, meeting_id), "chat history"),
        None => (Vec::new(), 0),
    };
    History {
        meeting_id: meeting_id.into(),
        messages,
        skipped_lines,
    }
}

impl State {
    /// Whether `reader` may read a message from `from` to `to`.
    fn may_read(&self, reader: &str, from: &str, to: &str) -> bool {
        reader == from || to == "all" || to == reader || self.is_watcher(reader)
    }

    /// The kept messages `reader` may read, as `chat` messages, oldest first.
    pub(super) fn chat_for(&self, reader: &str) -> Vec<ServerMessage> {
        self.chat
            .iter()
            .filter(|l| self.may_read(reader, &l.from_id, &l.to))
            .map(|l| ServerMessage::Chat {
                from: SiteRef {
                    id: l.from_id.clone(),
                    name: l.from_name.clone(),
                    role: self.role_of_name(&l.from_role),
                },
                to: l.to.clone(),
                text: l.text.clone(),
                at_ms: l.at_ms,
            })
            .collect()
    }

    fn role_of_name(&self, role: &str) -> Role {
        match role {
            "chair" => Role::Chair,
            "operator" => Role::Operator,
            _ => Role::Site,
        }
    }

    /// The history read back after a restart: its last [`HISTORY`] messages.
    pub fn restore_chat(&mut self, lines: Vec<Line>) {
        let skip = lines.len().saturating_sub(HISTORY);
        self.chat = lines.into_iter().skip(skip).collect();
    }
}

/// A text message from `from` to `to` (`chair`, `all`, or a site id).
#[derive(Debug, Clone)]
pub struct Chat {
    /// The writer.
    pub from: String,
    /// `chair`, `all` or a site id.
    pub to: String,
    /// The text (control characters but newline and tab are dropped).
    pub text: String,
}

impl Input for Chat {
    type Reply = ();
    fn apply(self, st: &mut State, now_ms: u64) -> Result<(), Refusal> {
        let from = st.site(&self.from).cloned().ok_or_else(site_removed)?;
        let moderator = from.role != Role::Site || st.rules.cochairs.contains(&self.from);
        // Checks the addressee; who reads it is `may_read`.
        let _addressee = match self.to.as_str() {
            "chair" => None,
            "all" if moderator => None,
            "all" => {
                return Err(Refusal::new(
                    ErrorCode::Forbidden,
                    "sites write to the chair, not to everyone",
                ))
            }
            id if moderator => {
                st.site(id).ok_or_else(|| {
                    Refusal::new(ErrorCode::UnknownSite, "this meeting has no such site")
                })?;
                Some(id.to_owned())
            }
            _ => {
                return Err(Refusal::new(
                    ErrorCode::Forbidden,
                    "sites write to the chair, not to other sites",
                ))
            }
        };
        let text: String = self
            .text
            .chars()
            .filter(|c| !c.is_control() || *c == '\n' || *c == '\t')
            .collect();
        let line = Line {
            at_ms: now_ms,
            from_id: from.id.clone(),
            from_name: from.name.clone(),
            from_role: from.role.as_str().into(),
            to: self.to.clone(),
            text: text.clone(),
        };
        if st.chat.len() == HISTORY {
            st.chat.pop_front();
        }
        st.chat.push_back(line.clone());
        if st.kept {
            // On disk before anyone is sent it.
            st.effects.push(Effect::AppendChat(Box::new(line)));
        }
        let msg = ServerMessage::Chat {
            from: SiteRef {
                id: from.id.clone(),
                name: from.name.clone(),
                role: from.role,
            },
            to: self.to.clone(),
            text,
            at_ms: now_ms,
        };
        let to = self.to.clone();
        st.send_where(&msg, |st, id| st.may_read(id, &from.id, &to));
        Ok(())
    }
}
