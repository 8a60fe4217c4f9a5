//! Issuing pipeline tokens: a random secret shown once, and the config line that holds its hash.

use rand::rngs::OsRng;
use rand::RngCore as _;
use sha2::{Digest as _, Sha256};

use crate::config::{token_name, Scope};

/// Every token starts so, which lets secret scanners recognise a leaked one.
const PREFIX: &str = "gng_";
/// 43 characters of a 64-letter alphabet carry 258 random bits.
const SECRET_LEN: usize = 43;
const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/// A new token and the line of `[api].tokens` that admits it.
#[derive(Debug)]
pub struct Issued {
    /// The secret, to hand to the pipeline as `GONOGO_TOKEN`; nothing keeps it.
    pub token: String,
    /// `{ name = …, sha256 = …, scopes = […] }`, to paste into `[api].tokens`.
    pub config_line: String,
}

/// A new random token named `name` with the given scopes (each `read`, `plan`, `check` or
/// `deploy`), or what is wrong with the name or a scope.
pub fn issue(name: &str, scopes: &[String]) -> Result<Issued, String> {
    let name = token_name(name).map_err(str::to_owned)?;
    let mut parsed: Vec<Scope> = Vec::new();
    for scope in scopes {
        let scope = scope.parse()?;
        if !parsed.contains(&scope) {
            parsed.push(scope);
        }
    }
    if parsed.is_empty() {
        return Err("a token needs at least one scope: read, plan, check or deploy".to_owned());
    }
    let token = secret();
    let scopes = parsed
        .iter()
        .map(|scope| format!("\"{}\"", scope.as_str()))
        .collect::<Vec<_>>()
        .join(", ");
    let config_line = format!(
        "{{ name = \"{name}\", sha256 = \"{}\", scopes = [{scopes}] }}",
        sha256_hex(&token)
    );
    Ok(Issued { token, config_line })
}

/// The SHA-256 of a token, as the config holds it.
pub fn sha256(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

/// The SHA-256 of a token in lowercase hex, as `[api].tokens` writes it.
pub fn sha256_hex(token: &str) -> String {
    hex::encode(sha256(token))
}

fn secret() -> String {
    let mut bytes = [0_u8; SECRET_LEN];
    OsRng.fill_bytes(&mut bytes);
    // 256 is a multiple of 64, so the low six bits of a uniform byte are uniform too.
    let chars = bytes
        .iter()
        .map(|byte| char::from(ALPHABET[usize::from(byte & 63)]));
    PREFIX.chars().chain(chars).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all() -> Vec<String> {
        ["read", "plan", "check", "deploy"]
            .map(String::from)
            .to_vec()
    }

    #[test]
    fn a_token_is_the_prefix_and_43_url_safe_characters() {
        let issued = issue("ci", &all()).unwrap();
        let secret = issued.token.strip_prefix("gng_").unwrap();
        assert_eq!(secret.len(), 43);
        assert!(secret
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'));
    }

    #[test]
    fn two_tokens_differ() {
        assert_ne!(
            issue("ci", &all()).unwrap().token,
            issue("ci", &all()).unwrap().token
        );
    }

    #[test]
    fn the_config_line_holds_the_hash_not_the_token() {
        let issued = issue("ci", &all()).unwrap();
        assert_eq!(
            issued.config_line,
            format!(
                "{{ name = \"ci\", sha256 = \"{}\", scopes = [\"read\", \"plan\", \"check\", \"deploy\"] }}",
                sha256_hex(&issued.token)
            )
        );
        assert!(!issued.config_line.contains(&issued.token));
    }

    #[test]
    fn the_config_line_reads_back_as_toml() {
        let issued = issue("deploy-bot_2", &["check".into(), "read".into()]).unwrap();
        let table: toml::Table = toml::from_str(&format!("t = {}", issued.config_line)).unwrap();
        let entry = &table["t"];
        assert_eq!(entry["name"].as_str(), Some("deploy-bot_2"));
        assert_eq!(
            entry["sha256"].as_str().map(str::to_owned),
            Some(sha256_hex(&issued.token))
        );
        let scopes: Vec<_> = entry["scopes"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(toml::Value::as_str)
            .collect();
        assert_eq!(scopes, ["check", "read"]);
    }

    #[test]
    fn a_repeated_scope_is_listed_once() {
        let issued = issue("ci", &["read".into(), "read".into()]).unwrap();
        assert!(issued.config_line.ends_with("scopes = [\"read\"] }"));
    }

    #[test]
    fn the_hash_is_sha256_in_lowercase_hex() {
        assert_eq!(
            sha256_hex("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn a_bad_name_is_refused() {
        for name in ["", "CI", "ci bot", "a".repeat(33).as_str(), "ci.bot"] {
            assert!(issue(name, &all()).is_err(), "{name:?}");
        }
        assert!(issue(&"a".repeat(32), &all()).is_ok());
    }

    #[test]
    fn a_bad_scope_is_named() {
        let error = issue("ci", &["read".into(), "admin".into()]).unwrap_err();
        assert!(error.contains("admin"), "{error}");
    }

    #[test]
    fn no_scope_is_refused() {
        assert!(issue("ci", &[]).is_err());
    }
}
