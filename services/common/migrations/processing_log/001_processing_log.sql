-- The processing log (docs/adr/0004-processing-log.md): one line per processing per person,
-- written in the same transaction as the processing; never altered, removed only by the
-- retention job (docs/retention.md). The person is encrypted (subject_id) and found by a
-- keyed tag (subject_tag); nothing here identifies a person without the log key.
CREATE TABLE processing_log (
    id bigserial PRIMARY KEY,
    trace_id text NOT NULL,
    operation_id text NOT NULL,
    parent_operation_id text NOT NULL DEFAULT '',
    name text NOT NULL,
    status_code text NOT NULL CHECK (status_code IN ('ok', 'error', 'unknown')),
    start_time timestamptz NOT NULL,
    end_time timestamptz NOT NULL,
    resource text NOT NULL,
    processing_activity_id text NOT NULL,
    subject_id bytea NOT NULL,
    subject_tag bytea NOT NULL,
    foreign_trace_id text NOT NULL DEFAULT '',
    foreign_operation_id text NOT NULL DEFAULT '',
    attributes jsonb NOT NULL DEFAULT '{}'
);
CREATE INDEX processing_log_subject ON processing_log (subject_tag);
CREATE INDEX processing_log_start ON processing_log (start_time);

-- Who acted, linked by operation id (the standard keeps users out of log lines).
CREATE TABLE processing_audit (
    operation_id text PRIMARY KEY,
    trace_id text NOT NULL,
    actor_id text NOT NULL,
    actor_organisation_id text NOT NULL,
    at timestamptz NOT NULL
);
CREATE INDEX processing_audit_at ON processing_audit (at);

-- After a pseudonym key rotation: the person's new tag leads to their earlier lines.
CREATE TABLE processing_log_links (
    old_tag bytea NOT NULL,
    new_tag bytea NOT NULL,
    PRIMARY KEY (old_tag, new_tag)
);
CREATE INDEX processing_log_links_new ON processing_log_links (new_tag);
