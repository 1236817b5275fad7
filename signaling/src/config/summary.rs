//! `--check-config`'s summary: one line per key, in declaration order, with its value in
//! force and where it came from. Secrets show only their length (their serialization, see
//! [`super::values::Secret`]); a secret's file key is folded into the secret's line.

use figment::value::Value;

use super::keys::{self, SECRETS};
use super::Config;

impl Config {
    /// One line per key with its value and source; secrets show only whether they are set.
    pub fn summary(&self) -> String {
        let values = Value::serialize(&self.keys).ok();
        let width = keys::all().iter().map(|k| k.path.len()).max().unwrap_or(0);
        let mut out = String::new();
        for key in keys::all() {
            let path = key.path.as_str();
            if SECRETS.iter().any(|(_, file_key, _)| *file_key == path) {
                continue;
            }
            let value = values.as_ref().and_then(|v| v.find_ref(path));
            let (value, from) = match SECRETS.iter().find(|(s, _, _)| *s == path) {
                Some((_, file_key, without)) => {
                    let shown = match value.map(render) {
                        Some(v) if v != NOT_SET => v,
                        _ => format!("(not set: {without})"),
                    };
                    let from = match (self.sources.get(path), self.sources.get(*file_key)) {
                        (Some(s), _) => s.to_string(),
                        (None, Some(s)) => format!("{file_key}, {s}"),
                        (None, None) => "default".into(),
                    };
                    (shown, from)
                }
                None => (
                    value.map_or_else(|| NOT_SET.to_owned(), render),
                    self.source(path).to_string(),
                ),
            };
            out.push_str(&format!("{path:<width$} = {value}   [{from}]\n"));
        }
        out
    }
}

const NOT_SET: &str = "(not set)";

fn render(value: &Value) -> String {
    match value {
        Value::String(_, s) => s.clone(),
        Value::Char(_, c) => c.to_string(),
        Value::Bool(_, b) => b.to_string(),
        Value::Num(_, n) => n
            .to_u128()
            .map(|n| n.to_string())
            .or_else(|| n.to_i128().map(|n| n.to_string()))
            .or_else(|| n.to_f64().map(|n| n.to_string()))
            .unwrap_or_default(),
        Value::Empty(..) => NOT_SET.to_owned(),
        Value::Array(_, items) if items.is_empty() => "(none)".to_owned(),
        Value::Array(_, items) => items.iter().map(render).collect::<Vec<_>>().join(", "),
        Value::Dict(..) => String::new(),
    }
}
