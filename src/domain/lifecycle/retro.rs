//! The retrospective: once a release completes or is rolled back, its thread asks what went
//! well, what to improve and which actions follow; the answers stay with the release.

use chrono::{DateTime, Utc};

use super::inputs::Person;
use super::{Event, Transition};
use crate::domain::effect::{Audience, Effect, Notice};
use crate::domain::parts::Retrospective;
use crate::domain::refusal::Refusal;
use crate::domain::release::{Release, ReleaseState};
use crate::domain::text::bounded_text;

/// How long each answer may be: a modal's paragraph input.
pub const MAX_ANSWER: usize = 1000;

/// The three answers, as typed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Answers {
    pub went_well: String,
    pub improve: String,
    pub actions: String,
}

/// The prompt a finished release's thread gets, with the button that opens the questions.
pub fn prompt(release: &Release) -> Effect {
    Effect::Notify {
        audience: Audience::Thread,
        notice: Notice::RetrospectivePrompt {
            version: release.version.to_string(),
            outcome: release.state.to_string(),
        },
    }
}

/// `by` files a retrospective of a finished release; one person may file again to amend it.
pub fn file(
    release: &Release,
    by: Person<'_>,
    answers: &Answers,
    now: DateTime<Utc>,
) -> Result<Transition, Refusal> {
    if !matches!(
        release.state,
        ReleaseState::Completed | ReleaseState::RolledBack
    ) {
        return Err(Refusal::NotFinished {
            state: release.state,
        });
    }
    let answer = |name: &str, text: &str| {
        bounded_text(name, text.trim(), MAX_ANSWER).map_err(Refusal::InvalidReason)
    };
    let retro = Retrospective {
        by: by.name.to_owned(),
        went_well: answer("what went well", &answers.went_well)?,
        improve: answer("what to improve", &answers.improve)?,
        actions: answer("the action items", &answers.actions)?,
        at: now,
    };
    let mut next = release.clone();
    next.retrospectives.retain(|r| r.by != retro.by);
    next.retrospectives.push(retro.clone());
    Ok(Transition {
        release: next,
        ballot: None,
        actor: Some(by.id),
        events: vec![Event::RetrospectiveFiled {
            by: retro.by.clone(),
            went_well: retro.went_well,
            improve: retro.improve,
            actions: retro.actions,
        }],
        effects: vec![Effect::Notify {
            audience: Audience::Thread,
            notice: Notice::RetrospectiveFiled {
                version: release.version.to_string(),
                by: retro.by,
            },
        }],
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::lifecycle::deploy::tests::{approved, deployer, t0};

    fn answers() -> Answers {
        Answers {
            went_well: "The canary caught it".into(),
            improve: " Faster dashboards ".into(),
            actions: "Add an alert".into(),
        }
    }

    #[test]
    fn a_finished_release_keeps_each_persons_latest_retrospective() {
        let (mut release, _) = approved();
        release.state = ReleaseState::Completed;
        let first = file(&release, deployer(), &answers(), t0()).unwrap();
        assert_eq!(first.release.retrospectives.len(), 1);
        assert_eq!(first.release.retrospectives[0].improve, "Faster dashboards");
        assert!(matches!(
            first.events[..],
            [Event::RetrospectiveFiled { .. }]
        ));
        let amended = Answers {
            actions: "Add two alerts".into(),
            ..answers()
        };
        let second = file(&first.release, deployer(), &amended, t0()).unwrap();
        assert_eq!(second.release.retrospectives.len(), 1);
        assert_eq!(second.release.retrospectives[0].actions, "Add two alerts");
    }

    #[test]
    fn only_a_finished_release_takes_a_retrospective() {
        let (release, _) = approved();
        assert_eq!(
            file(&release, deployer(), &answers(), t0()),
            Err(Refusal::NotFinished {
                state: ReleaseState::Approved
            })
        );
        let mut rolled = release.clone();
        rolled.state = ReleaseState::RolledBack;
        assert!(file(&rolled, deployer(), &answers(), t0()).is_ok());
        let long = Answers {
            went_well: "x".repeat(MAX_ANSWER + 1),
            ..answers()
        };
        assert!(matches!(
            file(&rolled, deployer(), &long, t0()),
            Err(Refusal::InvalidReason(_))
        ));
    }
}
