-- The purge job (docs/retention.md) finds what is past its retention by index, batch by batch.
CREATE INDEX inbox_items_created ON inbox_items (created_at);
CREATE INDEX deliveries_finished ON deliveries (created_at) WHERE state IN ('sent', 'dead', 'digested');
CREATE INDEX events_applied_at ON events_applied (applied_at);
-- Erasure finds a match's and a signal's notices.
CREATE INDEX inbox_items_match ON inbox_items (match_id) WHERE match_id <> '';
CREATE INDEX inbox_items_signal ON inbox_items (signal_id) WHERE signal_id <> '';
