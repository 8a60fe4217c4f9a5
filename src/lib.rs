//! gonogo: a Discord bot that runs software releases from chat.

pub mod api;
pub mod app;
pub mod charts;
pub mod checkpointer;
pub mod ci;
pub mod clock;
pub mod config;
pub mod dashboard;
pub mod discord;
pub mod domain;
pub mod executor;
pub mod housekeeping;
pub mod http;
pub mod messages;
pub mod metrics;
pub mod prometheus;
pub mod scheduler;
pub mod service;
pub mod signatures;
pub mod store;
pub mod tokens;
