//! Stories of the pre-release checklist on a release's card.

use chrono::{TimeDelta, TimeZone};

use super::*;
use crate::domain::ids::UserId;
use crate::domain::policy::DEFAULT_PLANNERS;

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 2, 10, 0, 0).unwrap()
}

fn docs() -> Section {
    Section {
        name: "Documentation".into(),
        items: vec![
            Item::by_people("CHANGELOG"),
            Item::by_people("API docs"),
            Item::by_people("Rollback procedure"),
        ],
    }
}

fn infra() -> Section {
    Section {
        name: "Infrastructure".into(),
        items: vec![Item::by_people("Backup verified")],
    }
}

/// A section no type requires.
fn unrequired() -> Section {
    Section {
        name: "Accessibility".into(),
        items: vec![Item::by_people("Screen reader pass")],
    }
}

/// An approved release requiring both sections.
fn release() -> Release {
    let (mut release, _) = crate::domain::lifecycle::deploy::tests::approved();
    let required = ["Infrastructure".to_owned(), "Documentation".to_owned()];
    release.checklist = for_release(&[docs(), unrequired(), infra()], &required);
    release
}

fn tam() -> Person<'static> {
    Person {
        id: UserId(7),
        name: "Tam",
        roles: &[Role::Team],
    }
}

fn tick(release: &Release, section: usize, selected: &[usize]) -> Result<Transition, Refusal> {
    select(
        release,
        &DEFAULT_PLANNERS,
        tam(),
        (section, selected),
        None,
        t0(),
    )
}

#[test]
fn a_release_copies_the_items_of_the_sections_its_type_requires() {
    let release = release();
    assert_eq!(release.checklist.len(), 4);
    assert_eq!(
        sections(&release.checklist),
        ["Documentation", "Infrastructure"]
    );
    assert_eq!(
        open_items(&release),
        [
            "Documentation: CHANGELOG",
            "Documentation: API docs",
            "Documentation: Rollback procedure",
            "Infrastructure: Backup verified"
        ]
    );
    assert_eq!(
        check_ticked(&release),
        Err(Refusal::ChecklistOpen {
            items: open_items(&release)
        })
    );
}

#[test]
fn ticking_records_who_and_when_and_an_all_ticked_list_lets_deploy_through() {
    let step = tick(&release(), 0, &[0, 2]).unwrap();
    assert_eq!(
        step.events,
        [
            Event::ChecklistTicked {
                section: "Documentation".into(),
                item: "CHANGELOG".into(),
                by: "Tam".into()
            },
            Event::ChecklistTicked {
                section: "Documentation".into(),
                item: "Rollback procedure".into(),
                by: "Tam".into()
            },
        ]
    );
    assert_eq!(step.effects, [Effect::RefreshCard]);
    assert_eq!(step.actor, Some(UserId(7)));
    let changelog = &step.release.checklist[0];
    assert_eq!(changelog.ticked_by.as_deref(), Some("Tam"));
    assert_eq!(changelog.ticked_at, Some(t0()));
    assert_eq!(open_items(&step.release).len(), 2);

    let step = tick(&step.release, 0, &[0, 1, 2]).unwrap();
    let step = tick(&step.release, 1, &[0]).unwrap();
    assert_eq!(check_ticked(&step.release), Ok(()));
    // The same selection again changes nothing.
    let again = tick(&step.release, 1, &[0]).unwrap();
    assert!(again.events.is_empty() && again.effects.is_empty());
}

#[test]
fn unticking_asks_for_a_reason_and_records_it() {
    let ticked = tick(&release(), 0, &[0, 1]).unwrap().release;
    assert_eq!(unticks(&ticked, 0, &[1]), ["CHANGELOG"]);
    assert_eq!(unticks(&ticked, 0, &[0, 1, 2]), Vec::<String>::new());
    assert_eq!(tick(&ticked, 0, &[1]), Err(Refusal::ReasonRequired));
    let step = select(
        &ticked,
        &DEFAULT_PLANNERS,
        tam(),
        (0, &[1]),
        Some("the changelog missed a breaking change"),
        t0() + TimeDelta::minutes(5),
    )
    .unwrap();
    assert_eq!(
        step.events,
        [Event::ChecklistUnticked {
            section: "Documentation".into(),
            item: "CHANGELOG".into(),
            by: "Tam".into(),
            reason: "the changelog missed a breaking change".into()
        }]
    );
    assert_eq!(step.release.checklist[0].ticked_by, None);
    assert_eq!(step.release.checklist[0].ticked_at, None);
}

#[test]
fn ticking_takes_a_planning_role_and_ends_when_the_rollout_starts() {
    let outsider = Person {
        id: UserId(9),
        name: "Oz",
        roles: &[Role::Security],
    };
    assert_eq!(
        select(
            &release(),
            &DEFAULT_PLANNERS,
            outsider,
            (0, &[0]),
            None,
            t0()
        ),
        Err(Refusal::CannotTick {
            roles: DEFAULT_PLANNERS.to_vec()
        })
    );
    let mut deploying = release();
    deploying.state = ReleaseState::Deploying;
    assert_eq!(
        tick(&deploying, 0, &[0]),
        Err(Refusal::ChecklistClosed {
            state: ReleaseState::Deploying
        })
    );
    for state in [ReleaseState::Planned, ReleaseState::Voting] {
        let mut early = release();
        early.state = state;
        assert!(tick(&early, 0, &[0]).is_ok(), "{state:?}");
    }
    assert_eq!(tick(&release(), 2, &[0]), Err(Refusal::StaleChecklist));
}

#[test]
fn a_release_copies_only_the_sections_its_type_requires_in_the_configs_order() {
    let planned = release();
    let items: Vec<(&str, &str)> = planned
        .checklist
        .iter()
        .map(|check| (check.section.as_str(), check.item.as_str()))
        .collect();
    assert_eq!(
        items,
        [
            ("Documentation", "CHANGELOG"),
            ("Documentation", "API docs"),
            ("Documentation", "Rollback procedure"),
            ("Infrastructure", "Backup verified"),
        ]
    );
    assert!(planned
        .checklist
        .iter()
        .all(|check| check.ticked_by.is_none()));
    assert!(for_release(&[docs(), infra()], &[]).is_empty());
}

#[test]
fn the_checklist_is_editable_until_the_rollout_starts() {
    let editable: Vec<ReleaseState> = ReleaseState::ALL
        .into_iter()
        .filter(|state| is_editable(*state))
        .collect();
    assert_eq!(
        editable,
        [
            ReleaseState::Planned,
            ReleaseState::Voting,
            ReleaseState::Approved
        ]
    );
}

#[test]
fn a_release_without_a_checklist_deploys_as_before() {
    let (release, _) = crate::domain::lifecycle::deploy::tests::approved();
    assert_eq!(check_ticked(&release), Ok(()));
    assert!(sections(&release.checklist).is_empty());
}

/// An approved release whose one section has an item only the pipeline ticks, then one
/// people tick.
fn with_pipeline_item() -> Release {
    let (mut release, _) = crate::domain::lifecycle::deploy::tests::approved();
    let code = Section {
        name: "Code & Testing".into(),
        items: vec![
            Item {
                name: "All tests passing in CI".into(),
                by_pipeline: true,
            },
            Item::by_people("Code review approved"),
        ],
    };
    release.checklist = for_release(&[code], &["Code & Testing".to_owned()]);
    release
}

fn ci_report(passed: bool, url: Option<&str>) -> Report<'_> {
    Report {
        item: "All tests passing in CI",
        passed,
        url,
    }
}

#[test]
fn a_person_cannot_tick_a_pipeline_item_nor_take_its_report_away() {
    let release = with_pipeline_item();
    assert_eq!(
        tick(&release, 0, &[0, 1]),
        Err(Refusal::PipelineOnly {
            item: "All tests passing in CI".into()
        })
    );
    let reported = report(&release, "token:ci", &ci_report(true, None), t0()).unwrap();
    // The menu as the person leaves it: only the people's item; the report stands, and no
    // reason is asked for it.
    assert!(unticks(&reported.release, 0, &[1]).is_empty());
    let ticked = tick(&reported.release, 0, &[1]).unwrap();
    assert_eq!(ticked.release.checklist[0].status(), CheckStatus::Passed);
    assert_eq!(ticked.release.checklist[1].status(), CheckStatus::Passed);
    assert_eq!(check_ticked(&ticked.release), Ok(()));
    // The menu as it shows a reported item, selected, changes nothing of it either.
    let kept = tick(&reported.release, 0, &[0, 1]).unwrap();
    assert_eq!(kept.release.checklist[0], reported.release.checklist[0]);
}

#[test]
fn a_failed_report_blocks_deploy_with_its_link_until_a_passing_one() {
    let mut release = with_pipeline_item();
    release.checklist[1].ticked_by = Some("Tam".into());
    let url = "https://ci.example.com/runs/9";
    let failed = report(&release, "token:ci", &ci_report(false, Some(url)), t0()).unwrap();
    assert_eq!(
        failed.events,
        [Event::CheckReported {
            section: "Code & Testing".into(),
            item: "All tests passing in CI".into(),
            status: "failed".into(),
            url: Some(url.into()),
            by: "token:ci".into()
        }]
    );
    assert_eq!(failed.effects, [Effect::RefreshCard]);
    assert_eq!(
        check_ticked(&failed.release),
        Err(Refusal::ChecksFailed {
            items: vec![(
                "Code & Testing: All tests passing in CI".into(),
                Some(url.into())
            )]
        })
    );
    let again = report(
        &failed.release,
        "token:ci",
        &ci_report(false, Some(url)),
        t0(),
    )
    .unwrap();
    assert!(
        again.events.is_empty(),
        "the same report twice changes nothing"
    );
    let passed = report(&failed.release, "token:ci", &ci_report(true, None), t0()).unwrap();
    assert_eq!(passed.release.checklist[0].url, None);
    assert_eq!(check_ticked(&passed.release), Ok(()));
}

#[test]
fn a_report_names_a_known_item_and_comes_before_the_rollout() {
    let release = with_pipeline_item();
    let unknown = Report {
        item: "Tests green",
        passed: true,
        url: None,
    };
    assert_eq!(
        report(&release, "token:ci", &unknown, t0()),
        Err(Refusal::UnknownItem {
            items: vec![
                "All tests passing in CI".into(),
                "Code review approved".into()
            ]
        })
    );
    let mut deploying = release;
    deploying.state = ReleaseState::Deploying;
    assert_eq!(
        report(&deploying, "token:ci", &ci_report(true, None), t0()),
        Err(Refusal::ChecklistClosed {
            state: ReleaseState::Deploying
        })
    );
}
