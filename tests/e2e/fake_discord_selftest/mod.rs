//! Self-tests of the fake Discord in `tests/support/` (run with `cargo test --test e2e fake`).

mod fixtures;
mod gateway;
mod oauth;
mod openapi;
mod rest;
mod signer;

use serenity::http::{Http, HttpBuilder};

use crate::support::fake_discord::{FakeDiscord, APP_ID};

/// A serenity `Http` pointed at the fake, as the bot builds it.
pub fn http(fake: &FakeDiscord) -> Http {
    HttpBuilder::new("Bot-token")
        .proxy(fake.base_url())
        .ratelimiter_disabled(true)
        .application_id(APP_ID.into())
        .build()
}
