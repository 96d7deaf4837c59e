-- The web portal: people log in with e-mail + password + TOTP second factor.
-- One row per person (professional or admin) who may log in to the portal.
CREATE TABLE web_accounts (
    email           text        PRIMARY KEY,
    kind            text        NOT NULL CHECK (kind IN ('professional', 'admin')),
    subject_id      uuid        NOT NULL,
    -- werkzeug scrypt hash; never the password itself.
    password_hash   text        NOT NULL,
    -- base32 TOTP secret (RFC 6238); empty after a reset of the second factor until re-enrolled.
    totp_secret     text        NOT NULL DEFAULT '',
    -- The last TOTP time step accepted: a code can be used only once.
    totp_last_step  bigint      NOT NULL DEFAULT 0,
    failed_logins   integer     NOT NULL DEFAULT 0,
    locked_until    timestamptz,
    created_at      timestamptz NOT NULL DEFAULT now(),
    UNIQUE (kind, subject_id)
);

-- The key that signs portal session cookies when SLUIS_SECRET_KEY is not set: shared by all
-- gunicorn workers and restarts of this deployment.
CREATE TABLE web_secret (
    id         integer     PRIMARY KEY CHECK (id = 1),
    secret_key text        NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);
