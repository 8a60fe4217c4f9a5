//! The Discord adapter: the two doors, the one handler behind them, and the REST client.

pub mod card;
pub mod commands;
pub mod custom_id;
pub mod gateway;
pub mod handler;
pub mod replies;
pub mod rest;
