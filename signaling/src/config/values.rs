//! The value types of keys that plain Rust types do not cover: a range-checked number, a list
//! that the environment and flags may give comma-separated, a secret that never shows, and
//! the mode. Each checks its own value while it is read, so the error names the key.

use std::fmt;
use std::marker::PhantomData;
use std::str::FromStr;

use serde::de::{self, Deserializer, SeqAccess, Visitor};
use serde::{Deserialize, Serialize, Serializer};

/// A secret value. `Debug` and serialization (the `--check-config` summary) show only its
/// length.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret value.
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    /// The value, for the one place that uses it (signing, comparing).
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// What is shown instead of the value.
    pub fn redacted(&self) -> String {
        format!("<redacted, {} bytes>", self.0.len())
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Secret({})", self.redacted())
    }
}

impl<'de> Deserialize<'de> for Secret {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d).map(Secret)
    }
}

impl Serialize for Secret {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.redacted())
    }
}

/// How strict the checks are.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    /// Secrets are generated when missing; anything goes on loopback.
    #[default]
    Development,
    /// Secrets and `public_url` are required; plain HTTP only on loopback or behind a proxy.
    Production,
}

/// A whole number in `LO..=HI`; anything else is refused as it is read, with the range.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bounded<const LO: u64, const HI: u64>(pub u64);

impl<'de, const LO: u64, const HI: u64> Deserialize<'de> for Bounded<LO, HI> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let value = u64::deserialize(d)?;
        if (LO..=HI).contains(&value) {
            Ok(Bounded(value))
        } else {
            Err(de::Error::custom(format!("{value} is outside {LO}..={HI}")))
        }
    }
}

impl<const LO: u64, const HI: u64> Serialize for Bounded<LO, HI> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(self.0)
    }
}

/// A list of values parsed from text: a TOML array, or one comma-separated string (the form
/// an environment variable or a flag gives). An item that does not parse refuses the whole
/// key with the parser's message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct List<T>(pub Vec<T>);

impl<'de, T> Deserialize<'de> for List<T>
where
    T: FromStr,
    T::Err: fmt::Display,
{
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Texts<T>(PhantomData<T>);
        impl<'de, T> Visitor<'de> for Texts<T> {
            type Value = Vec<String>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a list of strings, or one comma-separated string")
            }
            fn visit_str<E: de::Error>(self, text: &str) -> Result<Vec<String>, E> {
                Ok(text
                    .split(',')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(str::to_owned)
                    .collect())
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<String>, A::Error> {
                let mut out = Vec::new();
                while let Some(item) = seq.next_element::<String>()? {
                    out.push(item);
                }
                Ok(out)
            }
        }
        let texts = d.deserialize_any(Texts::<T>(PhantomData))?;
        texts
            .iter()
            .map(|t| t.parse().map_err(de::Error::custom))
            .collect::<Result<_, _>>()
            .map(List)
    }
}

impl<T> std::ops::Deref for List<T> {
    type Target = Vec<T>;

    fn deref(&self) -> &Vec<T> {
        &self.0
    }
}

impl<T: fmt::Display> Serialize for List<T> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.0.iter().map(ToString::to_string))
    }
}
