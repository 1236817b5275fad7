//! Text messages. A site writes to the chair; the chair, co-chairs and operators write to
//! everyone or to one site. Whoever wrote, the chair, co-chairs and operators read every
//! message (they moderate); a site reads what it wrote, what was sent to all, and what was
//! sent to it.

use crate::protocol::{ErrorCode, Refusal, Role, ServerMessage, SiteRef};

use super::{site_removed, Input, State};

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
        let to_site = match self.to.as_str() {
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
        let all = self.to == "all";
        st.send_where(&msg, |st, id| {
            id == from.id || all || to_site.as_deref() == Some(id) || st.is_watcher(id)
        });
        Ok(())
    }
}
