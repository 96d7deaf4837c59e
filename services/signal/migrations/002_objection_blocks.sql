-- An upheld objection blocks the organisation from signalling the person again until a region
-- admin lifts it (then the row is deleted: nothing about a lifted block is kept).
CREATE TABLE objection_blocks (
    objection_id    uuid        PRIMARY KEY,
    organisation_id text        NOT NULL,
    pseudonym       text        NOT NULL,
    upheld_at       timestamptz NOT NULL
);
CREATE INDEX objection_blocks_person ON objection_blocks (organisation_id, pseudonym);
