-- Issue 14: bulk_loads.content_hash was a plain SHA-256 of the uploaded file; for a one-row
-- file that can be brute-forced back to the BSN. It is an HMAC now (services/gateway/bulk.py,
-- keyed from the processing log key). The old hashes cannot be converted: the files are gone.
-- Drop them; an old job then no longer catches a re-upload of its file as "the same file".
ALTER TABLE bulk_loads ALTER COLUMN content_hash DROP NOT NULL;
UPDATE bulk_loads SET content_hash = NULL WHERE content_hash IS NOT NULL;
COMMENT ON COLUMN bulk_loads.content_hash IS
    'HMAC-SHA256 of format, default professional and file content; never a plain hash (issue 14)';

-- The same for the Idempotency-Key fingerprint of a request (a POST /v1/signals body holds a
-- BSN): an HMAC now (services/gateway/domain.py, request_hash). Claims still running cannot
-- be from a live process after the upgrade: release them. Finished keys keep their stored
-- answer without a fingerprint (replayed without the comparison) until they expire (24 h).
ALTER TABLE idempotency_keys ALTER COLUMN request_hash DROP NOT NULL;
DELETE FROM idempotency_keys WHERE status IS NULL;
UPDATE idempotency_keys SET request_hash = NULL WHERE request_hash IS NOT NULL;
