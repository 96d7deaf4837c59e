-- Erasure (docs/retention.md): when a signal is deleted, its involvement, member rows and a
-- match without members go at once. Only a one-way hash of the erased signal id stays, so a
-- late redelivered event of that signal cannot bring it back; purged after the redelivery window.
CREATE TABLE erased_signals (
    signal_hash bytea       PRIMARY KEY,
    erased_at   timestamptz NOT NULL
);
CREATE INDEX erased_signals_at ON erased_signals (erased_at);
CREATE INDEX match_members_signal ON match_members (signal_id);
CREATE INDEX matches_closed_at ON matches (closed_at) WHERE status = 'closed';
CREATE INDEX access_log_read_at ON access_log (read_at);
