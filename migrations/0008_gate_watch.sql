-- What the metric gates have seen of a rollout: its baseline p99, the last reading and any
-- stretch it went unwatched, as one JSON object the service alone reads and writes.
ALTER TABLE releases ADD COLUMN gate_watch TEXT;
