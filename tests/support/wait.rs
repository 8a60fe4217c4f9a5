//! The one way a story waits for something it cannot be woken for (a row the bot writes, a
//! process coming up): look again every few milliseconds until it holds, or fail naming it.

use std::fmt::Debug;
use std::future::Future;
use std::time::{Duration, Instant};

/// How long a story waits before it fails.
pub const PATIENCE: Duration = Duration::from_secs(10);

/// Asks `probe` until it answers `Ok`, for up to `patience`; then fails naming `what` and the
/// last answer it saw.
pub async fn wait_until_within<T, E, F, Fut>(patience: Duration, what: &str, mut probe: F) -> T
where
    E: Debug,
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, E>>,
{
    let deadline = Instant::now() + patience;
    loop {
        let seen = match probe().await {
            Ok(found) => return found,
            Err(seen) => seen,
        };
        assert!(
            Instant::now() < deadline,
            "waited {patience:?} for {what}; last saw {seen:?}"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// [`wait_until_within`] with the stories' [`PATIENCE`].
pub async fn wait_until<T, E, F, Fut>(what: &str, probe: F) -> T
where
    E: Debug,
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, E>>,
{
    wait_until_within(PATIENCE, what, probe).await
}

/// `Ok` when `got` is `expected`, else what was there instead.
pub fn is<T: PartialEq + Debug>(got: T, expected: &T) -> Result<(), T> {
    if got == *expected {
        Ok(())
    } else {
        Err(got)
    }
}
