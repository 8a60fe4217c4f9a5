//! The `command` executor: an argv run directly, never through a shell, with its
//! `{placeholders}` filled from validated values and the same values in `GONOGO_*` variables.

use std::process::Stdio;
use std::time::Duration;

use nix::sys::signal::{killpg, Signal};
use nix::unistd::Pid;
use tokio::process::Command;

use super::{tail, Facts};
use crate::domain::lifecycle::inputs::Outcome;

/// Runs `argv` for `facts`; past `timeout` its whole process group is killed.
pub async fn run(argv: &[String], facts: &Facts, timeout: Duration) -> (Outcome, String) {
    let Some((program, rest)) = argv.split_first() else {
        return (
            Outcome::Failed("the executor's command is empty".into()),
            String::new(),
        );
    };
    let fill = |arg: &String| {
        arg.replace("{version}", &facts.version)
            .replace("{percent}", &facts.percent.to_string())
            .replace("{stage}", &facts.stage)
            .replace("{release_id}", &facts.release_id.to_string())
            .replace("{kind}", &facts.kind)
            .replace("{action}", facts.action)
    };
    let mut command = Command::new(fill(program));
    command
        .args(rest.iter().map(fill))
        .env("GONOGO_ACTION", facts.action)
        .env("GONOGO_RELEASE_ID", facts.release_id.to_string())
        .env("GONOGO_VERSION", &facts.version)
        .env("GONOGO_KIND", &facts.kind)
        .env("GONOGO_STAGE", &facts.stage)
        .env("GONOGO_PERCENT", facts.percent.to_string())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .kill_on_drop(true);
    let child = match command.spawn() {
        Ok(child) => child,
        Err(error) => {
            return (
                Outcome::Failed(format!("cannot start `{program}`: {error}")),
                String::new(),
            );
        }
    };
    // Whatever cuts the wait short (the timeout, or gonogo stopping), the command's whole
    // process group goes with it.
    let mut group = Group(child.id().and_then(|pid| i32::try_from(pid).ok()));
    match tokio::time::timeout(timeout, child.wait_with_output()).await {
        Ok(Ok(output)) => {
            // Reaped: its group id may belong to someone else from now on.
            group.0 = None;
            let mut text = String::from_utf8_lossy(&output.stdout).into_owned();
            text.push_str(&String::from_utf8_lossy(&output.stderr));
            let log = tail(&text);
            if output.status.success() {
                (Outcome::Succeeded, log)
            } else {
                let last = log
                    .lines()
                    .rev()
                    .find(|l| !l.trim().is_empty())
                    .unwrap_or("");
                (Outcome::Failed(format!("{}: {last}", output.status)), log)
            }
        }
        Ok(Err(error)) => (
            Outcome::Failed(format!("cannot wait for `{program}`: {error}")),
            String::new(),
        ),
        Err(_) => {
            let secs = timeout.as_secs();
            (
                Outcome::Failed(format!(
                    "timed out after {secs}s; its processes were killed"
                )),
                String::new(),
            )
        }
    }
}

/// A command's process group, killed when it is dropped.
struct Group(Option<i32>);

impl Drop for Group {
    fn drop(&mut self) {
        if let Some(group) = self.0 {
            // Fails harmlessly when the group has already gone.
            let _ = killpg(Pid::from_raw(group), Signal::SIGKILL);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts() -> Facts {
        Facts {
            action: "deploy",
            release_id: 7,
            version: "1.4.0".into(),
            kind: "patch".into(),
            stage: "canary".into(),
            percent: 1,
        }
    }

    fn argv(script: &str) -> Vec<String> {
        vec![
            "/bin/sh".into(),
            "-c".into(),
            script.into(),
            "gonogo".into(),
            "{percent}".into(),
            "{version}".into(),
        ]
    }

    #[tokio::test]
    async fn placeholders_and_variables_carry_the_same_facts() {
        let (outcome, output) = run(
            &argv("echo \"$1 $2 $GONOGO_ACTION $GONOGO_STAGE $GONOGO_PERCENT $GONOGO_RELEASE_ID $GONOGO_KIND\""),
            &facts(),
            Duration::from_secs(10),
        )
        .await;
        assert_eq!(outcome, Outcome::Succeeded);
        assert_eq!(output.trim(), "1 1.4.0 deploy canary 1 7 patch");
    }

    #[tokio::test]
    async fn a_failing_command_says_how_it_failed() {
        let (outcome, output) = run(
            &argv("echo working; echo 'no route to host' >&2; exit 3"),
            &facts(),
            Duration::from_secs(10),
        )
        .await;
        let Outcome::Failed(problem) = outcome else {
            panic!("{outcome:?}")
        };
        assert!(
            problem.contains("exit status: 3") && problem.contains("no route to host"),
            "{problem}"
        );
        assert!(output.contains("working"), "{output}");
    }

    #[tokio::test]
    async fn a_command_past_its_timeout_is_killed_with_its_children() {
        let started = std::time::Instant::now();
        let (outcome, _) = run(
            &argv("sleep 30 & sleep 30; wait"),
            &facts(),
            Duration::from_millis(300),
        )
        .await;
        assert!(
            matches!(&outcome, Outcome::Failed(p) if p.contains("timed out")),
            "{outcome:?}"
        );
        assert!(started.elapsed() < Duration::from_secs(10));
    }

    #[tokio::test]
    async fn a_missing_program_is_a_failure_not_a_crash() {
        let (outcome, _) = run(
            &["/nonexistent/deploy".into()],
            &facts(),
            Duration::from_secs(1),
        )
        .await;
        assert!(
            matches!(&outcome, Outcome::Failed(p) if p.contains("cannot start")),
            "{outcome:?}"
        );
    }
}
