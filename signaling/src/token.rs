//! Signed, expiring invite tokens (HS256 JWT) binding meeting, site and role.
//!
//! A token is the whole credential of a site: whoever holds the link joins as that site.
//! Forging a role or moving a token to another meeting breaks the signature. Tokens are never
//! logged.

use jsonwebtoken::{
    decode, encode, errors::ErrorKind, Algorithm, DecodingKey, EncodingKey, Header, Validation,
};
use serde::{Deserialize, Serialize};

use crate::protocol::Role;

/// What a token says.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    /// Meeting id.
    pub mid: String,
    /// Site id within the meeting.
    pub sid: String,
    /// Role in the meeting.
    pub role: Role,
    /// Expiry, seconds since the Unix epoch.
    pub exp: u64,
    /// Issue time, seconds since the Unix epoch.
    pub iat: u64,
    /// Unique token id, for revocation and replay checks.
    pub jti: String,
}

/// Why a token was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    /// Past its `exp`.
    #[error("the invitation has expired")]
    Expired,
    /// Bad format, bad signature, or bad claims.
    #[error("the invitation is not valid")]
    Invalid,
}

/// Signs and verifies tokens with one secret.
#[derive(Clone)]
pub struct TokenKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
}

impl std::fmt::Debug for TokenKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TokenKeys(..)")
    }
}

impl TokenKeys {
    /// Keys from a shared secret (at least 32 bytes recommended).
    pub fn new(secret: &[u8]) -> Self {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.leeway = 0;
        validation.set_required_spec_claims(&["exp"]);
        TokenKeys {
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
            validation,
        }
    }

    /// Signs claims into a token.
    pub fn sign(&self, claims: &Claims) -> String {
        encode(&Header::new(Algorithm::HS256), claims, &self.encoding)
            .expect("HS256 signing of plain claims cannot fail")
    }

    /// Signs claims of another shape (the hall equipment's media tokens): what tells them
    /// from invite claims is their fields, which neither kind can parse as the other.
    pub fn sign_claims<T: Serialize>(&self, claims: &T) -> String {
        encode(&Header::new(Algorithm::HS256), claims, &self.encoding)
            .expect("HS256 signing of plain claims cannot fail")
    }

    /// Verifies a token's signature and expiry and returns its claims.
    pub fn verify(&self, token: &str) -> Result<Claims, TokenError> {
        self.verify_claims(token)
    }

    /// As [`TokenKeys::verify`], for claims of shape `T`: a token of another shape is invalid.
    pub fn verify_claims<T: serde::de::DeserializeOwned>(
        &self,
        token: &str,
    ) -> Result<T, TokenError> {
        if token.len() > 4096 {
            return Err(TokenError::Invalid);
        }
        decode::<T>(token, &self.decoding, &self.validation)
            .map(|d| d.claims)
            .map_err(|e| match e.kind() {
                ErrorKind::ExpiredSignature => TokenError::Expired,
                _ => TokenError::Invalid,
            })
    }
}

/// Milliseconds since the Unix epoch now.
pub fn unix_now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// Seconds since the Unix epoch now.
pub fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims(exp: u64) -> Claims {
        Claims {
            mid: "m1".into(),
            sid: "s1".into(),
            role: Role::Site,
            exp,
            iat: unix_now(),
            jti: "j1".into(),
        }
    }

    #[test]
    fn signed_token_verifies_to_the_same_claims() {
        let keys = TokenKeys::new(b"0123456789abcdef0123456789abcdef");
        let c = claims(unix_now() + 3600);
        assert_eq!(keys.verify(&keys.sign(&c)).unwrap(), c);
    }

    #[test]
    fn expired_token_is_refused_as_expired() {
        let keys = TokenKeys::new(b"0123456789abcdef0123456789abcdef");
        let t = keys.sign(&claims(unix_now() - 1));
        assert_eq!(keys.verify(&t), Err(TokenError::Expired));
    }

    #[test]
    fn token_signed_with_another_secret_is_invalid() {
        let a = TokenKeys::new(b"secret-a-secret-a-secret-a-secret-a");
        let b = TokenKeys::new(b"secret-b-secret-b-secret-b-secret-b");
        let t = a.sign(&claims(unix_now() + 60));
        assert_eq!(b.verify(&t), Err(TokenError::Invalid));
    }

    #[test]
    fn forged_role_breaks_the_signature() {
        use base64_payload::swap_payload;
        let keys = TokenKeys::new(b"0123456789abcdef0123456789abcdef");
        let t = keys.sign(&claims(unix_now() + 60));
        let mut forged = claims(unix_now() + 60);
        forged.role = Role::Chair;
        let other = keys.sign(&forged);
        // Payload of the chair token with the signature of the site token.
        let tampered = swap_payload(&t, &other);
        assert_eq!(keys.verify(&tampered), Err(TokenError::Invalid));
    }

    #[test]
    fn garbage_and_empty_tokens_are_invalid() {
        let keys = TokenKeys::new(b"0123456789abcdef0123456789abcdef");
        for t in ["", "abc", "a.b.c", &"x".repeat(5000)] {
            assert_eq!(keys.verify(t), Err(TokenError::Invalid), "{t:.20}");
        }
    }

    mod base64_payload {
        /// `header.payload(other).signature(original)`.
        pub fn swap_payload(original: &str, other: &str) -> String {
            let o: Vec<&str> = original.split('.').collect();
            let p: Vec<&str> = other.split('.').collect();
            format!("{}.{}.{}", o[0], p[1], o[2])
        }
    }
}
