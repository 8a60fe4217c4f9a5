//! Typed identifiers, so a user id can never be passed where a release id belongs.

use std::fmt;

use serde::{Deserialize, Serialize};

/// A Discord user, by snowflake. Written to JSON as a string, as Discord writes snowflakes:
/// they exceed the 2^53 that JavaScript and jq read exactly. Read from either form, as rows
/// written before that were numbers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct UserId(pub u64);

impl Serialize for UserId {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for UserId {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<UserId, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Snowflake {
            Text(String),
            Number(u64),
        }
        match Snowflake::deserialize(deserializer)? {
            Snowflake::Number(id) => Ok(UserId(id)),
            Snowflake::Text(text) => text.parse().map(UserId).map_err(serde::de::Error::custom),
        }
    }
}

/// A Discord role, by snowflake.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct RoleId(pub u64);

/// A release, by its row id in the store.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct ReleaseId(pub i64);

impl fmt::Display for UserId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl fmt::Display for RoleId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl fmt::Display for ReleaseId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_ids_are_written_as_strings_and_read_from_either_form() {
        let id = UserId(1_600_000_000_000_000_001);
        assert_eq!(
            serde_json::to_string(&id).unwrap(),
            "\"1600000000000000001\""
        );
        let text: UserId = serde_json::from_str("\"1600000000000000001\"").unwrap();
        let number: UserId = serde_json::from_str("1600000000000000001").unwrap();
        assert_eq!((text, number), (id, id));
        assert!(serde_json::from_str::<UserId>("\"Avery\"").is_err());
    }

    #[test]
    fn ids_show_as_their_plain_numbers() {
        assert_eq!(
            UserId(1_600_000_000_000_000_001).to_string(),
            "1600000000000000001"
        );
        assert_eq!(RoleId(42).to_string(), "42");
        assert_eq!(ReleaseId(7).to_string(), "7");
    }
}
