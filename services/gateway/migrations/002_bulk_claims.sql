-- Which worker owns a running bulk load: a chunk commits only under the current claim, so a
-- worker that was presumed dead (stale heartbeat) and taken over cannot move progress.
ALTER TABLE bulk_loads ADD COLUMN claimed_by uuid;
ALTER TABLE bulk_loads ADD COLUMN file_bytes bigint NOT NULL DEFAULT 0;
CREATE INDEX bulk_loads_pending ON bulk_loads (created_at) WHERE state IN ('queued', 'running', 'matching');
ALTER TABLE bulk_load_errors ADD COLUMN field text NOT NULL DEFAULT '';
