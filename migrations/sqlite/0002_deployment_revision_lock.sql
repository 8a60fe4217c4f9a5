-- The deployment half of a release, an explicit revision that says whether a rendered card is
-- current, the deploy lock, notices addressed to channels, and the executor's jobs.

-- Bumped by every change to a release; a card rendered at revision N is current while it is N.
ALTER TABLE releases ADD COLUMN revision INTEGER NOT NULL DEFAULT 0;
UPDATE releases SET revision = (SELECT COUNT(*) FROM audit_events WHERE release_id = releases.id);

-- Where a started rollout stands; all NULL until someone deploys.
ALTER TABLE releases ADD COLUMN deployed_by INTEGER;
ALTER TABLE releases ADD COLUMN deployed_by_name TEXT;
ALTER TABLE releases ADD COLUMN deploy_started_at TEXT;
ALTER TABLE releases ADD COLUMN stage INTEGER;
ALTER TABLE releases ADD COLUMN stage_started_at TEXT;
ALTER TABLE releases ADD COLUMN clock_ends_at TEXT;       -- the running hold or verification ends
ALTER TABLE releases ADD COLUMN verify_started_at TEXT;
ALTER TABLE releases ADD COLUMN halted_at TEXT;
ALTER TABLE releases ADD COLUMN halted_secs INTEGER NOT NULL DEFAULT 0;
ALTER TABLE releases ADD COLUMN rollback_by_name TEXT;
ALTER TABLE releases ADD COLUMN rollback_reason TEXT;
ALTER TABLE releases ADD COLUMN rollback_requested_at TEXT;
ALTER TABLE releases ADD COLUMN rollback_failed_at TEXT;
ALTER TABLE releases ADD COLUMN deploy_finished_at TEXT;

-- At most one release per environment is deploying, halted, verifying or rolling back.
CREATE UNIQUE INDEX releases_deploy_lock ON releases (environment)
    WHERE state IN ('deploying', 'halted', 'verifying', 'rolling_back');

-- A notice row names its channel (NULL: the release's thread) and whether it may ping; rows
-- are delivered in order per (release, channel), so one refusing channel blocks no other.
ALTER TABLE outbox ADD COLUMN channel_id INTEGER;
ALTER TABLE outbox ADD COLUMN ping INTEGER NOT NULL DEFAULT 0;
DROP INDEX outbox_pending;
CREATE INDEX outbox_pending ON outbox (state, release_id, channel_id, id);

-- The executor's jobs: one row per (release, action, stage), never run again once it
-- succeeded. A command that was running when gonogo died has an unknown outcome.
CREATE TABLE executions (
    id          INTEGER PRIMARY KEY,
    release_id  INTEGER NOT NULL REFERENCES releases (id),
    action      TEXT    NOT NULL CHECK (action IN ('deploy', 'rollback')),
    stage       INTEGER NOT NULL,
    percent     INTEGER NOT NULL,
    state       TEXT    NOT NULL DEFAULT 'pending'
                CHECK (state IN ('pending', 'running', 'succeeded', 'failed', 'unknown')),
    attempts    INTEGER NOT NULL DEFAULT 0,
    idempotency_key TEXT NOT NULL,
    output      TEXT,
    requested_at TEXT   NOT NULL,
    started_at  TEXT,
    finished_at TEXT,
    UNIQUE (release_id, action, stage)
);
CREATE INDEX executions_pending ON executions (state, id);
