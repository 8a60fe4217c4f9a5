use chrono::TimeZone;

use super::*;

fn day(n: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 1, 0, 0, 0).unwrap() + TimeDelta::days(n)
}

fn fact(release: i64, kind: &str, at: DateTime<Utc>) -> Fact {
    Fact {
        release,
        kind: kind.into(),
        at,
        restore_secs: None,
        environment: (kind == "planned").then(|| "production".to_owned()),
        commit_time: None,
    }
}

fn dora(facts: &[Fact], days: i64, until: DateTime<Utc>) -> (Dora, usize) {
    super::dora(facts, days, until, "production")
}

/// Release 1 planned before the period and completed in it; 2 rolled back; 3 deployed with an
/// override; 4 completed before the period.
fn history() -> Vec<Fact> {
    let h = TimeDelta::hours;
    vec![
        fact(4, "planned", day(0)),
        fact(4, "deploy_started", day(0) + h(1)),
        fact(4, "completed", day(1)),
        fact(1, "planned", day(5)),
        fact(1, "deploy_started", day(9)),
        fact(1, "completed", day(10)),
        fact(2, "planned", day(11)),
        fact(2, "deploy_started", day(12)),
        fact(2, "rollback_started", day(12) + h(2)),
        Fact {
            restore_secs: Some(600),
            ..fact(2, "rolled_back", day(12) + h(3))
        },
        fact(3, "planned", day(13)),
        fact(3, "override_used", day(14)),
        fact(3, "deploy_started", day(14)),
        fact(3, "completed", day(14) + h(6)),
    ]
}

#[test]
fn the_figures_of_a_period_match_those_worked_out_by_hand() {
    let (dora, rollbacks) = dora(&history(), 7, day(15));
    // Completed in the last 7 days: 1 (5 days from plan) and 3 (1 day 6 hours).
    assert_eq!(dora.deployments, 2);
    // The median of two is their mean: (120h + 30h) / 2.
    assert_eq!(dora.lead_time, Some(TimeDelta::hours(75)));
    // Started in the period: 1, 2 and 3; 2 was rolled back, 3 needed an override.
    assert_eq!((dora.started, dora.failed), (3, 2));
    assert_eq!(dora.restore, Some(TimeDelta::seconds(600)));
    assert_eq!(rollbacks, 1);
    let view = dora.view(rollbacks);
    assert_eq!(view.per_week, "2.0");
    assert_eq!(view.lead_time.as_deref(), Some("3d 3h"));
    assert_eq!(view.failure_rate.as_deref(), Some("67%"));
    assert_eq!(view.restore.as_deref(), Some("10m"));
}

#[test]
fn a_longer_period_takes_in_older_releases() {
    let (dora, _) = dora(&history(), 30, day(15));
    assert_eq!(dora.deployments, 3);
    // Leads of 1 day, 5 days and 1 day 6 hours: the median is 1 day 6 hours.
    assert_eq!(dora.lead_time, Some(TimeDelta::hours(30)));
    assert_eq!((dora.started, dora.failed), (4, 2));
}

#[test]
fn a_quiet_period_has_no_figures_to_divide() {
    let (dora, rollbacks) = dora(&history(), 7, day(60));
    assert_eq!(dora.deployments, 0);
    assert_eq!(dora.lead_time, None);
    assert_eq!(dora.restore, None);
    let view = dora.view(rollbacks);
    assert_eq!(view.failure_rate, None);
    assert_eq!(view.per_week, "0.0");
}

#[test]
fn lead_time_counts_from_the_commit_when_the_release_has_one() {
    let mut facts = history();
    // Release 3 was committed two days before it was planned.
    if let Some(planned) = facts
        .iter_mut()
        .find(|f| f.release == 3 && f.kind == "planned")
    {
        planned.commit_time = Some(day(11));
    }
    let (dora, _) = dora(&facts, 7, day(15));
    // Leads of 5 days from the plan (1) and 3 days 6 hours from the commit (3).
    assert_eq!(dora.lead_time, Some(TimeDelta::hours((120 + 78) / 2)));
    assert_eq!((dora.from_commit, dora.from_plan), (1, 1));
    let view = dora.view(0);
    assert_eq!((view.from_commit, view.from_plan), (1, 1));
}

#[test]
fn each_environment_has_figures_of_its_own() {
    let mut facts = history();
    for fact in facts
        .iter_mut()
        .filter(|f| f.release == 1 && f.kind == "planned")
    {
        fact.environment = Some("staging".into());
    }
    let (production, _) = dora(&facts, 7, day(15));
    assert_eq!((production.deployments, production.started), (1, 2));
    let (staging, _) = super::dora(&facts, 7, day(15), "staging");
    assert_eq!(
        (staging.deployments, staging.started, staging.failed),
        (1, 1, 0)
    );
    assert_eq!(staging.lead_time, Some(TimeDelta::days(5)));
    let (nowhere, _) = super::dora(&facts, 7, day(15), "qa");
    assert_eq!((nowhere.deployments, nowhere.started), (0, 0));
}

#[test]
fn spans_read_to_the_minute() {
    assert_eq!(span(TimeDelta::seconds(42)), "42s");
    assert_eq!(span(TimeDelta::minutes(45)), "45m");
    assert_eq!(span(TimeDelta::minutes(200)), "3h 20m");
    assert_eq!(span(TimeDelta::hours(51)), "2d 3h");
    assert_eq!(span(TimeDelta::seconds(-5)), "0s");
}

#[test]
fn the_median_of_an_odd_count_is_its_middle() {
    let m = median(vec![
        TimeDelta::seconds(9),
        TimeDelta::seconds(1),
        TimeDelta::seconds(5),
    ]);
    assert_eq!(m, Some(TimeDelta::seconds(5)));
}

#[test]
fn a_period_takes_its_last_instant_and_not_its_first() {
    // Release 4 completed at day(1): a 7-day period ending at day(8) starts exactly then.
    let (ending_then, _) = dora(&history(), 7, day(8));
    assert_eq!(
        ending_then.deployments, 0,
        "its first instant is the period before's"
    );
    let (ending_at_completion, _) = dora(&history(), 7, day(1));
    assert_eq!(
        ending_at_completion.deployments, 1,
        "its last instant is its own"
    );
}

#[test]
fn a_trend_gives_each_week_its_own_figures_oldest_first() {
    let weeks = trend(&history(), 14, day(15), "production").weeks;
    let ends: Vec<DateTime<Utc>> = weeks.iter().map(|w| w.ends).collect();
    assert_eq!(ends, vec![day(8), day(15)]);
    // Week to day 8: nothing completed or started (4 completed on day 1, before it).
    assert_eq!(weeks[0].deployments, 0);
    assert_eq!(weeks[0].failure_rate, None);
    assert_eq!(weeks[0].lead_time, None);
    // Week to day 15: 1 and 3 completed; 1, 2 and 3 started, 2 and 3 failed; 2 restored in 10m.
    assert_eq!(weeks[1].deployments, 2);
    assert_eq!(weeks[1].lead_time, Some(TimeDelta::hours(75)));
    assert_eq!(weeks[1].failure_rate, Some(2.0 / 3.0));
    assert_eq!(weeks[1].restore, Some(TimeDelta::seconds(600)));
}

#[test]
fn a_partial_week_rounds_the_trend_up_to_a_whole_one() {
    assert_eq!(trend(&history(), 8, day(15), "production").weeks.len(), 2);
    assert_eq!(trend(&history(), 7, day(15), "production").weeks.len(), 1);
    assert!(trend(&history(), 14, day(15), "staging")
        .weeks
        .iter()
        .all(|week| week.deployments == 0));
}

#[test]
fn each_week_of_a_trend_is_what_the_figures_of_its_seven_days_are() {
    let h = TimeDelta::hours;
    let mut facts = history();
    // Events on the very edges of weeks, which belong to the week they end.
    facts.extend([
        fact(5, "planned", day(1)),
        fact(5, "deploy_started", day(8)),
        fact(5, "completed", day(15)),
        fact(6, "planned", day(2) + h(3)),
        fact(6, "deploy_started", day(2) + h(4)),
        fact(6, "rollback_started", day(8) + TimeDelta::milliseconds(1)),
        Fact {
            restore_secs: Some(42),
            ..fact(6, "rolled_back", day(8) + TimeDelta::milliseconds(1))
        },
    ]);
    for until in [day(15), day(16) + h(5), day(22)] {
        let weeks = trend(&facts, 21, until, "production").weeks;
        assert_eq!(weeks.len(), 3);
        for week in &weeks {
            let (seven, _) = dora(&facts, 7, week.ends);
            assert_eq!(week.deployments, seven.deployments, "week to {}", week.ends);
            assert_eq!(week.lead_time, seven.lead_time, "week to {}", week.ends);
            assert_eq!(week.restore, seven.restore, "week to {}", week.ends);
            #[expect(clippy::cast_precision_loss, reason = "a handful of rollouts")]
            let rate = (seven.started > 0).then(|| seven.failed as f64 / seven.started as f64);
            assert_eq!(week.failure_rate, rate, "week to {}", week.ends);
        }
    }
}
