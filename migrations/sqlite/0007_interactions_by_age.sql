-- Handled interaction ids are pruned after a day: Discord never sends an id again after its
-- 15-minute token life, and a signature more than 5 minutes old is refused anyway.
CREATE INDEX interactions_by_age ON interactions (received_at);
