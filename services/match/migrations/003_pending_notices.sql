-- Notices of a match's creation or of members joining, held for a short window so that a
-- burst spread over several calls (e.g. 50 professionals signalling at once) reaches notify
-- as ONE event per match. Written in the same transaction as the change; moved to the outbox
-- in one transaction when due (or at once, before any other kind of change to the match).
CREATE TABLE pending_notices (
    match_id uuid        PRIMARY KEY,
    payload  bytea       NOT NULL,
    due_at   timestamptz NOT NULL
);
CREATE INDEX pending_notices_due ON pending_notices (due_at);
