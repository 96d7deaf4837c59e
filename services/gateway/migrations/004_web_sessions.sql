-- Portal sessions kept on the server: the signed cookie only names one. Logging out, "log
-- out everywhere" and a password or TOTP reset revoke them, so a copied cookie stops working.
CREATE TABLE web_sessions (
    id          text        PRIMARY KEY,
    kind        text        NOT NULL CHECK (kind IN ('professional', 'admin')),
    subject_id  uuid        NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    revoked_at  timestamptz
);
CREATE INDEX web_sessions_live ON web_sessions (kind, subject_id) WHERE revoked_at IS NULL;

-- Failed logins per source address and per unknown e-mail address, so unknown accounts lock
-- out exactly like known ones and one source cannot try many accounts. Keys are SHA-256
-- hashes: no address is stored in clear.
CREATE TABLE web_login_throttle (
    key           bytea       PRIMARY KEY,
    failures      integer     NOT NULL DEFAULT 0,
    locked_until  timestamptz,
    updated_at    timestamptz NOT NULL DEFAULT now()
);
