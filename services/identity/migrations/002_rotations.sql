-- Key rotations (issue 3). A retired key is deleted (wrapped set to NULL) when its rotation
-- finishes: old backups of the stores' databases then cannot be linked to BSNs even by
-- someone who later obtains the identity database and the key-encryption key.
ALTER TABLE pseudonym_keys ALTER COLUMN wrapped DROP NOT NULL;
ALTER TABLE pseudonym_keys ADD CONSTRAINT pseudonym_keys_wrapped_unless_retired
    CHECK (state = 'retired' OR wrapped IS NOT NULL);

CREATE TABLE key_rotations (
    rotation_id  uuid        PRIMARY KEY,
    from_version integer     NOT NULL REFERENCES pseudonym_keys (version),
    to_version   integer     NOT NULL REFERENCES pseudonym_keys (version),
    state        text        NOT NULL CHECK (state IN ('in_progress', 'finished')),
    started_at   timestamptz NOT NULL,
    switch_at    timestamptz NOT NULL,
    finished_at  timestamptz,
    CHECK (to_version = from_version + 1),
    CHECK ((state = 'finished') = (finished_at IS NOT NULL))
);
-- Only one rotation at a time.
CREATE UNIQUE INDEX key_rotations_one_in_progress ON key_rotations (state) WHERE state = 'in_progress';
