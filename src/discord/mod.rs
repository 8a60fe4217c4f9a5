//! The Discord adapter: the two doors, the one handler behind them, the REST client and the
//! dispatcher that delivers the outbox through it.

pub mod buckets;
pub mod card;
pub mod commands;
pub mod custom_id;
pub mod dispatcher;
pub mod gateway;
pub mod handler;
pub mod replies;
pub mod request;
pub mod rest;
