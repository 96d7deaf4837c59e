-- Match keeps its own copy of every signal it heard of (an involvement): enough to decide
-- matches and coordinators and to show contact details, never why a professional is involved.
CREATE TABLE involvements (
    signal_id         text        PRIMARY KEY,
    pseudonym         text        NOT NULL,
    professional_id   text        NOT NULL,
    name              text        NOT NULL DEFAULT '',
    role              text        NOT NULL DEFAULT '',
    phone             text        NOT NULL DEFAULT '',
    email             text        NOT NULL DEFAULT '',
    organisation_id   text        NOT NULL,
    organisation_name text        NOT NULL DEFAULT '',
    may_coordinate    boolean     NOT NULL,
    domains           text[]      NOT NULL DEFAULT '{}',
    registered_at     timestamptz NOT NULL,
    active            boolean     NOT NULL,
    -- The signal version this row reflects: older or repeated events are ignored.
    version           integer     NOT NULL,
    updated_at        timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX involvements_pseudonym ON involvements (pseudonym);
CREATE INDEX involvements_professional ON involvements (professional_id, registered_at);

-- Signal events already applied (at-least-once delivery): written in the same transaction
-- as their effect, so a redelivered event is recognised even after a crash.
CREATE TABLE processed_events (
    event_id     text        PRIMARY KEY,
    processed_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE matches (
    match_id                            uuid        PRIMARY KEY,
    pseudonym                           text        NOT NULL,
    status                              text        NOT NULL CHECK (status IN ('open', 'closed')),
    coordinator_professional_id         text        NOT NULL,
    pending_coordinator_professional_id text        NOT NULL DEFAULT '',
    created_at                          timestamptz NOT NULL,
    closed_at                           timestamptz,
    CHECK ((status = 'closed') = (closed_at IS NOT NULL))
);
-- At most one open match per person, whatever happens concurrently.
CREATE UNIQUE INDEX matches_one_open_per_person ON matches (pseudonym) WHERE status = 'open';
CREATE INDEX matches_pseudonym ON matches (pseudonym, created_at);

-- Members of a match (one row per professional); left_at is set when they leave.
CREATE TABLE match_members (
    match_id          uuid        NOT NULL REFERENCES matches (match_id),
    professional_id   text        NOT NULL,
    signal_id         text        NOT NULL,
    name              text        NOT NULL DEFAULT '',
    role              text        NOT NULL DEFAULT '',
    phone             text        NOT NULL DEFAULT '',
    email             text        NOT NULL DEFAULT '',
    organisation_id   text        NOT NULL,
    organisation_name text        NOT NULL DEFAULT '',
    may_coordinate    boolean     NOT NULL,
    domains           text[]      NOT NULL DEFAULT '{}',
    registered_at     timestamptz NOT NULL,
    joined_at         timestamptz NOT NULL,
    left_at           timestamptz,
    PRIMARY KEY (match_id, professional_id)
);
CREATE INDEX match_members_professional ON match_members (professional_id) WHERE left_at IS NULL;

-- Regional coordinator rules, versioned: the newest version applies to new decisions.
CREATE TABLE coordinator_rules (
    version               integer     PRIMARY KEY,
    organisation_priority text[]      NOT NULL,
    domain_priority       text[]      NOT NULL,
    created_at            timestamptz NOT NULL,
    created_by            text        NOT NULL
);

-- Every read of involvement data, granted or refused (NEN 7513 spirit; trace ids link it
-- to the Logboek Dataverwerkingen).
CREATE TABLE access_log (
    id              bigserial   PRIMARY KEY,
    professional_id text        NOT NULL,
    organisation_id text        NOT NULL,
    pseudonym       text        NOT NULL,
    match_id        text        NOT NULL,
    purpose         text        NOT NULL,
    outcome         text        NOT NULL CHECK (outcome IN ('granted', 'refused')),
    trace_id        text        NOT NULL,
    read_at         timestamptz NOT NULL
);
CREATE INDEX access_log_pseudonym ON access_log (pseudonym, read_at);
