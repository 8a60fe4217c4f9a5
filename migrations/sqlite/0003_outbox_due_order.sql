-- The dispatcher reads pending rows in due order and stops at the first few lane heads, so it
-- never walks the whole backlog to find what is due.
CREATE INDEX outbox_due ON outbox (state, due_at, id);
