-- The rollout guardrails kept with each release. What the metric gates have seen of a rollout:
-- its baseline p99, the last reading and any stretch it went unwatched, as one JSON object.
ALTER TABLE releases ADD COLUMN gate_watch TEXT;
-- The problems people reported from chat during the rollout, one per person, as a JSON list.
ALTER TABLE releases ADD COLUMN problem_reports TEXT;
-- The rollback contract fixed at approval (triggers, procedure, rollback window), as JSON: a
-- later config change never alters it.
ALTER TABLE releases ADD COLUMN contract TEXT;
-- The checklist the release's type requires, copied at planning and ticked on the card, as JSON.
ALTER TABLE releases ADD COLUMN checklist TEXT;
-- Overrides asked for the release, with their approval, use and post-mortem, as JSON.
ALTER TABLE releases ADD COLUMN overrides TEXT;
-- The retrospectives of a finished release, one per person, as JSON.
ALTER TABLE releases ADD COLUMN retrospectives TEXT;
