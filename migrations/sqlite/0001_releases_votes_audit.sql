-- Releases, their votes, the hash-chained audit trail, the outbox and the timers.
-- Times are UTC text in one fixed-width format (2026-03-02T10:00:00.000Z), so they sort as text.

CREATE TABLE releases (
    id              INTEGER PRIMARY KEY,
    version         TEXT    NOT NULL,
    kind            TEXT    NOT NULL CHECK (kind IN ('hotfix', 'patch', 'minor', 'major')),
    state           TEXT    NOT NULL CHECK (state IN ('planned', 'voting', 'approved', 'rejected',
                        'expired', 'cancelled', 'deploying', 'halted', 'verifying', 'completed',
                        'rolling_back', 'rolled_back')),
    summary         TEXT    NOT NULL,
    changelog       TEXT,
    environment     TEXT    NOT NULL,
    author_id       INTEGER NOT NULL,
    author_name     TEXT    NOT NULL,
    created_at      TEXT    NOT NULL,
    expires_at      TEXT    NOT NULL,
    decided_at      TEXT,
    decision_reason TEXT,
    card_channel_id INTEGER NOT NULL,
    card_message_id INTEGER,
    thread_id       INTEGER
);
CREATE INDEX releases_by_version ON releases (version, environment);
CREATE INDEX releases_by_state ON releases (state);

-- One row per accepted click, vote changes included.
CREATE TABLE votes (
    id             INTEGER PRIMARY KEY,
    release_id     INTEGER NOT NULL REFERENCES releases (id),
    voter_id       INTEGER NOT NULL,
    voter_name     TEXT    NOT NULL,
    roles          TEXT    NOT NULL, -- the policy roles held when voting, comma-separated
    choice         TEXT    NOT NULL CHECK (choice IN ('go', 'no_go')),
    reason         TEXT,
    cast_at        TEXT    NOT NULL,
    interaction_id INTEGER
);
CREATE INDEX votes_by_release ON votes (release_id, id);

-- Append-only: each hash is SHA-256 over the previous hash and this row's canonical content.
CREATE TABLE audit_events (
    id         INTEGER PRIMARY KEY,
    release_id INTEGER,
    actor_id   INTEGER,
    kind       TEXT    NOT NULL,
    detail     TEXT    NOT NULL,
    at         TEXT    NOT NULL,
    prev_hash  TEXT    NOT NULL,
    hash       TEXT    NOT NULL
);
CREATE INDEX audit_events_by_release ON audit_events (release_id, id);
CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events
BEGIN SELECT RAISE(ABORT, 'audit_events is append-only'); END;
CREATE TRIGGER audit_events_no_delete BEFORE DELETE ON audit_events
BEGIN SELECT RAISE(ABORT, 'audit_events is append-only'); END;

-- Discord posts and edits waiting to be delivered, in order per release.
CREATE TABLE outbox (
    id         INTEGER PRIMARY KEY,
    release_id INTEGER NOT NULL REFERENCES releases (id),
    kind       TEXT    NOT NULL CHECK (kind IN ('post_card', 'open_thread', 'refresh_card', 'notify')),
    body       TEXT,
    nonce      TEXT    NOT NULL,
    state      TEXT    NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'sent', 'failed')),
    attempts   INTEGER NOT NULL DEFAULT 0,
    due_at     TEXT    NOT NULL,
    created_at TEXT    NOT NULL,
    sent_at    TEXT,
    last_error TEXT
);
CREATE INDEX outbox_pending ON outbox (state, release_id, id);

-- Due times the scheduler wakes on.
CREATE TABLE timers (
    id         INTEGER PRIMARY KEY,
    release_id INTEGER NOT NULL REFERENCES releases (id),
    kind       TEXT    NOT NULL,
    due_at     TEXT    NOT NULL,
    UNIQUE (release_id, kind)
);
CREATE INDEX timers_by_due ON timers (due_at);

-- Interaction ids already handled, so a replay changes nothing.
CREATE TABLE interactions (
    id          INTEGER PRIMARY KEY,
    received_at TEXT NOT NULL
);
