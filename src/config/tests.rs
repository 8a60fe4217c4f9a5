//! Unit tests of config loading, all from strings and a fake environment.

use chrono::TimeDelta;

use super::*;
use crate::domain::checklist::Item;
use crate::domain::{Policy, ReleaseKind, Role, Slot};

const TOKEN: &str = "MTIzNDU2Nzg5MDEyMzQ1Njc4.Gabcde.sekrit-token-value-0123456789";
const KEY: &str = "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a";

/// The smallest config that loads: the required keys and the roles the default policies use.
pub(crate) fn minimal() -> String {
    format!(
        r#"
[discord]
application_id = "123456789012345678"
public_key = "{KEY}"
guild_id = "234567890123456780"

[channels]
releases = "345678901234567890"

[roles]
lead = "500000000000000001"
security = "500000000000000002"
team = "500000000000000003"
exec = "500000000000000004"
"#
    )
}

fn with_token(toml: &str) -> Result<Config, ConfigErrors> {
    load_from_str(toml, &[("GONOGO_DISCORD__TOKEN", TOKEN)])
}

fn rejected(result: Result<Config, ConfigErrors>) -> ConfigErrors {
    match result {
        Ok(config) => panic!("expected errors, got {config:?}"),
        Err(errors) => errors,
    }
}

/// The problem reported at `key`, failing with every problem when there is none.
fn problem_at<'a>(errors: &'a ConfigErrors, key: &str) -> &'a str {
    match errors.0.iter().find(|error| error.key == key) {
        Some(error) => &error.problem,
        None => panic!("no problem at {key}; got:\n{errors}"),
    }
}

#[test]
fn defaults_fill_in() {
    let config = with_token(&minimal()).unwrap();
    assert_eq!(config.discord.token.expose(), TOKEN);
    assert_eq!(config.discord.application_id, 123_456_789_012_345_678);
    assert_eq!(config.discord.guild_id, 234_567_890_123_456_780);
    assert_eq!(
        config.policies.planners,
        [Role::Team, Role::Lead, Role::ReleaseManager, Role::Deployer]
    );
    assert!(config.discord.gateway);
    assert_eq!(config.discord.api_base, "https://discord.com");
    assert_eq!(config.http.listen.to_string(), "127.0.0.1:8080");
    assert_eq!(config.database.url, "sqlite://gonogo.db");
    assert!(config.channels.stakeholders.is_empty());
    assert_eq!(config.policies, Policies::default());
    let stages: Vec<(&str, u8, TimeDelta)> = config
        .rollout
        .stages
        .iter()
        .map(|s| (s.name.as_str(), s.percent, s.hold))
        .collect();
    assert_eq!(
        stages,
        [
            ("canary", 1, TimeDelta::minutes(30)),
            ("10%", 10, TimeDelta::hours(2)),
            ("50%", 50, TimeDelta::hours(4)),
            ("100%", 100, TimeDelta::zero()),
        ]
    );
    assert_eq!(config.rollout.progress_every, TimeDelta::minutes(15));
    assert_eq!(config.rollout.verify_for, TimeDelta::hours(24));
    assert_eq!(config.rollout.vote_ttl, TimeDelta::hours(24));
    assert!(
        config.windows.allow.is_empty(),
        "no window limits a deployment"
    );
    assert!(config.windows.blackout.is_empty());
    assert_eq!(config.windows.timezone, chrono_tz::Tz::UTC);
    assert!(config.executor.is_none());
    assert!(config.gates.prometheus_url.is_none());
    assert!((config.gates.metrics.max_error_rate - 0.01).abs() < f64::EPSILON);
    assert!((config.gates.metrics.max_latency_ratio - 2.0).abs() < f64::EPSILON);
    assert_eq!(config.gates.max_complaints, 3);
    assert_eq!(config.gates.metrics.check_every, TimeDelta::minutes(1));
    assert!(config.messages.dir.is_none());
    assert!(config.gates.metric_gates().is_none());
}

#[test]
fn metric_gates_need_a_query_to_watch() {
    let lonely = minimal() + "\n[gates]\nprometheus_url = \"http://127.0.0.1:9090\"\n";
    let errors = rejected(with_token(&lonely));
    assert!(
        errors.to_string().contains("gates.prometheus_url"),
        "{errors}"
    );
    let watched = minimal()
        + "\n[gates]\nprometheus_url = \"http://127.0.0.1:9090\"\nerror_rate_query = \"errors\"\n";
    let config = with_token(&watched).unwrap();
    let gates = config.gates.metric_gates().expect("gates on");
    assert_eq!(gates.error_rate_query.as_deref(), Some("errors"));
    assert_eq!(gates.latency_p99_query, None);
}

#[test]
fn the_example_file_loads_with_only_a_token() {
    let config = with_token(include_str!("../../gonogo.example.toml")).unwrap();
    assert_eq!(config.discord.guild_id, 234_567_890_123_456_789);
    assert_eq!(config.channels.stakeholders, [456_789_012_345_678_901]);
    // The example is the defaults, plus the guide's checklist sections for three types.
    let mut policies = config.policies.clone();
    assert_eq!(policies.major.checklist.len(), 3);
    assert_eq!(
        config
            .checklist
            .iter()
            .map(|s| s.items.len())
            .sum::<usize>(),
        16
    );
    policies.hotfix.checklist.clear();
    policies.minor.checklist.clear();
    policies.major.checklist.clear();
    assert_eq!(policies, Policies::default());
    assert!(matches!(
        config.executor,
        Some(ExecutorConfig::Command { .. })
    ));
    assert_eq!(
        config.roles.stakeholder_ping,
        Some(RoleId(998_877_665_544_332_211))
    );
    let (report, ok) = check_report(&Ok(config));
    assert!(ok);
    assert!(report.ends_with("config OK"), "{report}");
    assert!(
        report.contains("serving guild 234567890123456789 only"),
        "{report}"
    );
    assert!(
        report.contains("planners: team, lead, release_manager, deployer"),
        "{report}"
    );
    assert!(
        report.contains("policy hotfix: default, 1 lead + 1 security approve, rollback window 2h; checklist Code & Testing"),
        "{report}"
    );
    assert!(report.contains("executor: command"), "{report}");
}

#[test]
fn the_environment_overrides_keys_whether_ids_look_like_strings_or_integers() {
    let env = [
        ("GONOGO_DISCORD__TOKEN", TOKEN),
        ("GONOGO_DISCORD__GUILD_ID", "123456789012345678"),
        ("GONOGO_DISCORD__GATEWAY", "false"),
        ("GONOGO_CHANNELS__RELEASES", "\"222222222222222222\""),
        (
            "GONOGO_CHANNELS__STAKEHOLDERS",
            "[333333333333333333, \"444444444444444444\"]",
        ),
        ("GONOGO_DATABASE__URL", "sqlite:///var/lib/gonogo/gonogo.db"),
        ("GONOGO_POLICY__PATCH__ROLLBACK_WINDOW", "6h"),
        (
            "GONOGO_POLICY__PATCH__APPROVERS",
            "[{role=\"lead\", count=2}]",
        ),
        ("GONOGO_CONFIG", "/etc/gonogo.toml"),
        ("GONOGO_LOG_FORMAT", "json"),
        ("HOME", "/root"),
    ];
    let config = load_from_str(&minimal(), &env).unwrap();
    assert_eq!(config.discord.guild_id, 123_456_789_012_345_678);
    assert!(!config.discord.gateway);
    assert_eq!(config.channels.releases, 222_222_222_222_222_222);
    assert_eq!(
        config.channels.stakeholders,
        [333_333_333_333_333_333, 444_444_444_444_444_444]
    );
    assert_eq!(config.database.url, "sqlite:///var/lib/gonogo/gonogo.db");
    assert_eq!(
        *config.policies.get(ReleaseKind::Patch),
        Policy {
            approvers: vec![Slot {
                role: Role::Lead,
                count: 2
            }],
            rollback_window: TimeDelta::hours(6),
            checklist: Vec::new(),
        }
    );
    let (report, _) = check_report(&Ok(config));
    assert!(report.contains("policy patch: custom"), "{report}");
}

#[test]
fn a_token_of_digits_stays_a_string() {
    let config = load_from_str(&minimal(), &[("GONOGO_DISCORD__TOKEN", "0012345")]).unwrap();
    assert_eq!(config.discord.token.expose(), "0012345");
}

#[test]
fn unknown_keys_are_named_with_the_valid_ones() {
    let toml = format!(
        "{}\n[http]\nlisten = \"0.0.0.0:80\"\nport = 80\n",
        minimal()
    );
    let errors = rejected(load_from_str(
        &toml,
        &[
            ("GONOGO_DISCORD__TOKEN", TOKEN),
            ("GONOGO_DISCORD__TOKNE", "x"),
            ("GONOGO_DISCORD_TOKEN", "y"),
        ],
    ));
    assert!(problem_at(&errors, "http.port").contains("valid keys in http are: listen"));
    let from_env = problem_at(&errors, "discord.tokne");
    assert!(from_env.contains("GONOGO_DISCORD__TOKNE"), "{from_env}");
    assert!(from_env.contains("token, application_id"), "{from_env}");
    let unknown_section = rejected(with_token(&format!("{}\n[slack]\nx = 1\n", minimal())));
    assert!(problem_at(&unknown_section, "slack").contains("discord, http"));
}

#[test]
fn the_valid_keys_are_the_ones_their_reader_asks_for_in_every_table() {
    let toml = format!(
        "{}\n[rollout]\nstages = [{{ percent = 100, pct = 5 }}]\n\n[executor]\nkind = \"lambda\"\ndeploy = [\"./d.sh\"]\n",
        minimal()
    );
    let errors = rejected(with_token(&toml));
    let stage = problem_at(&errors, "rollout.stages[0].pct");
    assert!(
        stage.contains("the valid keys in rollout.stages[0] are: percent, name, hold"),
        "{stage}"
    );
    // An unknown kind is the one problem: its keys are not then unknown too.
    assert!(problem_at(&errors, "executor.kind").contains("not an executor kind"));
    assert!(
        errors.0.iter().all(|e| e.key != "executor.deploy"),
        "{errors}"
    );
}

#[test]
fn a_single_underscore_override_is_pointed_out_even_for_a_section_the_file_lacks() {
    let errors = rejected(load_from_str(
        &minimal(),
        &[
            ("GONOGO_DISCORD__TOKEN", TOKEN),
            ("GONOGO_EXECUTOR_KIND", "command"),
            ("GONOGO_LOG_FORMAT", "json"),
        ],
    ));
    assert!(problem_at(&errors, "GONOGO_EXECUTOR_KIND").contains("GONOGO_EXECUTOR__KIND"));
    assert_eq!(
        errors.0.len(),
        1,
        "GONOGO_LOG_FORMAT is no near miss: {errors}"
    );
}

#[test]
fn a_single_underscore_override_is_pointed_out() {
    let errors = rejected(load_from_str(
        &minimal(),
        &[("GONOGO_DISCORD_TOKEN", TOKEN)],
    ));
    assert!(problem_at(&errors, "GONOGO_DISCORD_TOKEN").contains("GONOGO_DISCORD__TOKEN"));
    assert!(!errors.to_string().contains(TOKEN));
}

#[test]
fn a_bad_cron_names_its_index() {
    let toml = format!(
        "{}\n[windows]\nallow = [{{ cron = \"0 9-17 * * Mon-Fri\", duration = \"8h\" }}, {{ cron = \"0 0 9 * * Mon\", duration = \"1h\" }}, {{ cron = \"not cron\", duration = \"1h\" }}]\n",
        minimal()
    );
    let errors = rejected(with_token(&toml));
    let five_fields = problem_at(&errors, "windows.allow[0].cron");
    assert!(five_fields.contains("Invalid expression"), "{five_fields}");
    assert!(
        five_fields.contains("\"0 0 9-17 * * Mon-Fri\""),
        "{five_fields}"
    );
    assert!(problem_at(&errors, "windows.allow[2].cron").contains("`not cron`"));
    assert_eq!(errors.0.len(), 2, "{errors}");
}

#[test]
fn a_bare_cron_window_is_refused_with_the_form_that_says_how_long_it_lasts() {
    let toml = format!(
        "{}\n[windows]\nallow = [\"0 0 9 * * Mon-Thu\"]\nblackout = [{{ cron = \"0 0 0 20 Dec *\" }}]\n",
        minimal()
    );
    let errors = rejected(with_token(&toml));
    let bare = problem_at(&errors, "windows.allow[0]");
    assert!(
        bare.contains("{ cron = \"0 0 9 * * Mon-Thu\", duration = \"8h\" }"),
        "{bare}"
    );
    assert!(problem_at(&errors, "windows.blackout[0].duration").contains("missing"));
    assert_eq!(errors.0.len(), 2, "{errors}");
}

#[test]
fn windows_are_read_in_the_configured_timezone() {
    let toml = format!(
        "{}\n[windows]\ntimezone = \"Europe/Berlin\"\nallow = [{{ cron = \"0 0 9 * * Mon-Thu\", duration = \"8h\" }}]\nblackout = [{{ cron = \"0 0 0 20 Dec *\", duration = \"13d\" }}]\n",
        minimal()
    );
    let config = with_token(&toml).unwrap();
    assert_eq!(config.windows.timezone, chrono_tz::Tz::Europe__Berlin);
    assert_eq!(config.windows.allow[0].duration, TimeDelta::hours(8));
    assert_eq!(config.windows.blackout[0].duration, TimeDelta::days(13));

    let toml = format!("{}\n[windows]\ntimezone = \"Mars/Olympus\"\n", minimal());
    let errors = rejected(with_token(&toml));
    assert!(problem_at(&errors, "windows.timezone").contains("IANA"));
}

#[test]
fn an_unmapped_policy_role_names_the_policy_key() {
    let toml = format!(
        "{}\n[policy.hotfix]\napprovers = [{{ role = \"lead\" }}, {{ role = \"release_manager\" }}]\nrollback_window = \"2h\"\n",
        minimal()
    );
    let errors = rejected(with_token(&toml));
    assert_eq!(
        problem_at(&errors, "policy.hotfix.approvers[1].role"),
        "role `release_manager` is used by the hotfix policy but roles.release_manager is not set; \
         set it to the ID of the Discord role"
    );
    assert_eq!(errors.0.len(), 1, "{errors}");
}

#[test]
fn roles_the_default_policies_need_are_required() {
    let toml = minimal().replace("team = \"500000000000000003\"\n", "");
    let errors = rejected(with_token(&toml));
    assert_eq!(
        problem_at(&errors, "roles.team"),
        "missing: the default minor policy and the default major policy need it; \
         set it to the ID of the Discord role"
    );
}

#[test]
fn a_missing_token_says_how_to_set_it() {
    let errors = rejected(load_from_str(&minimal(), &[]));
    assert_eq!(
        errors.to_string(),
        "discord.token: missing: set GONOGO_DISCORD__TOKEN (the bot token from the Developer Portal)"
    );
}

#[test]
fn a_bad_duration_names_its_key() {
    let toml = format!(
        "{}\n[rollout]\nprogress_every = \"15 minuets\"\nvote_ttl = \"30s\"\nstages = [{{ percent = 10, hold = \"1hour\" }}, {{ percent = 100, hold = \"soon\" }}]\n",
        minimal()
    );
    let errors = rejected(with_token(&toml));
    assert!(problem_at(&errors, "rollout.progress_every").contains("like \"15m\""));
    assert_eq!(
        problem_at(&errors, "rollout.vote_ttl"),
        "must be at least 1m"
    );
    assert!(problem_at(&errors, "rollout.stages[1].hold").contains("`soon` is not a duration"));
    assert_eq!(errors.0.len(), 3, "{errors}");
}

#[test]
fn stages_climb_strictly_to_100() {
    let toml = format!(
        "{}\n[rollout]\nstages = [{{ percent = 10, hold = \"1h\" }}, {{ percent = 10, hold = \"1h\" }}, {{ name = \"most\", percent = 90 }}]\n",
        minimal()
    );
    let errors = rejected(with_token(&toml));
    assert!(problem_at(&errors, "rollout.stages[1].percent").contains("above the 10%"));
    assert!(problem_at(&errors, "rollout.stages[1].name").contains("`10%` names two stages"));
    assert_eq!(
        problem_at(&errors, "rollout.stages[2].percent"),
        "the last stage must be 100"
    );
}

#[test]
fn the_token_never_shows() {
    let env = [
        ("GONOGO_DISCORD__TOKEN", TOKEN),
        ("GONOGO_EXECUTOR__SECRET", "webhook-signing-secret"),
    ];
    let toml = format!(
        "{}\n[executor]\nkind = \"webhook\"\nurl = \"https://deploy.example.com/hook\"\n",
        minimal()
    );
    let config = load_from_str(&toml, &env).unwrap();
    let shown = format!("{config:?}");
    assert!(!shown.contains(TOKEN) && !shown.contains("webhook-signing-secret"));
    assert!(shown.contains("[redacted]"));
    let (report, _) = check_report(&Ok(config));
    assert!(!report.contains(TOKEN) && !report.contains("webhook-signing-secret"));

    // A token pasted into the wrong key is not echoed either.
    let misplaced = format!("{}\n[http]\nlisten = \"{TOKEN}\"\n", minimal());
    let errors = rejected(with_token(&misplaced));
    assert!(errors.mentions("http.listen"));
    assert!(!errors.to_string().contains(TOKEN), "{errors}");
    assert!(!format!("{errors:?}").contains(TOKEN));
    let misplaced_id = minimal().replace(
        "application_id = \"123456789012345678\"",
        &format!("application_id = \"{TOKEN}\""),
    );
    let errors = rejected(with_token(&misplaced_id));
    assert!(errors.mentions("discord.application_id"));
    assert!(!errors.to_string().contains(TOKEN), "{errors}");
}

#[test]
fn every_problem_is_reported_at_once() {
    let toml = format!(
        r#"
[discord]
application_id = "12ab"
public_key = "00"
api_base = "https://discord.com/api/v10"

[http]
listen = "localhost:8080"

[database]
url = "mysql://db"

[channels]
stakeholders = ["0"]

[roles]
lead = "1"
security = "2"
team = "3"
exec = "4"

[policy.minor]
approvers = []
rollback_window = "1d"

[policy.weekly]

[executor]
kind = "command"
deploy = "./deploy.sh {{version}}"
rollback = ["./rollback.sh", "{{verison}}"]
url = "https://x.example"

[gates]
max_error_rate = 5
max_latency_ratio = 1
error_rate_query = "sum(errors)"

[messages]
dir = "/definitely/not/a/dir/{KEY}"
"#
    );
    let errors = rejected(load_from_str(&toml, &[]));
    let keys: Vec<&str> = errors.0.iter().map(|e| e.key.as_str()).collect();
    for key in [
        "discord.token",
        "discord.application_id",
        "discord.public_key",
        "discord.api_base",
        "http.listen",
        "database.url",
        "channels.releases",
        "channels.stakeholders[0]",
        "policy.minor.approvers",
        "policy.weekly",
        "executor.url",
        "executor.deploy",
        "executor.rollback[1]",
        "gates.error_rate_query",
        "gates.max_error_rate",
        "gates.max_latency_ratio",
        "messages.dir",
    ] {
        assert!(keys.contains(&key), "no problem at {key}; got:\n{errors}");
    }
    let lines = errors.to_string();
    assert_eq!(lines.lines().count(), errors.0.len());
    assert_eq!(keys.iter().filter(|k| **k == "executor.deploy").count(), 1);
    let (report, ok) = check_report(&Err(errors));
    assert!(!ok);
    assert!(
        report.contains("discord.public_key: not a public key"),
        "{report}"
    );
}

#[test]
fn the_executor_kinds_take_their_own_keys() {
    let webhook = format!(
        "{}\n[executor]\nkind = \"webhook\"\nurl = \"ftp://x\"\ntimeout = \"30s\"\n",
        minimal()
    );
    let errors = rejected(with_token(&webhook));
    assert!(problem_at(&errors, "executor.url").contains("http://"));
    assert!(problem_at(&errors, "executor.secret").contains("GONOGO_EXECUTOR__SECRET"));

    let command = format!(
        "{}\n[executor]\nkind = \"command\"\ndeploy = [\"./deploy.sh\", \"--canary={{percent}}\", \"{{version}}\"]\nrollback = [\"./rollback.sh\"]\n",
        minimal()
    );
    let config = with_token(&command).unwrap();
    match config.executor {
        Some(ExecutorConfig::Command {
            deploy, timeout, ..
        }) => {
            assert_eq!(deploy, ["./deploy.sh", "--canary={percent}", "{version}"]);
            assert_eq!(timeout, TimeDelta::minutes(10));
        }
        other => panic!("expected a command executor, got {other:?}"),
    }
}

#[test]
fn roles_map_discord_roles_to_policy_roles() {
    let config = with_token(&minimal()).unwrap();
    assert_eq!(
        config.roles.role_id(Role::Security),
        Some(RoleId(500_000_000_000_000_002))
    );
    assert_eq!(config.roles.role_id(Role::Deployer), None);
    assert_eq!(
        config.roles.roles_of(&[
            RoleId(500_000_000_000_000_003),
            RoleId(1),
            RoleId(500_000_000_000_000_001)
        ]),
        [Role::Lead, Role::Team]
    );
}

#[test]
fn a_missing_file_is_named() {
    let errors = rejected(load(Path::new("/definitely/not/here/gonogo.toml")));
    assert_eq!(errors.0[0].key, "/definitely/not/here/gonogo.toml");
    assert!(errors.0[0].problem.contains("--config"));
}

#[test]
fn durations_print_the_way_they_are_written() {
    assert_eq!(report::short(TimeDelta::days(3)), "3d");
    assert_eq!(report::short(TimeDelta::minutes(90)), "1h30m");
    assert_eq!(report::short(TimeDelta::zero()), "0s");
}

#[test]
fn bare_integers_are_accepted_where_they_make_sense() {
    let toml = minimal().replace("\"345678901234567890\"", "345678901234567890")
        + "\n[gates]\nmax_error_rate = 0\nmax_latency_ratio = 3\n";
    let config = with_token(&toml).unwrap();
    assert_eq!(config.channels.releases, 345_678_901_234_567_890);
    assert!(config.gates.metrics.max_error_rate.abs() < f64::EPSILON);
    assert!((config.gates.metrics.max_latency_ratio - 3.0).abs() < f64::EPSILON);
}

#[test]
fn a_policy_asking_for_more_approvers_than_the_card_shows_is_refused() {
    let toml = minimal() + "\n[policy.major]\napprovers = [{ role = \"exec\", count = 4 }, { role = \"team\", count = 7 }]\nrollback_window = \"3d\"\n";
    let errors = rejected(with_token(&toml));
    assert!(
        problem_at(&errors, "policy.major.approvers").contains("asks for 11 approvers"),
        "{errors}"
    );
}

#[test]
fn a_poll_may_not_stay_open_for_more_than_thirty_days() {
    let errors = rejected(with_token(
        &(minimal() + "\n[rollout]\nvote_ttl = \"31d\"\n"),
    ));
    assert!(
        problem_at(&errors, "rollout.vote_ttl").contains("at most 30d"),
        "{errors}"
    );
    let config = with_token(&(minimal() + "\n[rollout]\nvote_ttl = \"30d\"\n")).unwrap();
    assert_eq!(config.rollout.vote_ttl, TimeDelta::days(30));
}

#[test]
fn a_whole_rollout_can_be_rehearsed_in_seconds() {
    let toml = minimal()
        + "\n[rollout]\nstages = [{ percent = 10, hold = \"5s\" }, { percent = 100 }]\nprogress_every = \"5s\"\nverify_for = \"10s\"\n";
    let config = with_token(&toml).unwrap();
    assert_eq!(config.rollout.stages[0].hold, TimeDelta::seconds(5));
    assert_eq!(config.rollout.progress_every, TimeDelta::seconds(5));
    assert_eq!(config.rollout.verify_for, TimeDelta::seconds(10));
    let zero = minimal() + "\n[rollout]\nprogress_every = \"0s\"\n";
    let errors = rejected(with_token(&zero));
    assert!(problem_at(&errors, "rollout.progress_every").contains("at least 1s"));
}

#[test]
fn the_served_guild_is_required_and_check_says_why() {
    let toml = minimal().replace("guild_id = \"234567890123456780\"\n", "");
    let errors = rejected(with_token(&toml));
    let problem = problem_at(&errors, "discord.guild_id");
    assert!(problem.contains("Copy Server ID"), "{problem}");
    assert!(problem.contains("refused"), "{problem}");
}

#[test]
fn planners_name_mapped_roles_and_at_least_one() {
    let custom = minimal() + "\n[policy]\nplanners = [\"lead\", \"lead\", \"security\"]\n";
    let config = with_token(&custom).unwrap();
    assert_eq!(config.policies.planners, [Role::Lead, Role::Security]);

    let unknown = minimal() + "\n[policy]\nplanners = [\"cto\"]\n";
    let errors = rejected(with_token(&unknown));
    assert!(problem_at(&errors, "policy.planners[0]").contains("unknown role `cto`"));

    let unmapped = minimal() + "\n[policy]\nplanners = [\"deployer\"]\n";
    let errors = rejected(with_token(&unmapped));
    assert!(problem_at(&errors, "policy.planners[0]").contains("roles.deployer is not set"));

    let nobody = minimal() + "\n[policy]\nplanners = []\n";
    let errors = rejected(with_token(&nobody));
    assert!(problem_at(&errors, "policy.planners").contains("nobody could plan"));

    let not_a_list = minimal() + "\n[policy]\nplanners = \"lead\"\n";
    let errors = rejected(with_token(&not_a_list));
    assert!(problem_at(&errors, "policy.planners").contains("a list"));
}

#[test]
fn the_audit_key_comes_from_the_environment_only_and_is_long() {
    let key = "3f9c1e0b7a5d4c2e8f6a1b3d5c7e9f0a";
    let env = [("GONOGO_DISCORD__TOKEN", TOKEN), ("GONOGO_AUDIT__KEY", key)];
    let config = load_from_str(&minimal(), &env).unwrap();
    assert_eq!(config.audit.key.as_ref().map(Secret::expose), Some(key));
    assert!(!format!("{config:?}").contains(key));

    let in_file = minimal() + &format!("\n[audit]\nkey = \"{key}\"\n");
    let errors = rejected(with_token(&in_file));
    assert!(problem_at(&errors, "audit.key").contains("GONOGO_AUDIT__KEY"));
    assert!(!errors.to_string().contains(key), "{errors}");

    let short = [
        ("GONOGO_DISCORD__TOKEN", TOKEN),
        ("GONOGO_AUDIT__KEY", "hunter2"),
    ];
    let errors = rejected(load_from_str(&minimal(), &short));
    assert!(problem_at(&errors, "audit.key").contains("too short"));
    assert!(with_token(&minimal()).unwrap().audit.key.is_none());
}

#[test]
fn the_checklist_sections_are_read_and_each_type_names_its_own() {
    let toml = minimal()
        + r#"
[policy.hotfix]
approvers = [{ role = "lead", count = 1 }]
rollback_window = "2h"
checklist = ["Code & Testing"]

[[checklist]]
section = "Code & Testing"
items = ["All tests passing in CI", "Code review approved"]

[[checklist]]
section = "Documentation"
items = ["CHANGELOG updated"]
"#;
    let config = with_token(&toml).unwrap();
    assert_eq!(config.checklist.len(), 2);
    assert_eq!(
        config.checklist[0].items[1],
        Item::by_people("Code review approved")
    );
    assert_eq!(
        config.policies.get(ReleaseKind::Hotfix).checklist,
        ["Code & Testing"]
    );
    assert!(config.policies.get(ReleaseKind::Patch).checklist.is_empty());
    assert!(with_token(&minimal()).unwrap().checklist.is_empty());
}

#[test]
fn checklist_mistakes_are_named_by_their_key() {
    let items: Vec<String> = (0..26).map(|i| format!("\"item {i}\"")).collect();
    let toml = minimal()
        + &format!(
            r#"
[policy.patch]
approvers = [{{ role = "lead", count = 1 }}]
rollback_window = "4h"
checklist = ["Docs"]

[[checklist]]
section = "Too long"
items = [{}]

[[checklist]]
section = "Twice"
items = ["a"]

[[checklist]]
section = "Twice"
items = [""]
"#,
            items.join(", ")
        );
    let errors = rejected(with_token(&toml));
    let keys: Vec<&str> = errors.0.iter().map(|e| e.key.as_str()).collect();
    for key in [
        "checklist[0].items",
        "checklist[2].section",
        "checklist[2].items[0]",
    ] {
        assert!(keys.contains(&key), "no problem at {key}; got:\n{errors}");
    }
}

#[test]
fn a_type_cannot_require_a_section_the_checklist_lacks() {
    let toml = minimal()
        + r#"
[policy.patch]
approvers = [{ role = "lead", count = 1 }]
rollback_window = "4h"
checklist = ["Docs"]

[[checklist]]
section = "Documentation"
items = ["CHANGELOG updated"]
"#;
    let errors = rejected(with_token(&toml));
    assert!(
        errors
            .to_string()
            .contains("policy.patch.checklist[0]: no [[checklist]] section"),
        "{errors}"
    );
}

#[test]
fn the_example_file_has_a_staging_that_production_follows() {
    let config = with_token(include_str!("../../gonogo.example.toml")).unwrap();
    let staging = config.environment("staging").expect("staging");
    assert_eq!(staging.next.as_deref(), Some("production"));
    assert!(!staging.approval);
    assert_eq!(config.rollout_for("staging").stages.len(), 1);
    assert_eq!(
        config.rollout_for("staging").verify_for,
        TimeDelta::minutes(30)
    );
    assert_eq!(
        config.rollout_for("staging").progress_every,
        config.rollout.progress_every,
        "what staging does not set comes from [rollout]"
    );
    assert!(matches!(
        config.executor_for("staging"),
        Some(ExecutorConfig::Command { deploy, .. }) if deploy[1] == "staging"
    ));
    let production = config.environment("production").expect("production");
    assert_eq!(production.after.as_deref(), Some("staging"));
    assert_eq!(production.soak, TimeDelta::hours(2));
    assert!(production.approval);
    assert_eq!(config.rollout_for("production"), &config.rollout);
    assert!(matches!(
        config.executor_for("qa"),
        Some(ExecutorConfig::Command { deploy, .. }) if deploy[1] == "production"
    ));
    assert_eq!(config.rollout.oncall_within, TimeDelta::minutes(15));
    let code = &config.checklist[0].items;
    assert!(code[0].by_pipeline && !code[1].by_pipeline);
    assert!(
        config.api.tokens.is_empty(),
        "the door is off until a token is set"
    );
    let (report, _) = check_report(&Ok(config));
    assert!(
        report.contains("environment staging: promotes to production; no go/no-go poll; its own stages and verification; its own executor"),
        "{report}"
    );
    assert!(
        report.contains("environment production: after staging (soak 2h)"),
        "{report}"
    );
    assert!(report.contains("pipeline door: off"), "{report}");
}

#[test]
fn environments_name_real_neighbours_and_a_soak_needs_an_order() {
    let errors = rejected(with_token(
        &(minimal()
            + r#"
[environments.production]
after = "stagign"
next = "production"

[environments.qa]
soak = "1h"
stages = [{ percent = 50 }]

[environments.Staging]
"#),
    ));
    assert!(
        problem_at(&errors, "environments.production.after").contains("no [environments.stagign]")
    );
    assert!(problem_at(&errors, "environments.production.next").contains("cannot follow itself"));
    assert!(problem_at(&errors, "environments.qa.soak").contains("needs `after`"));
    assert!(problem_at(&errors, "environments.qa.stages[0].percent").contains("100"));
    assert!(problem_at(&errors, "environments.Staging").contains("not an environment name"));
}

#[test]
fn api_tokens_hold_a_hash_and_known_scopes() {
    let hash = "a".repeat(64);
    let config = with_token(
        &(minimal()
            + &format!(
                "[api]\ntokens = [{{ name = \"ci\", sha256 = \"{hash}\", scopes = [\"read\", \"plan\", \"read\"] }}]\n"
            )),
    )
    .unwrap();
    let (report, _) = check_report(&Ok(config.clone()));
    assert!(
        report.contains("pipeline door: /api/v1 for ci (read, plan)"),
        "{report}"
    );
    let token = &config.api.tokens[0];
    assert_eq!((token.name.as_str(), token.sha256), ("ci", [0xaa; 32]));
    assert_eq!(token.scopes, [Scope::Read, Scope::Plan]);

    let errors = rejected(with_token(
        &(minimal()
            + &format!(
                "[api]\ntokens = [\n  {{ name = \"ci\", sha256 = \"{hash}\", scopes = [\"admin\"] }},\n  {{ name = \"ci\", sha256 = \"not hex\", scopes = [] }},\n  {{ name = \"CI!\", sha256 = \"{hash}\", scopes = [\"read\"] }},\n]\n"
            )),
    ));
    assert!(problem_at(&errors, "api.tokens[0].scopes").contains("`admin` is not a scope"));
    assert!(problem_at(&errors, "api.tokens[1].sha256").contains("gonogo token new"));
    assert!(problem_at(&errors, "api.tokens[1].scopes").contains("at least one scope"));
    assert!(problem_at(&errors, "api.tokens[2].name").contains("lowercase"));
}

#[test]
fn a_checklist_item_is_ticked_by_people_unless_it_says_pipeline() {
    let errors = rejected(with_token(
        &(minimal()
            + r#"
[[checklist]]
section = "Code & Testing"
items = [{ item = "Tests", by = "robot" }, { by = "pipeline" }]
"#),
    ));
    assert!(problem_at(&errors, "checklist[0].items[0].by").contains("\"pipeline\""));
    assert!(problem_at(&errors, "checklist[0].items[1].item").contains("missing"));
}

#[test]
fn the_dashboard_is_off_until_configured_and_its_secret_comes_from_the_environment() {
    assert!(with_token(&minimal()).unwrap().dashboard.is_none());
    let section = "\n[dashboard]\npublic_url = \"https://gonogo.example.com/\"\n";
    let errors = rejected(with_token(&format!("{}{section}", minimal())));
    assert!(
        problem_at(&errors, "dashboard.client_secret").contains("GONOGO_DASHBOARD__CLIENT_SECRET"),
        "{errors}"
    );
    let env = [
        ("GONOGO_DISCORD__TOKEN", TOKEN),
        ("GONOGO_DASHBOARD__CLIENT_SECRET", "s3cret-from-the-portal"),
    ];
    let config = load_from_str(&format!("{}{section}", minimal()), &env).unwrap();
    let dashboard = config.dashboard.expect("a dashboard");
    assert_eq!(dashboard.public_url, "https://gonogo.example.com");
    assert_eq!(
        dashboard.redirect_uri(),
        "https://gonogo.example.com/auth/callback"
    );
    assert_eq!(dashboard.session_ttl, TimeDelta::hours(12));
    assert!(dashboard.secure());
    assert_eq!(dashboard.client_secret.expose(), "s3cret-from-the-portal");

    let in_file = format!("{}{section}client_secret = \"in-the-file\"\n", minimal());
    let errors = rejected(load_from_str(&in_file, &env[..1]));
    assert!(problem_at(&errors, "dashboard.client_secret").contains("must not be in the file"));
    assert!(
        !errors.to_string().contains("in-the-file"),
        "the secret is masked: {errors}"
    );

    let bad = format!(
        "{}\n[dashboard]\npublic_url = \"gonogo.example.com/board\"\nsession_ttl = \"10s\"\n",
        minimal()
    );
    let errors = rejected(load_from_str(&bad, &env));
    assert!(
        problem_at(&errors, "dashboard.public_url").contains("not a URL"),
        "{errors}"
    );
    assert!(
        problem_at(&errors, "dashboard.session_ttl").contains("at least 1m"),
        "{errors}"
    );
}

#[test]
fn a_database_url_is_shown_without_its_password() {
    assert_eq!(
        without_password("postgres://gonogo:s3cret@db.internal:5432/gonogo"),
        "postgres://gonogo:***@db.internal:5432/gonogo"
    );
    assert_eq!(without_password("sqlite://gonogo.db"), "sqlite://gonogo.db");
    assert_eq!(without_password("sqlite:gonogo.db"), "sqlite:gonogo.db");
    assert_eq!(
        without_password("postgres://gonogo@db.internal/gonogo"),
        "postgres://gonogo@db.internal/gonogo"
    );
    assert_eq!(
        without_password("postgres://gonogo:pa/s s@db.internal:99999/gonogo"),
        "postgres://gonogo:***@db.internal:99999/gonogo"
    );
}

#[test]
fn a_database_url_names_sqlite_or_a_postgresql_server_and_an_error_hides_its_password() {
    let url = |url: &str| {
        let toml = format!("{}\n[database]\nurl = \"{url}\"\n", minimal());
        with_token(&toml)
    };
    for good in [
        "sqlite://gonogo.db",
        "postgres://gonogo:s3cret@db.internal:5432/gonogo",
        "postgresql://db.internal/gonogo",
    ] {
        let config = url(good).unwrap_or_else(|e| panic!("{good}: {e}"));
        assert_eq!(config.database.url, good);
    }
    for (bad, says) in [
        (
            "mysql://gonogo:s3cret@db.internal/gonogo",
            "neither an SQLite nor a PostgreSQL URL",
        ),
        (
            "postgres://gonogo:s3cret@db.internal:99999/gonogo",
            "not a valid PostgreSQL URL",
        ),
        (
            "postgres://gonogo:s3cret@/gonogo",
            "not a valid PostgreSQL URL",
        ),
    ] {
        let error = url(bad).expect_err(bad).to_string();
        assert!(error.contains(says), "{bad}: {error}");
        assert!(
            !error.contains("s3cret"),
            "{bad} shows its password: {error}"
        );
    }
}
