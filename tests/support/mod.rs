//! Test support: a fake Discord (REST + gateway), a signed-interaction sender, and fixtures.
#![allow(
    dead_code,
    reason = "shared by many scenarios; not every one uses every helper"
)]

pub mod fake_discord;
pub mod fixtures;
pub mod gateway;
mod interactions;
pub mod limits;
pub mod load;
pub mod messages;
pub mod openapi;
pub mod process;
pub mod prometheus;
mod rest;
mod routes;
pub mod signer;
pub mod tester;

#[allow(unused_imports, reason = "convenience re-exports for scenarios")]
pub use fake_discord::{FakeDiscord, Fault, FaultKind, Recorded, APP_ID, GUILD_ID};
