-- Appending is the only way in. INSERT OR REPLACE deletes the row it replaces without firing
-- the delete trigger, so an insert must itself be the next id and link to the current head.
CREATE TRIGGER audit_events_append_only BEFORE INSERT ON audit_events
WHEN NEW.id IS NOT (SELECT COALESCE(MAX(id), 0) + 1 FROM audit_events)
  OR NEW.prev_hash IS NOT COALESCE(
       (SELECT hash FROM audit_events ORDER BY id DESC LIMIT 1),
       '0000000000000000000000000000000000000000000000000000000000000000')
BEGIN SELECT RAISE(ABORT, 'audit_events is append-only: a new row must follow the head'); END;

-- How each row's hash was made: 0 plain SHA-256, 1 HMAC-SHA256 under audit.key. Once a row
-- is keyed, every later row must be.
ALTER TABLE audit_events ADD COLUMN keyed INTEGER NOT NULL DEFAULT 0;
