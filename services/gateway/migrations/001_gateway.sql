-- The gateway's own data: who may call SluiS, for which organisation, and with which profile.
-- No BSN and no pseudonym is ever stored here (bulk files are kept only until processed).

CREATE TABLE organisations (
    id             uuid        PRIMARY KEY,
    region         text        NOT NULL,
    name           text        NOT NULL,
    -- organisatieprofiel
    legal_basis    text        NOT NULL CHECK (legal_basis IN ('consent', 'legalGround')),
    legal_ground   text        NOT NULL DEFAULT '',
    domains        text[]      NOT NULL DEFAULT '{}',
    may_coordinate boolean     NOT NULL DEFAULT false,
    created_at     timestamptz NOT NULL DEFAULT now(),
    UNIQUE (region, name)
);

CREATE TABLE professionals (
    id              uuid        PRIMARY KEY,
    organisation_id uuid        NOT NULL REFERENCES organisations (id),
    name            text        NOT NULL,
    role            text        NOT NULL DEFAULT '',
    phone           text        NOT NULL DEFAULT '',
    email           text        NOT NULL,
    active          boolean     NOT NULL DEFAULT true,
    created_at      timestamptz NOT NULL DEFAULT now(),
    UNIQUE (email)
);
CREATE INDEX professionals_organisation ON professionals (organisation_id);

-- People who administer: organisation admins (with organisation), region admins, operators.
CREATE TABLE admins (
    id              uuid        PRIMARY KEY,
    role            text        NOT NULL CHECK (role IN ('organisationAdmin', 'regionAdmin', 'operator')),
    region          text        NOT NULL,
    organisation_id uuid        REFERENCES organisations (id),
    name            text        NOT NULL,
    email           text        NOT NULL UNIQUE,
    created_at      timestamptz NOT NULL DEFAULT now(),
    CHECK ((role = 'organisationAdmin') = (organisation_id IS NOT NULL))
);

-- API credentials. Only a SHA-256 of the key is stored: keys are long random strings, so a
-- fast hash is enough and lets the gateway look a key up by its hash.
CREATE TABLE api_credentials (
    id              uuid        PRIMARY KEY,
    key_hash        bytea       NOT NULL UNIQUE,
    -- professional: acts as that professional; system: an organisation's case system, acts for
    -- its own professionals (X-Professional-Id); admin: an admin person.
    kind            text        NOT NULL CHECK (kind IN ('professional', 'system', 'admin')),
    region          text        NOT NULL,
    organisation_id uuid        REFERENCES organisations (id),
    professional_id uuid        REFERENCES professionals (id),
    admin_id        uuid        REFERENCES admins (id),
    name            text        NOT NULL DEFAULT '',
    scopes          text[]      NOT NULL DEFAULT '{}',
    created_at      timestamptz NOT NULL DEFAULT now(),
    last_used_at    timestamptz,
    revoked_at      timestamptz,
    -- A rotated key keeps working until then, so systems can switch without downtime.
    expires_at      timestamptz,
    replaced_by     uuid        REFERENCES api_credentials (id)
);
CREATE INDEX api_credentials_organisation ON api_credentials (organisation_id);

-- Idempotency-Key on POST: the first response is stored and replayed.
CREATE TABLE idempotency_keys (
    credential_id uuid        NOT NULL,
    key           text        NOT NULL,
    request_hash  bytea       NOT NULL,
    status        integer,
    headers       jsonb,
    body          bytea,
    created_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (credential_id, key)
);
CREATE INDEX idempotency_keys_created ON idempotency_keys (created_at);

-- Bulk loads: the uploaded file is kept (it holds BSNs) only until the job has finished.
CREATE TABLE bulk_loads (
    id              uuid        PRIMARY KEY,
    organisation_id uuid        NOT NULL REFERENCES organisations (id),
    -- Rows without a professionalId column are registered for this professional.
    professional_id uuid        REFERENCES professionals (id),
    credential_id   uuid        NOT NULL,
    content_hash    bytea       NOT NULL,
    format          text        NOT NULL CHECK (format IN ('csv', 'jsonl')),
    state           text        NOT NULL CHECK (state IN ('queued', 'running', 'matching', 'done', 'failed')),
    rows_total      integer     NOT NULL DEFAULT 0,
    rows_done       integer     NOT NULL DEFAULT 0,
    rows_failed     integer     NOT NULL DEFAULT 0,
    -- Rows below this line number are committed: a restart resumes here.
    next_row        integer     NOT NULL DEFAULT 1,
    created_at      timestamptz NOT NULL DEFAULT now(),
    started_at      timestamptz,
    finished_at     timestamptz,
    heartbeat_at    timestamptz,
    UNIQUE (organisation_id, content_hash)
);

CREATE TABLE bulk_load_files (
    bulk_load_id uuid  PRIMARY KEY REFERENCES bulk_loads (id) ON DELETE CASCADE,
    content      bytea NOT NULL
);

CREATE TABLE bulk_load_errors (
    bulk_load_id uuid    NOT NULL REFERENCES bulk_loads (id) ON DELETE CASCADE,
    row_number   integer NOT NULL,
    reason       text    NOT NULL,
    PRIMARY KEY (bulk_load_id, row_number)
);

-- Who did what through the gateway (ids and codes only).
CREATE TABLE audit_log (
    id            bigserial   PRIMARY KEY,
    at            timestamptz NOT NULL DEFAULT now(),
    credential_id uuid,
    role          text        NOT NULL,
    action        text        NOT NULL,
    target        text        NOT NULL DEFAULT '',
    outcome       text        NOT NULL,
    trace_id      text        NOT NULL DEFAULT ''
);
