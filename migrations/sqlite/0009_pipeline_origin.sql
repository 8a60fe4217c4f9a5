-- Where a release came from when a pipeline planned it or a promotion carried it over: the
-- token, commit, commit time, build link, artifact, promoted-from release and idempotency key,
-- as one JSON object; NULL for a release planned from chat.
ALTER TABLE releases ADD COLUMN origin TEXT;
-- The pipeline's `Idempotency-Key`, so a repeated plan finds the release it made.
CREATE INDEX releases_by_idempotency_key ON releases (json_extract(origin, '$.idempotency_key'))
    WHERE origin IS NOT NULL;
