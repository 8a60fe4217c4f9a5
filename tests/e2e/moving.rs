//! `gonogo migrate --to`: a team's SQLite database moves into an empty PostgreSQL one with its
//! audit chain verified on both sides, and gonogo carries on there. A target that holds data,
//! wrong credentials and a malformed url are refused with one clear line, the password unshown.
//! The move needs PostgreSQL whatever the backend of the run: it runs in the first pass.

use serde_json::Value;

use super::binary::{gonogo, printed};
use crate::support::database::{self, on_postgres, PASSWORD, USER};
use crate::support::fake_discord::{FakeDiscord, GUILD_ID};
use crate::support::fixtures;
use crate::support::process::{free_loopback_addr, wait_card, write_config, Bot};
use crate::support::signer::Signer;
use crate::support::tester::{author, button_id, content, lead, plan_command, team};

/// Clicks `choice` on `version`'s card as `who`, through the door at `url`.
async fn click(
    fake: &FakeDiscord,
    signer: &Signer,
    url: &str,
    id: u64,
    who: &fixtures::Member,
    version: &str,
) -> Value {
    let card = wait_card(fake, version, "the card is posted", |_| true).await;
    let go = button_id(&card, "go").expect("a Go button");
    let click = fixtures::button_on_message(id, who, GUILD_ID, card, &go);
    let (status, answer) = signer.post_interaction(url, &click).await;
    assert_eq!(status, 200, "{answer}");
    answer
}

#[tokio::test]
async fn an_sqlite_database_moves_into_an_empty_postgresql_one_and_gonogo_carries_on_there() {
    if on_postgres() {
        return;
    }
    let fake = FakeDiscord::start().await;
    let signer = Signer::new();
    let dir = tempfile::tempdir().expect("temp dir");
    let addr = free_loopback_addr();
    let config = write_config(&fake, &signer, dir.path(), addr);
    let url = format!("http://{addr}/interactions");
    let mut bot = Bot::start(&config, &["run"], &dir.path().join("sqlite.log"), addr).await;
    for (id, version, kind) in [(1, "5.0.0", "patch"), (2, "5.0.1", "minor")] {
        let plan = plan_command(
            1_700_000_000_000_000_000 + id,
            &author(),
            version,
            kind,
            "Move",
        );
        let (status, body) = signer.post_interaction(&url, &plan).await;
        assert_eq!(status, 200, "{body}");
    }
    click(
        &fake,
        &signer,
        &url,
        1_700_000_000_000_000_011,
        &lead(),
        "5.0.0",
    )
    .await;
    click(
        &fake,
        &signer,
        &url,
        1_700_000_000_000_000_012,
        &team(1),
        "5.0.1",
    )
    .await;
    bot.terminate();
    assert!(bot.wait_exit().await.success());
    let head = gonogo(&config, true, &["audit", "head"]);
    let head = String::from_utf8_lossy(&head.stdout).trim().to_owned();

    let target = database::server().create_database();
    refuses_bad_targets(&config, &target);

    let moved = gonogo(&config, true, &["migrate", "--to", &target]);
    let text = printed(&moved);
    assert!(moved.status.success(), "{text}");
    assert!(text.contains("releases: 2 rows"), "{text}");
    assert!(text.contains("votes: 2 rows"), "{text}");
    assert!(
        text.contains(&format!("the audit chain verifies on both sides at {head}")),
        "{text}"
    );
    assert!(!text.contains(PASSWORD), "the password is shown: {text}");
    let again = gonogo(&config, true, &["migrate", "--to", &target]);
    assert_eq!(again.status.code(), Some(1), "{}", printed(&again));
    assert!(
        printed(&again).contains("already holds data (2 rows in releases)"),
        "{}",
        printed(&again)
    );

    // gonogo on the new database: the same chain, and the open poll takes the vote that
    // approves it.
    let sqlite_url = database::url_in(dir.path());
    let text = std::fs::read_to_string(&config).expect("read the config");
    std::fs::write(&config, text.replace(&sqlite_url, &target)).expect("write the config");
    let verified = gonogo(&config, true, &["audit", "head"]);
    assert_eq!(String::from_utf8_lossy(&verified.stdout).trim(), head);
    let mut bot = Bot::start(&config, &["run"], &dir.path().join("postgres.log"), addr).await;
    let answer = click(
        &fake,
        &signer,
        &url,
        1_700_000_000_000_000_013,
        &team(2),
        "5.0.1",
    )
    .await;
    assert!(content(&answer).contains("Your **Go**"), "{answer}");
    wait_card(&fake, "5.0.1", "the moved poll is approved", |text| {
        text.contains("Approved")
    })
    .await;
    bot.terminate();
    assert!(bot.wait_exit().await.success());
    let verified = gonogo(&config, true, &["audit", "verify"]);
    assert!(
        printed(&verified).contains("audit trail intact"),
        "{}",
        printed(&verified)
    );
    fake.assert_clean();
}

/// Wrong credentials, a port that cannot be and another kind of database are each refused in
/// one line that does not show the password.
fn refuses_bad_targets(config: &std::path::Path, target: &str) {
    let server = database::server();
    let name = target
        .rsplit('/')
        .next()
        .expect("a database name")
        .to_owned();
    let refusals = [
        (
            server.url(USER, "not-the-password", &name),
            "password authentication failed",
            "not-the-password",
        ),
        (
            format!("postgres://{USER}:{PASSWORD}@127.0.0.1:99999/{name}"),
            "Cannot parse the database url",
            PASSWORD,
        ),
        (
            format!("mysql://{USER}:{PASSWORD}@127.0.0.1/{name}"),
            "must start with sqlite:// or postgres://",
            PASSWORD,
        ),
    ];
    for (bad, says, secret) in refusals {
        let refused = gonogo(config, true, &["migrate", "--to", &bad]);
        let text = printed(&refused);
        assert_eq!(refused.status.code(), Some(1), "{text}");
        assert!(text.contains(says), "{text}");
        assert!(!text.contains(secret), "the password is shown: {text}");
    }
}
