-- Accounts by invitation (issue 16): one-time links, recovery codes, and the organisation
-- lifecycle (covenant, suspended, offboarded).

-- A one-time link to set a password and the second factor (invitation or admin reset), or to
-- confirm a new e-mail address. Only a SHA-256 of the token is stored: the link is the secret.
CREATE TABLE invitations (
    id           uuid        PRIMARY KEY,
    token_hash   bytea       NOT NULL UNIQUE,
    purpose      text        NOT NULL CHECK (purpose IN ('invitation', 'reset', 'email')),
    kind         text        NOT NULL CHECK (kind IN ('professional', 'admin')),
    subject_id   uuid        NOT NULL,
    -- The address the link was sent to (for 'email': the new address to confirm).
    email        text        NOT NULL,
    invited_by   text        NOT NULL DEFAULT '',
    created_at   timestamptz NOT NULL,
    expires_at   timestamptz NOT NULL,
    used_at      timestamptz,
    revoked_at   timestamptz
);
CREATE INDEX invitations_subject ON invitations (kind, subject_id);
CREATE INDEX invitations_created ON invitations (created_at);

-- Recovery codes for a lost authenticator: scrypt hashes, each usable once at login.
CREATE TABLE recovery_codes (
    id          bigserial   PRIMARY KEY,
    kind        text        NOT NULL CHECK (kind IN ('professional', 'admin')),
    subject_id  uuid        NOT NULL,
    code_hash   text        NOT NULL,
    used_at     timestamptz
);
CREATE INDEX recovery_codes_subject ON recovery_codes (kind, subject_id) WHERE used_at IS NULL;

ALTER TABLE organisations ADD COLUMN covenant_date date;
ALTER TABLE organisations ADD COLUMN status text NOT NULL DEFAULT 'active'
    CHECK (status IN ('active', 'suspended', 'offboarded'));
ALTER TABLE organisations ADD COLUMN status_changed_at timestamptz;
