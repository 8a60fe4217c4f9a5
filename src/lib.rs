//! gonogo: a Discord bot that runs software releases from chat.

pub mod clock;
pub mod domain;
