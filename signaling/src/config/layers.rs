//! The layers of one start, merged with figment in order: defaults (the structs' own, see
//! [`super::keys`]) < the TOML file < `DIEMCAU_*` environment < flags. Beside the merge it
//! records where each key's value came from, for errors and the summary.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use figment::providers::{Format, Serialized, Toml};
use figment::Figment;

use super::keys::{self, Keys, SECRETS};
use super::{env_name, invalid, source_of, ConfigError, Source};

/// The sources of one start, before merging.
#[derive(Debug, Default, Clone)]
pub struct Layers {
    /// The TOML file (`--config` / `DIEMCAU_CONFIG`), if any.
    pub file: Option<PathBuf>,
    /// The process environment (only `DIEMCAU_<key>` variables are read; others are ignored).
    pub env: BTreeMap<String, String>,
    /// Command-line flags as (key path, value, flag name), in order.
    pub flags: Vec<(String, String, String)>,
}

impl Layers {
    /// Layers from the process environment, with no file and no flags yet.
    pub fn from_process_env() -> Self {
        Layers {
            env: std::env::vars()
                .filter(|(k, _)| k.starts_with("DIEMCAU_"))
                .collect(),
            ..Layers::default()
        }
    }

    /// The layers of the running process: the file given by `--config` (else
    /// `DIEMCAU_CONFIG`), the environment, and the key flags given.
    pub fn from_process(config: Option<PathBuf>, flags: Vec<(String, String, String)>) -> Self {
        Layers {
            file: config.or_else(|| std::env::var_os("DIEMCAU_CONFIG").map(PathBuf::from)),
            flags,
            ..Layers::from_process_env()
        }
    }

    /// Adds a flag's value for `key` (e.g. `("http", "0.0.0.0:8080", "--http")`).
    pub fn flag(&mut self, key: &str, value: impl Into<String>, flag: &str) {
        self.flags
            .push((key.to_owned(), value.into(), flag.to_owned()));
    }
}

/// The merged keys and where each set key came from (keys at their default are absent).
pub(super) fn merge(layers: &Layers) -> Result<(Keys, BTreeMap<String, Source>), ConfigError> {
    let mut merged = Merged::default();
    if let Some(path) = &layers.file {
        let text = std::fs::read_to_string(path).map_err(|error| ConfigError::Read {
            path: path.clone(),
            error,
        })?;
        let table: toml::Table = toml::from_str(&text).map_err(|e| ConfigError::Syntax {
            path: path.clone(),
            message: e.to_string().trim_end().to_owned(),
        })?;
        let source = Source::File(path.clone());
        let mut leaves = Vec::new();
        collect_leaves(&table, "", &mut leaves);
        for key in &leaves {
            if let Some((secret, file_key, _)) = SECRETS.iter().find(|(s, _, _)| s == key) {
                return Err(invalid(
                    secret,
                    source,
                    format!(
                        "secrets do not belong in the config file: set {file_key} (a file holding it) or {}",
                        env_name(secret)
                    ),
                ));
            }
        }
        merged.note(leaves.iter().map(|k| (k.as_str(), &source)))?;
        merged.figment = merged.figment.merge(Toml::string(&text));
    }

    let env: Vec<(&str, &str, Source)> = keys::all()
        .iter()
        .filter_map(|k| {
            let var = env_name(&k.path);
            let value = layers.env.get(&var)?;
            Some((k.path.as_str(), value.as_str(), Source::Env(var)))
        })
        .collect();
    merged.apply(&env)?;

    let mut flags = Vec::new();
    for (key, value, flag) in &layers.flags {
        let source = Source::Flag(flag.clone());
        let Some(k) = keys::all().iter().find(|k| &k.path == key) else {
            return Err(invalid(key, source, "not a configuration key".into()));
        };
        flags.push((k.path.as_str(), value.as_str(), source));
    }
    merged.apply(&flags)?;

    let Merged {
        figment,
        sources,
        forgotten,
    } = merged;
    // Lossy: a value from the environment or a flag is text; `"20"` may fill a number and
    // `"yes"` a yes/no key. A string key keeps its text as it is.
    let mut keys: Keys = figment
        .extract_lossy()
        .map_err(|e| from_figment(e, &sources))?;
    for key in &forgotten {
        keys.forget(key);
    }
    Ok((keys, sources))
}

#[derive(Default)]
struct Merged {
    figment: Figment,
    sources: BTreeMap<String, Source>,
    /// Secret keys replaced by their counterpart from a higher layer.
    forgotten: BTreeSet<&'static str>,
}

impl Merged {
    /// Records that one layer sets `keys`: a secret and its file key replace each other
    /// across layers; both in one layer is an error.
    fn note<'a>(
        &mut self,
        keys: impl Iterator<Item = (&'a str, &'a Source)> + Clone,
    ) -> Result<(), ConfigError> {
        for (secret, file_key, _) in SECRETS {
            let set = |k: &str| keys.clone().find(|(key, _)| *key == k).map(|(_, s)| s);
            let replaced = match (set(secret), set(file_key)) {
                (Some(_), Some(s)) => {
                    return Err(invalid(
                        file_key,
                        s.clone(),
                        format!("both {secret} and {file_key} are set: keep one"),
                    ));
                }
                (Some(_), None) => Some(*file_key),
                (None, Some(_)) => Some(*secret),
                (None, None) => None,
            };
            if let Some(other) = replaced {
                if self.sources.remove(other).is_some() {
                    self.forgotten.insert(other);
                }
            }
        }
        for (key, source) in keys {
            self.sources.insert(key.to_owned(), source.clone());
            self.forgotten.retain(|k| *k != key);
        }
        Ok(())
    }

    /// Merges one layer of text values (environment or flags) over what is there.
    fn apply(&mut self, layer: &[(&str, &str, Source)]) -> Result<(), ConfigError> {
        self.note(layer.iter().map(|(k, _, s)| (*k, s)))?;
        for (key, value, _) in layer {
            self.figment = std::mem::take(&mut self.figment).merge(Serialized::default(key, value));
        }
        Ok(())
    }
}

/// The first error figment reports, as the key at fault, where it came from and what is
/// wrong (figment's path includes an unknown key's own name).
fn from_figment(error: figment::Error, sources: &BTreeMap<String, Source>) -> ConfigError {
    use figment::error::Kind;
    let key = error.path.join(".");
    let message = match &error.kind {
        Kind::UnknownField(_, known) => {
            format!("unknown field; the keys here are {}", known.join(", "))
        }
        Kind::UnknownVariant(found, known) => {
            format!("`{found}` is not one of {}", known.join(", "))
        }
        kind => kind.to_string(),
    };
    invalid(&key, source_of(sources, &key), message)
}

/// The path of every value in `table`, sections included (`turn.urls`).
fn collect_leaves(table: &toml::Table, prefix: &str, out: &mut Vec<String>) {
    for (k, v) in table {
        let path = if prefix.is_empty() {
            k.clone()
        } else {
            format!("{prefix}.{k}")
        };
        match v {
            toml::Value::Table(t) if !t.is_empty() => collect_leaves(t, &path, out),
            _ => out.push(path),
        }
    }
}
