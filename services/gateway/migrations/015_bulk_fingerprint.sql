-- Issue 14: bulk_loads.content_hash was a plain SHA-256 of the uploaded file; for a one-row
-- file that can be brute-forced back to the BSN. It is an HMAC now (services/gateway/bulk.py,
-- keyed from the processing log key). The old hashes cannot be converted: the files are gone.
-- Drop them; an old job then no longer catches a re-upload of its file as "the same file".
ALTER TABLE bulk_loads ALTER COLUMN content_hash DROP NOT NULL;
UPDATE bulk_loads SET content_hash = NULL WHERE content_hash IS NOT NULL;
COMMENT ON COLUMN bulk_loads.content_hash IS
    'HMAC-SHA256 of format, default professional and file content; never a plain hash (issue 14)';
