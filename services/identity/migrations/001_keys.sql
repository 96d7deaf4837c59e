-- Pseudonymisation keys: one scalar per key version, stored only wrapped (encrypted with
-- the key-encryption key from the environment / Kubernetes Secret). No BSN is ever stored.
CREATE TABLE pseudonym_keys (
    version    integer     PRIMARY KEY,
    wrapped    bytea       NOT NULL,
    state      text        NOT NULL CHECK (state IN ('active', 'next', 'retired')),
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX pseudonym_keys_one_active ON pseudonym_keys (state) WHERE state = 'active';
