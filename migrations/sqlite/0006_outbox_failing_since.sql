-- When a row's delivery first failed: retries back off from then, and a row that keeps failing
-- shows in /release status and in the metrics instead of being dropped. A 'failed' row is
-- parked: Discord refused it in a way that can never succeed.
ALTER TABLE outbox ADD COLUMN first_failed_at TEXT;
