//! Test support: a fake Discord (REST + gateway), a signed-interaction sender, and fixtures.

pub mod browser;
pub mod database;
pub mod fake_discord;
pub mod fixtures;
pub mod gateway;
mod interactions;
pub mod limits;
pub mod messages;
pub mod multipart;
pub mod oauth;
pub mod openapi;
pub mod pipeline;
pub mod process;
pub mod prometheus;
mod rest;
mod routes;
pub mod signer;
pub mod tester;
pub mod wait;

#[allow(unused_imports, reason = "convenience re-exports for scenarios")]
pub use fake_discord::{FakeDiscord, Fault, FaultKind, Recorded, APP_ID, GUILD_ID};
