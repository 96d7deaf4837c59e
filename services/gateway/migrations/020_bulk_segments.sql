-- Issue 21: an upload is staged in sealed segments (services/gateway/staging.py), so neither the
-- upload request nor the bulk worker holds a whole file. A segment's box also seals its job,
-- place and whether it is the last: files staged before this release have no such header, so
-- their jobs fail and the organisation uploads the file again (as in 013).
UPDATE bulk_loads SET state = 'failed', finished_at = now()
    WHERE state IN ('queued', 'running') AND id IN (SELECT bulk_load_id FROM bulk_load_files);
DELETE FROM bulk_load_files;
ALTER TABLE bulk_load_files ADD COLUMN seq integer NOT NULL;
ALTER TABLE bulk_load_files DROP CONSTRAINT bulk_load_files_pkey;
ALTER TABLE bulk_load_files ADD PRIMARY KEY (bulk_load_id, seq);
