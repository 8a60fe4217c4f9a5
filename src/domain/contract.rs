//! The rollback contract: the triggers, the rollback procedure and the rollback window in force
//! when a release is approved, kept with it so that a later config change never alters it.

use chrono::TimeDelta;
use serde::{Deserialize, Serialize};

use super::gates::{percent, Gates};
use super::text::excerpt;

/// How much of the rollback procedure the card and the start notice quote.
pub const MAX_PROCEDURE: usize = 200;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Contract {
    /// Roll back above this error rate, in parts per million.
    pub max_error_ppm: i64,
    /// Roll back above this multiple of the baseline p99, in thousandths (2.0 is 2000).
    pub max_latency_permille: i64,
    /// Roll back after more problem reports than this.
    pub max_complaints: u32,
    pub rollback_window_secs: i64,
    /// How a rollback happens, as people read it: the executor's rollback action.
    pub procedure: String,
}

/// The contract as the card and the start notice show it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContractView {
    /// The metric triggers, when Prometheus watches the rollouts.
    pub max_error_rate: Option<String>,
    pub max_latency: Option<String>,
    pub max_complaints: u32,
    pub procedure: String,
    pub rollback_window: String,
}

impl Contract {
    /// The contract of `gates`' thresholds, `max_complaints`, the type's `rollback_window`
    /// and the rollback `procedure`.
    #[expect(
        clippy::cast_possible_truncation,
        reason = "a ratio above 1, far below 2^50"
    )]
    pub fn new(
        gates: &Gates,
        max_complaints: u32,
        rollback_window: TimeDelta,
        procedure: String,
    ) -> Contract {
        Contract {
            max_error_ppm: gates.error_limit_ppm(),
            max_latency_permille: (gates.max_latency_ratio * 1000.0).round() as i64,
            max_complaints,
            rollback_window_secs: rollback_window.num_seconds(),
            procedure,
        }
    }

    pub fn rollback_window(&self) -> TimeDelta {
        TimeDelta::seconds(self.rollback_window_secs)
    }

    /// `gates` with this contract's thresholds: the queries and pace stay the config's.
    #[expect(
        clippy::cast_precision_loss,
        reason = "parts per million and thousandths"
    )]
    pub fn thresholds_of(&self, gates: &Gates) -> Gates {
        Gates {
            max_error_rate: self.max_error_ppm as f64 / 1e6,
            max_latency_ratio: self.max_latency_permille as f64 / 1000.0,
            ..gates.clone()
        }
    }

    /// What people read of it; the metric triggers only when `gates` watch the rollouts.
    #[expect(clippy::cast_precision_loss, reason = "thousandths")]
    pub fn view(&self, gates: Option<&Gates>) -> ContractView {
        let error = gates.and_then(|g| g.error_rate_query.as_ref());
        let latency = gates.and_then(|g| g.latency_p99_query.as_ref());
        ContractView {
            max_error_rate: error.map(|_| percent(self.max_error_ppm)),
            max_latency: latency.map(|_| {
                format!(
                    "{}× the baseline p99",
                    self.max_latency_permille as f64 / 1000.0
                )
            }),
            max_complaints: self.max_complaints,
            procedure: excerpt(&self.procedure, MAX_PROCEDURE),
            rollback_window: short(self.rollback_window()),
        }
    }
}

/// A duration the way the config writes it: `2h`, `1d`, `90m`.
fn short(duration: TimeDelta) -> String {
    let secs = duration.num_seconds();
    for (unit, size) in [("d", 86_400), ("h", 3_600), ("m", 60)] {
        if secs >= size && secs % size == 0 {
            return format!("{}{unit}", secs / size);
        }
    }
    format!("{secs}s")
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// The gates the contract stories are made under.
    pub(crate) fn gates() -> Gates {
        Gates {
            error_rate_query: Some("errors".into()),
            latency_p99_query: None,
            max_error_rate: 0.01,
            max_latency_ratio: 2.5,
            check_every: TimeDelta::minutes(1),
        }
    }

    #[test]
    fn a_contract_keeps_the_thresholds_it_was_made_with() {
        let contract = Contract::new(&gates(), 3, TimeDelta::hours(4), "command ./rb.sh".into());
        assert_eq!(contract.max_error_ppm, 10_000);
        assert_eq!(contract.max_latency_permille, 2_500);
        let looser = Gates {
            max_error_rate: 0.2,
            max_latency_ratio: 9.0,
            ..gates()
        };
        let applied = contract.thresholds_of(&looser);
        assert!((applied.max_error_rate - 0.01).abs() < 1e-12);
        assert!((applied.max_latency_ratio - 2.5).abs() < 1e-12);
        assert_eq!(applied.error_rate_query, looser.error_rate_query);
        assert_eq!(contract.rollback_window(), TimeDelta::hours(4));
    }

    #[test]
    fn the_view_shows_only_the_triggers_that_are_watched() {
        let contract = Contract::new(&gates(), 3, TimeDelta::days(1), "by hand".into());
        let view = contract.view(Some(&gates()));
        assert_eq!(view.max_error_rate.as_deref(), Some("1.00%"));
        assert_eq!(view.max_latency, None, "no latency query");
        assert_eq!(view.rollback_window, "1d");
        let unwatched = contract.view(None);
        assert_eq!(unwatched.max_error_rate, None);
        let both = Gates {
            latency_p99_query: Some("p99".into()),
            ..gates()
        };
        assert_eq!(
            contract.view(Some(&both)).max_latency.as_deref(),
            Some("2.5× the baseline p99")
        );
    }

    #[test]
    fn durations_read_as_the_config_writes_them() {
        assert_eq!(short(TimeDelta::hours(2)), "2h");
        assert_eq!(short(TimeDelta::minutes(90)), "90m");
        assert_eq!(short(TimeDelta::days(3)), "3d");
        assert_eq!(short(TimeDelta::seconds(45)), "45s");
    }
}
