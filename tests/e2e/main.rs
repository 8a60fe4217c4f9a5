//! End-to-end tests: the real bot against a fake Discord on loopback.

#[path = "../support/mod.rs"]
mod support;

mod api;
mod architecture;
mod audit;
mod binary;
mod checklist;
mod concurrency;
mod crash;
mod dashboard;
mod delivery;
mod deployments;
mod doors;
mod environments;
mod fake_discord_selftest;
mod gates;
mod moving;
mod overrides;
mod packaging;
mod pipeline_cli;
mod polls;
mod replicas;
mod reports;
mod restart;
mod retro;
mod stats;
mod trust;
mod webhook;
