-- What the metric gates have seen of a rollout: its baseline p99, the last reading and any
-- stretch it went unwatched, as one JSON object the service alone reads and writes.
ALTER TABLE releases ADD COLUMN gate_watch TEXT;
-- The problems people reported from chat during the rollout, one per person, as a JSON list.
ALTER TABLE releases ADD COLUMN problem_reports TEXT;
