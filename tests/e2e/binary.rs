//! The real `gonogo` binary, run as an operator runs it: check, run, a poll over HTTP, SIGTERM,
//! audit verify.

use std::path::Path;
use std::process::Output;

use crate::support::fake_discord::{FakeDiscord, GUILD_ID};
use crate::support::fixtures;
use crate::support::process::{command, free_loopback_addr, wait_card, write_config, Bot};
use crate::support::signer::Signer;
use crate::support::tester::{assert_ephemeral, author, button_id, content, lead, plan_command};

#[tokio::test]
async fn the_binary_checks_its_config_runs_a_poll_and_stops_on_sigterm() {
    let fake = FakeDiscord::start().await;
    let signer = Signer::new();
    let dir = tempfile::tempdir().expect("temp dir");
    let addr = free_loopback_addr();
    let config = write_config(&fake, &signer, dir.path(), addr);

    let checked = gonogo(&config, true, &["check"]);
    assert!(
        checked.status.success(),
        "gonogo check: {}",
        printed(&checked)
    );
    let no_token = gonogo(&config, false, &["check"]);
    assert_eq!(
        no_token.status.code(),
        Some(1),
        "gonogo check without a token: {}",
        printed(&no_token)
    );
    assert!(
        printed(&no_token).contains("discord.token"),
        "the error names the key: {}",
        printed(&no_token)
    );

    let mut bot = Bot::start(&config, &["run"], &dir.path().join("gonogo.log"), addr).await;
    let url = format!("http://{addr}/interactions");

    let plan = plan_command(
        1_700_000_000_000_000_001,
        &author(),
        "1.4.1",
        "patch",
        "Faster search",
    );
    let (status, planned) = signer.post_interaction(&url, &plan).await;
    assert_eq!(status, 200, "{planned}");
    assert_ephemeral(&planned);
    let card = wait_card(&fake, "1.4.1", "the card is posted", |_| true).await;

    let go = button_id(&card, "go").expect("the card has a Go button");
    let click =
        fixtures::button_on_message(1_700_000_000_000_000_002, &lead(), GUILD_ID, card, &go);
    let (status, voted) = signer.post_interaction(&url, &click).await;
    assert_eq!(status, 200, "{voted}");
    assert!(content(&voted).contains("Your **Go**"), "{voted}");
    wait_card(&fake, "1.4.1", "the card shows the approval", |text| {
        text.contains("Approved")
    })
    .await;

    bot.terminate();
    let exit = bot.wait_exit().await;
    assert!(exit.success(), "gonogo exited with {exit} after SIGTERM");

    let verified = gonogo(&config, true, &["audit", "verify"]);
    assert!(
        verified.status.success() && printed(&verified).contains("audit trail intact"),
        "gonogo audit verify: {}",
        printed(&verified)
    );

    heads_compare(&config);
    let figures = gonogo(&config, true, &["stats", "--days", "7"]);
    let figures_text = String::from_utf8_lossy(&figures.stdout);
    assert!(
        figures.status.success()
            && figures_text.contains("Delivery to production over the last 7 days")
            && figures_text.contains("0 releases completed"),
        "gonogo stats: {}",
        printed(&figures)
    );

    // Someone with raw SQL access rewrites the Go into a No-Go, past the append-only guard.
    let mut db = crate::support::database::connect_in(dir.path()).await;
    sqlx::query(&crate::support::database::drop_trigger(
        "audit_events_no_update",
    ))
    .execute(&mut db)
    .await
    .expect("drop the guard");
    sqlx::query("UPDATE audit_events SET detail = replace(detail, '\"go\"', '\"no_go\"') WHERE kind = 'vote_cast'")
        .execute(&mut db)
        .await
        .expect("edit the vote");
    sqlx::Connection::close(db)
        .await
        .expect("close the database");
    let broken = gonogo(&config, true, &["audit", "verify"]);
    assert_eq!(
        broken.status.code(),
        Some(1),
        "gonogo audit verify after an edit: {}",
        printed(&broken)
    );
    assert!(
        printed(&broken).contains("BROKEN at audit event 2"),
        "{}",
        printed(&broken)
    );
    fake.assert_clean();
}

/// `gonogo audit head` prints COUNT:HASH, and `verify --since-head` holds the chain to it.
fn heads_compare(config: &Path) {
    let head = gonogo(config, true, &["audit", "head"]);
    let head_text = String::from_utf8_lossy(&head.stdout).trim().to_owned();
    assert!(
        head.status.success() && head_text.starts_with("3:") && head_text.len() == 66,
        "gonogo audit head: {}",
        printed(&head)
    );
    let since = gonogo(
        config,
        true,
        &["audit", "verify", "--since-head", &head_text],
    );
    assert!(since.status.success(), "{}", printed(&since));
    let later = format!("4:{}", &head_text[2..]);
    let beyond = gonogo(config, true, &["audit", "verify", "--since-head", &later]);
    assert_eq!(beyond.status.code(), Some(1), "{}", printed(&beyond));
    assert!(
        printed(&beyond).contains("deleted from its end"),
        "{}",
        printed(&beyond)
    );
}

/// Runs a short-lived subcommand to completion.
pub(crate) fn gonogo(config: &Path, token: bool, args: &[&str]) -> Output {
    command(config, token, args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run gonogo {args:?}: {e}"))
}

/// Everything a subcommand printed, with its exit status.
pub(crate) fn printed(output: &Output) -> String {
    format!(
        "{}\n--- stdout\n{}--- stderr\n{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}
