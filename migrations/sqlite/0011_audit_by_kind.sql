-- The DORA figures read the events of a few kinds in a period: found by kind and time, with
-- the release at hand, and not by reading the whole trail, which grows by every vote.
CREATE INDEX audit_events_by_kind ON audit_events (kind, at, release_id);
