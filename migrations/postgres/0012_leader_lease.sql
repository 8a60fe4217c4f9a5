-- Which replica leads: the one row of the lease, its term, its holder and when it expires, in
-- milliseconds since 1970 on the database's clock. A replica takes the lease once it has
-- expired, with the next term; every background write carries the term it was asked under and
-- is refused under a newer one.
CREATE TABLE leader_lease (
    id         BIGINT PRIMARY KEY CHECK (id = 1),
    term       BIGINT NOT NULL,
    holder     TEXT   NOT NULL,
    expires_ms BIGINT NOT NULL
);
INSERT INTO leader_lease (id, term, holder, expires_ms) VALUES (1, 0, '', 0);
