use super::*;

fn gates() -> Gates {
    Gates {
        error_rate_query: Some("errors:ratio".into()),
        latency_p99_query: Some("latency:p99".into()),
        max_error_rate: 0.01,
        max_latency_ratio: 2.0,
        check_every: TimeDelta::minutes(1),
    }
}

fn reading(error_rate: f64, p99_seconds: f64) -> Look {
    Reading::of(Some(error_rate), Some(p99_seconds))
}

#[test]
fn readings_inside_the_thresholds_are_healthy() {
    let look = reading(0.01, 0.2);
    assert_eq!(
        gates().judge(&look, Some(100_000)),
        Verdict::Healthy(Reading {
            error_ppm: Some(10_000),
            p99_us: Some(200_000)
        })
    );
}

#[test]
fn an_error_rate_just_above_the_limit_is_a_breach_that_quotes_reading_limit_and_query() {
    let verdict = gates().judge(&reading(0.010_001, 0.1), Some(100_000));
    assert_eq!(
        verdict,
        Verdict::Breach("error rate 1.00% is above the 1.00% limit (query: errors:ratio)".into())
    );
    let verdict = gates().judge(&reading(0.034, 0.1), Some(100_000));
    assert_eq!(
        verdict,
        Verdict::Breach("error rate 3.40% is above the 1.00% limit (query: errors:ratio)".into())
    );
}

#[test]
fn a_latency_above_the_ratio_times_the_baseline_is_a_breach() {
    assert!(matches!(
        gates().judge(&reading(0.0, 0.2), Some(100_000)),
        Verdict::Healthy(_)
    ));
    assert_eq!(
        gates().judge(&reading(0.0, 0.25), Some(100_000)),
        Verdict::Breach(
            "p99 latency 250 ms is above the 200 ms limit, 2× the baseline 100 ms \
             (query: latency:p99)"
                .into()
        )
    );
}

#[test]
fn without_a_baseline_latency_is_not_judged_yet() {
    assert!(matches!(
        gates().judge(&reading(0.0, 9.0), None),
        Verdict::Healthy(_)
    ));
}

#[test]
fn an_idle_baseline_counts_as_a_millisecond() {
    let g = gates();
    assert_eq!(g.latency_limit_us(Some(0)), Some(2_000));
    assert_eq!(g.latency_limit_us(Some(999)), Some(2_000));
    assert_eq!(g.latency_limit_us(Some(1_500)), Some(3_000));
    assert!(matches!(
        g.judge(&reading(0.0, 0.0025), Some(0)),
        Verdict::Breach(_)
    ));
}

#[test]
fn no_reading_is_never_a_pass() {
    let g = gates();
    assert_eq!(
        g.judge(&Err("connection refused".into()), Some(1)),
        Verdict::Blind("connection refused".into())
    );
    assert_eq!(
        g.judge(&Reading::of(None, Some(0.1)), Some(100_000)),
        Verdict::Blind("the error rate query gave no reading".into())
    );
    assert_eq!(
        g.judge(&Reading::of(Some(0.0), None), Some(100_000)),
        Verdict::Blind("the p99 latency query gave no reading".into())
    );
}

#[test]
fn nan_infinity_and_negative_values_are_not_readings() {
    assert_eq!(
        Reading::of(Some(f64::NAN), Some(0.1)),
        Err("the error rate query answered NaN, which is not a measurement".into())
    );
    assert_eq!(
        Reading::of(Some(0.0), Some(f64::INFINITY)),
        Err("the p99 latency query answered inf, which is not a measurement".into())
    );
    assert!(Reading::of(Some(-0.1), None).is_err());
    assert!(Reading::of(Some(1e12), None).is_err());
    assert_eq!(
        Reading::of(Some(0.0), None),
        Ok(Reading {
            error_ppm: Some(0),
            p99_us: None
        })
    );
}

#[test]
fn a_gate_without_a_query_is_not_judged() {
    let g = Gates {
        latency_p99_query: None,
        ..gates()
    };
    assert!(matches!(
        g.judge(&Reading::of(Some(0.0), None), Some(1)),
        Verdict::Healthy(_)
    ));
}

#[test]
fn figures_read_the_way_people_write_them() {
    assert_eq!(percent(12_500), "1.25%");
    assert_eq!(percent(0), "0.00%");
    assert_eq!(millis(4_500), "4.5 ms");
    assert_eq!(millis(120_400), "120 ms");
    assert_eq!(millis(10_000), "10 ms");
    assert_eq!(millis(9_999), "10.0 ms");
}

#[test]
fn a_gap_counts_as_unwatched_only_past_two_looks() {
    use chrono::TimeZone as _;
    let g = gates();
    let t0 = Utc.with_ymd_and_hms(2026, 3, 2, 10, 0, 0).unwrap();
    let mut watch = Watch::default();
    g.record(&mut watch, Reading::default(), t0);
    assert_eq!(watch.unwatched_secs, None, "a first look has no gap");
    g.record(&mut watch, Reading::default(), t0 + TimeDelta::minutes(2));
    assert_eq!(
        watch.unwatched_secs, None,
        "two missed beats are not yet a gap"
    );
    let late = t0 + TimeDelta::minutes(2) + TimeDelta::seconds(121);
    g.record(&mut watch, Reading::default(), late);
    assert_eq!(watch.unwatched_secs, Some(121));
    assert_eq!(watch.last_at, Some(late));
}
