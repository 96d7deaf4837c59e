-- Issue 14 row 11: bulk files are staged sealed with a key per job (services/gateway/staging.py),
-- so no BSN reaches this database's files or WAL. Ciphertext does not compress: keep it out of
-- line without trying.
ALTER TABLE bulk_load_files ALTER COLUMN content SET STORAGE EXTERNAL;
-- Files staged before this release are in plain text and have no key: drop them and fail
-- their jobs (the organisation uploads the file again).
UPDATE bulk_loads SET state = 'failed', finished_at = now()
    WHERE state IN ('queued', 'running') AND id IN (SELECT bulk_load_id FROM bulk_load_files);
DELETE FROM bulk_load_files;
