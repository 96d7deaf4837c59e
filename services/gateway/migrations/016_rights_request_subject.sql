-- Issue 13: every action on a rights request (registered, started, extended, restricted,
-- decided) is a processing of the person's data with its own processing-log line. The
-- register keeps no BSN and no pseudonym; it keeps the person as the log stores them
-- (encrypted subject id and lookup tag, services/common/processing_log.py), taken when the
-- request is registered. Empty for requests registered before.
ALTER TABLE rights_requests
    ADD COLUMN log_subject_id  bytea,
    ADD COLUMN log_subject_tag bytea;
