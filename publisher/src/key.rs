//! Where the signing key comes from. The key itself is never printed, logged or put into an
//! error message; errors name only its source.

use std::path::PathBuf;

use alloy::signers::local::PrivateKeySigner;

use crate::error::{PublishError, Result};

/// The source of the transaction signer.
#[derive(Clone, Debug)]
pub enum KeySource {
    /// A hex private key (with or without `0x`) in this environment variable.
    Env(String),
    /// An encrypted JSON keystore (Web3 Secret Storage) and the environment variable holding
    /// its password.
    Keystore {
        /// The keystore file.
        path: PathBuf,
        /// Environment variable with the password.
        password_env: String,
    },
}

impl KeySource {
    /// Loads the signer.
    pub fn signer(&self) -> Result<PrivateKeySigner> {
        match self {
            Self::Env(var) => {
                let value = std::env::var(var).map_err(|e| PublishError::Key {
                    detail: match e {
                        std::env::VarError::NotPresent => format!("environment variable {var} is not set"),
                        std::env::VarError::NotUnicode(_) => {
                            format!("environment variable {var} is not text")
                        }
                    },
                })?;
                let hex = value.trim().trim_start_matches("0x");
                if hex.len() != 64 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
                    return Err(PublishError::Key {
                        detail: format!(
                            "environment variable {var} does not hold a private key (expected 64 hex digits, \
                             got {} characters)",
                            hex.len()
                        ),
                    });
                }
                hex.parse::<PrivateKeySigner>().map_err(|_| PublishError::Key {
                    detail: format!(
                        "environment variable {var} holds 64 hex digits that are not a valid secp256k1 key"
                    ),
                })
            }
            Self::Keystore { path, password_env } => {
                if !path.is_file() {
                    return Err(PublishError::Key {
                        detail: format!("keystore {} does not exist", path.display()),
                    });
                }
                let password = std::env::var(password_env).map_err(|_| PublishError::Key {
                    detail: format!("environment variable {password_env} (the keystore password) is not set"),
                })?;
                PrivateKeySigner::decrypt_keystore(path, password).map_err(|e| PublishError::Key {
                    detail: format!("cannot decrypt keystore {}: {}", path.display(), redact(&e.to_string())),
                })
            }
        }
    }
}

/// Keeps error texts short: at most 120 characters (never cut inside a character).
fn redact(s: &str) -> String {
    if s.chars().count() > 120 {
        format!("{}…", s.chars().take(120).collect::<String>())
    } else {
        s.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::redact;

    #[test]
    fn long_texts_are_cut_at_character_boundaries() {
        let s = "é".repeat(200); // two bytes a character
        let r = redact(&s);
        assert_eq!(r.chars().count(), 121);
        assert!(r.ends_with('…'));
        assert_eq!(redact("short"), "short");
        // byte 120 falls inside the two bytes of ü: slicing by bytes there panicked
        let mixed = format!("{}ü{}", "a".repeat(119), "b".repeat(10));
        assert_eq!(redact(&mixed), format!("{}ü…", "a".repeat(119)));
    }
}
