-- The purge job (docs/retention.md) finds what is past its retention by index, batch by batch.
CREATE INDEX audit_log_at ON audit_log (at);
CREATE INDEX bulk_loads_finished ON bulk_loads (finished_at) WHERE state IN ('done', 'failed');
