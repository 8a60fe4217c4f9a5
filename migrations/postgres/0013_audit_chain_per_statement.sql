-- The append-only rule checks each INSERT once, over every row it adds, instead of row by
-- row: the new rows must take the ids right after the old head, each linking to the row before
-- it. A group of votes appends all its audit rows in one statement, and a check per row cost
-- more than the rows themselves.
DROP TRIGGER audit_events_append_only ON audit_events;
DROP FUNCTION audit_events_follow_head();
CREATE FUNCTION audit_events_follow_head() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM added) THEN
        RETURN NULL;
    END IF;
    IF EXISTS (
           SELECT 1 FROM added
           LEFT JOIN audit_events AS before ON before.id = added.id - 1
           WHERE added.prev_hash IS DISTINCT FROM COALESCE(before.hash, CASE WHEN added.id = 1
               THEN '0000000000000000000000000000000000000000000000000000000000000000' END))
       OR (SELECT MAX(id) FROM audit_events) IS DISTINCT FROM (SELECT MAX(id) FROM added)
       OR (SELECT MAX(id) - MIN(id) + 1 FROM added) IS DISTINCT FROM (SELECT COUNT(*) FROM added)
    THEN
        RAISE EXCEPTION 'audit_events is append-only: a new row must follow the head';
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER audit_events_append_only AFTER INSERT ON audit_events
    REFERENCING NEW TABLE AS added
    FOR EACH STATEMENT EXECUTE FUNCTION audit_events_follow_head();
