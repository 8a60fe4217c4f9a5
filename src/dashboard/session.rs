//! Signed cookies and the sessions behind them. A session lives on the server, so signing out
//! ends it for good: a copy of its cookie signs no one in.

use std::collections::HashMap;
use std::sync::Mutex;

use chrono::{DateTime, TimeDelta, Utc};
use hmac::{Hmac, Mac as _};
use sha2::Sha256;

use crate::domain::{Role, UserId};

/// The session cookie's name.
pub const SESSION_COOKIE: &str = "gonogo_session";
/// The cookie that binds a sign-in's `state` to the browser that started it.
pub const SIGNIN_COOKIE: &str = "gonogo_signin";
/// How long a sign-in may take between leaving for Discord and coming back.
pub const SIGNIN_TTL: TimeDelta = TimeDelta::minutes(10);
/// Sessions held at once; past this the oldest are dropped first.
const MAX_SESSIONS: usize = 10_000;

/// A signed-in member.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Session {
    pub user: UserId,
    pub name: String,
    pub roles: Vec<Role>,
    pub expires: DateTime<Utc>,
}

/// The live sessions, and the key their cookies are signed with. The key is new at every
/// start, as the sessions are: a restart signs everyone out.
pub struct Sessions {
    key: [u8; 32],
    live: Mutex<HashMap<String, Session>>,
}

impl Default for Sessions {
    fn default() -> Sessions {
        Sessions {
            key: rand::random(),
            live: Mutex::default(),
        }
    }
}

impl Sessions {
    /// Starts a session and returns its cookie value.
    pub fn start(&self, session: Session, now: DateTime<Utc>) -> String {
        let id = hex::encode(rand::random::<[u8; 32]>());
        let mut live = self.lock();
        if live.len() >= MAX_SESSIONS {
            live.retain(|_, s| s.expires > now);
        }
        if live.len() >= MAX_SESSIONS {
            if let Some(oldest) = live
                .iter()
                .min_by_key(|(_, s)| s.expires)
                .map(|(id, _)| id.clone())
            {
                live.remove(&oldest);
            }
        }
        live.insert(id.clone(), session);
        self.sign(&id)
    }

    /// The session a cookie value names, if it is signed by us, live and not expired.
    pub fn get(&self, cookie: &str, now: DateTime<Utc>) -> Option<Session> {
        let id = self.verify(cookie)?;
        let mut live = self.lock();
        match live.get(id) {
            Some(session) if session.expires > now => Some(session.clone()),
            Some(_) => {
                live.remove(id);
                None
            }
            None => None,
        }
    }

    /// Ends the session a cookie value names; a forged or unknown one ends nothing.
    pub fn end(&self, cookie: &str) {
        if let Some(id) = self.verify(cookie) {
            self.lock().remove(id);
        }
    }

    /// `value.signature`, so that a changed value is told apart from ours.
    pub fn sign(&self, value: &str) -> String {
        format!(
            "{value}.{}",
            hex::encode(self.mac(value).finalize().into_bytes())
        )
    }

    /// The value of a signed `value.signature`, when the signature is ours.
    pub fn verify<'a>(&self, signed: &'a str) -> Option<&'a str> {
        let (value, signature) = signed.rsplit_once('.')?;
        let signature = hex::decode(signature).ok()?;
        // Compared in constant time: a forger learns nothing from how long a refusal takes.
        self.mac(value).verify_slice(&signature).ok()?;
        Some(value)
    }

    fn mac(&self, value: &str) -> Hmac<Sha256> {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.key).expect("HMAC takes any key");
        mac.update(value.as_bytes());
        mac
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Session>> {
        self.live
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// A sign-in's `state` and when it stops being accepted, as its cookie carries them.
pub fn signin_value(state: &str, expires: DateTime<Utc>) -> String {
    format!("{state}:{}", expires.timestamp())
}

/// The `state` of a signed sign-in cookie's value, while it is not expired.
pub fn signin_state(value: &str, now: DateTime<Utc>) -> Option<&str> {
    let (state, expires) = value.split_once(':')?;
    let expires: i64 = expires.parse().ok()?;
    (now.timestamp() < expires).then_some(state)
}

/// The value of the cookie `name` in a `Cookie` header.
pub fn cookie<'a>(header: &'a str, name: &str) -> Option<&'a str> {
    header.split(';').find_map(|pair| {
        let (key, value) = pair.trim().split_once('=')?;
        (key == name).then_some(value)
    })
}

/// A `Set-Cookie` value: HttpOnly and SameSite=Lax always, Secure over https, and gone at
/// once when `max_age` is zero.
pub fn set_cookie(name: &str, value: &str, path: &str, max_age: TimeDelta, secure: bool) -> String {
    let secure = if secure { "; Secure" } else { "" };
    format!(
        "{name}={value}; Path={path}; Max-Age={}; HttpOnly; SameSite=Lax{secure}",
        max_age.num_seconds().max(0)
    )
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone as _;

    use super::*;

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 3, 2, 10, 0, 0).unwrap()
    }

    fn member() -> Session {
        Session {
            user: UserId(7),
            name: "lead".into(),
            roles: vec![Role::Lead],
            expires: now() + TimeDelta::hours(12),
        }
    }

    #[test]
    fn a_session_lasts_until_it_expires() {
        let sessions = Sessions::default();
        let cookie = sessions.start(member(), now());
        assert_eq!(sessions.get(&cookie, now()), Some(member()));
        let later = now() + TimeDelta::hours(12);
        assert_eq!(sessions.get(&cookie, later), None);
        assert_eq!(
            sessions.get(&cookie, now()),
            None,
            "an expired session is gone"
        );
    }

    #[test]
    fn a_changed_cookie_signs_no_one_in() {
        let sessions = Sessions::default();
        let cookie = sessions.start(member(), now());
        let mut forged = cookie.clone().into_bytes();
        forged[3] = if forged[3] == b'a' { b'b' } else { b'a' };
        let forged = String::from_utf8(forged).unwrap();
        assert_eq!(sessions.get(&forged, now()), None);
        assert_eq!(sessions.get("nonsense", now()), None);
        assert_eq!(sessions.get("abc.", now()), None);
        let other = Sessions::default();
        assert_eq!(other.get(&cookie, now()), None, "another key signed it");
    }

    fn held(sessions: &Sessions) -> usize {
        sessions.lock().len()
    }

    #[test]
    fn a_full_store_makes_room_from_the_ended_sessions_first_then_the_oldest() {
        let sessions = Sessions::default();
        let ending = |hours| Session {
            expires: now() + TimeDelta::hours(hours),
            ..member()
        };
        let half = MAX_SESSIONS / 2;
        let first = sessions.start(ending(1), now());
        for _ in 1..half {
            sessions.start(ending(1), now());
        }
        let lasting: Vec<String> = (0..MAX_SESSIONS - half)
            .map(|i| sessions.start(ending(2 + i64::try_from(i).unwrap()), now()))
            .collect();
        assert_eq!(held(&sessions), MAX_SESSIONS);
        // An hour on, the first half has ended: they make room, and nobody live is dropped.
        let later = now() + TimeDelta::hours(1);
        let newest = sessions.start(ending(20_000), later);
        assert_eq!(held(&sessions), MAX_SESSIONS - half + 1);
        assert_eq!(sessions.get(&first, now()), None);
        assert!(lasting.iter().all(|c| sessions.get(c, later).is_some()));
        // Full of live sessions, the one that would end first makes room.
        for _ in 1..half {
            sessions.start(ending(20_000), later);
        }
        assert_eq!(held(&sessions), MAX_SESSIONS);
        sessions.start(ending(20_000), later);
        assert_eq!(held(&sessions), MAX_SESSIONS);
        assert_eq!(
            sessions.get(&lasting[0], later),
            None,
            "the oldest made room"
        );
        assert!(sessions.get(&lasting[1], later).is_some());
        assert!(sessions.get(&newest, later).is_some());
    }

    #[test]
    fn signing_out_ends_the_session_for_every_copy_of_its_cookie() {
        let sessions = Sessions::default();
        let cookie = sessions.start(member(), now());
        let copy = cookie.clone();
        sessions.end(&cookie);
        assert_eq!(sessions.get(&copy, now()), None);
    }

    #[test]
    fn a_sign_in_state_is_accepted_until_it_expires() {
        let value = signin_value("s1", now() + SIGNIN_TTL);
        assert_eq!(signin_state(&value, now()), Some("s1"));
        assert_eq!(signin_state(&value, now() + SIGNIN_TTL), None);
        assert_eq!(signin_state("s1", now()), None);
    }

    #[test]
    fn cookies_are_read_by_name_and_written_http_only() {
        let header = "a=1; gonogo_session=xyz.00; b=2";
        assert_eq!(cookie(header, SESSION_COOKIE), Some("xyz.00"));
        assert_eq!(cookie(header, "missing"), None);
        let set = set_cookie("n", "v", "/", TimeDelta::hours(1), true);
        assert_eq!(
            set,
            "n=v; Path=/; Max-Age=3600; HttpOnly; SameSite=Lax; Secure"
        );
        assert!(!set_cookie("n", "", "/", TimeDelta::zero(), false).contains("Secure"));
    }
}
