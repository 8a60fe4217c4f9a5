-- The deployment half of a release, an explicit revision that says whether a rendered card is
-- current, and the deploy lock.

-- Bumped by every change to a release; a card rendered at revision N is current while it is N.
ALTER TABLE releases ADD COLUMN revision INTEGER NOT NULL DEFAULT 0;
UPDATE releases SET revision = (SELECT COUNT(*) FROM audit_events WHERE release_id = releases.id);

-- Where a started rollout stands; all NULL until someone deploys.
ALTER TABLE releases ADD COLUMN deployed_by INTEGER;
ALTER TABLE releases ADD COLUMN deploy_started_at TEXT;
ALTER TABLE releases ADD COLUMN stage INTEGER;
ALTER TABLE releases ADD COLUMN stage_started_at TEXT;
ALTER TABLE releases ADD COLUMN halted_secs INTEGER NOT NULL DEFAULT 0;
ALTER TABLE releases ADD COLUMN deploy_finished_at TEXT;

-- At most one release per environment is deploying, halted, verifying or rolling back.
CREATE UNIQUE INDEX releases_deploy_lock ON releases (environment)
    WHERE state IN ('deploying', 'halted', 'verifying', 'rolling_back');
