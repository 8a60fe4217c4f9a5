//! Discord's per-route rate limit buckets, as its `X-RateLimit-*` headers describe them, so
//! that nothing is sent into a bucket that is known to be empty.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};

use crate::clock::Clock;

/// The longest any answer may make gonogo wait: a wait beyond it (or a negative or unreadable
/// one) from a confused proxy must not stall delivery for days or crash the bot.
pub const MAX_WAIT: Duration = Duration::from_secs(3600);

/// A wait Discord asked for, in seconds, clamped to `[0, MAX_WAIT]`; a second when unreadable.
pub fn clamped_wait(secs: f64) -> Duration {
    if secs.is_nan() {
        return Duration::from_secs(1);
    }
    Duration::try_from_secs_f64(secs.clamp(0.0, MAX_WAIT.as_secs_f64())).unwrap_or(MAX_WAIT)
}

/// What one answer said about its bucket.
#[derive(Clone, Debug, PartialEq)]
pub struct Reading {
    pub bucket: String,
    pub remaining: u32,
    pub reset_after_secs: f64,
}

/// The buckets seen so far, timed on the service's clock.
#[derive(Clone)]
pub struct Buckets {
    clock: Arc<dyn Clock>,
    state: Arc<Mutex<State>>,
}

#[derive(Default)]
struct State {
    /// Route (method, path with its major parameter) → the bucket Discord put it in.
    routes: HashMap<String, String>,
    /// Bucket → requests left, and when it refills.
    buckets: HashMap<String, (u32, DateTime<Utc>)>,
}

impl Buckets {
    pub fn new(clock: Arc<dyn Clock>) -> Buckets {
        Buckets {
            clock,
            state: Arc::default(),
        }
    }

    /// How long to wait before `route` may be sent, if its bucket is empty now.
    pub fn wait_for(&self, route: &str) -> Option<Duration> {
        let now = self.clock.now();
        let state = self.state.lock().ok()?;
        let bucket = state.routes.get(route)?;
        let (remaining, resets_at) = state.buckets.get(bucket)?;
        if *remaining > 0 || *resets_at <= now {
            return None;
        }
        (*resets_at - now).to_std().ok()
    }

    /// Records what an answer to `route` said of its bucket.
    pub fn record(&self, route: &str, reading: Reading) {
        let now = self.clock.now();
        let wait = TimeDelta::from_std(clamped_wait(reading.reset_after_secs))
            .unwrap_or(TimeDelta::hours(1));
        let Ok(mut state) = self.state.lock() else {
            return;
        };
        let resets_at = now.checked_add_signed(wait).unwrap_or(now);
        state.buckets.retain(|_, (_, at)| *at > now);
        state
            .buckets
            .insert(reading.bucket.clone(), (reading.remaining, resets_at));
        state.routes.insert(route.to_owned(), reading.bucket);
    }
}

/// The route a request belongs to for rate limits: its method and path, with every id but the
/// major parameter (the channel) replaced, as Discord groups them.
pub fn route(method: &str, path: &str) -> String {
    let mut out = String::from(method);
    let mut after_channels = false;
    for segment in path.split('/').filter(|s| !s.is_empty()) {
        out.push('/');
        let is_id = segment.bytes().all(|b| b.is_ascii_digit());
        if is_id && !after_channels {
            out.push_str(":id");
        } else {
            out.push_str(segment);
        }
        after_channels = segment == "channels";
    }
    out
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone as _;

    use super::*;
    use crate::clock::ManualClock;

    #[test]
    fn a_wait_is_clamped_to_an_hour_and_never_negative() {
        assert_eq!(clamped_wait(1.5), Duration::from_millis(1500));
        assert_eq!(clamped_wait(-3.0), Duration::ZERO);
        assert_eq!(clamped_wait(1e300), MAX_WAIT);
        assert_eq!(clamped_wait(f64::INFINITY), MAX_WAIT);
        assert_eq!(clamped_wait(f64::NEG_INFINITY), Duration::ZERO);
        assert_eq!(clamped_wait(f64::NAN), Duration::from_secs(1));
    }

    #[test]
    fn routes_keep_the_channel_and_drop_other_ids() {
        assert_eq!(
            route("POST", "/channels/12/messages"),
            "POST/channels/12/messages"
        );
        assert_eq!(
            route("PATCH", "/channels/12/messages/34"),
            "PATCH/channels/12/messages/:id"
        );
        assert_eq!(
            route("POST", "/channels/12/messages/34/threads"),
            "POST/channels/12/messages/:id/threads"
        );
    }

    #[test]
    fn an_empty_bucket_holds_its_routes_until_it_refills() {
        let clock = ManualClock::new(Utc.with_ymd_and_hms(2026, 3, 2, 10, 0, 0).unwrap());
        let buckets = Buckets::new(Arc::new(clock.clone()));
        let post = route("POST", "/channels/12/messages");
        assert_eq!(buckets.wait_for(&post), None);
        let reading = |remaining| Reading {
            bucket: "b1".into(),
            remaining,
            reset_after_secs: 2.5,
        };
        buckets.record(&post, reading(1));
        assert_eq!(buckets.wait_for(&post), None);
        buckets.record(&post, reading(0));
        assert_eq!(buckets.wait_for(&post), Some(Duration::from_millis(2500)));
        clock.advance(TimeDelta::seconds(2));
        assert_eq!(buckets.wait_for(&post), Some(Duration::from_millis(500)));
        clock.advance(TimeDelta::seconds(1));
        assert_eq!(buckets.wait_for(&post), None);
        assert_eq!(
            buckets.wait_for(&route("POST", "/channels/13/messages")),
            None
        );
    }
}
