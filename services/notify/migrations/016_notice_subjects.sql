-- The processing log (docs/adr/0004-processing-log.md): notify logs each mail sent, webhook
-- delivered and inbox item created or read, under the person the notice is about. Notify
-- never sees a pseudonym: match hands it the person sealed for the log (encrypted subject
-- id and lookup tag) with each event, kept here per event until its last item is gone.
-- A family match's notice is about every family member: one row each.
CREATE TABLE notice_subjects (
    event_id    text        NOT NULL,
    match_id    text        NOT NULL,
    subject_id  bytea       NOT NULL,
    subject_tag bytea       NOT NULL,
    created_at  timestamptz NOT NULL,
    PRIMARY KEY (event_id, subject_tag)
);
CREATE INDEX notice_subjects_created ON notice_subjects (created_at);
CREATE INDEX notice_subjects_match ON notice_subjects (match_id);
-- Which organisation an inbox item told (the access document shows organisations).
ALTER TABLE inbox_items ADD COLUMN organisation_id text NOT NULL DEFAULT '';
