//! What only the benchmarks need: floods of signed interactions, many releases at once, and
//! the resources the bot used.

pub mod load;
pub mod memory;
pub mod usage;
pub mod wire;
