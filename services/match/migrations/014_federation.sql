-- Cross-region matches (issue 19, docs/adr/0005-federation.md).
ALTER TABLE matches DROP CONSTRAINT matches_kind_check;
ALTER TABLE matches ADD CONSTRAINT matches_kind_check CHECK (kind IN ('person', 'family', 'cross-region'));

-- What this region last told each peer about a person (its own pseudonym): the sequence
-- number of the next PeerEvent and the state sent. Deleted with the person's erasure.
CREATE TABLE federation_sent (
    pseudonym  text NOT NULL,
    region     text NOT NULL,
    sequence   bigint NOT NULL,
    state      text NOT NULL CHECK (state IN ('present', 'absent', 'erased', 'moved')),
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (pseudonym, region)
);

-- Events received from peers, kept only until the worker decided on them (seconds): the
-- peer's call is answered before anything is looked up. No pseudonym here, only the token.
CREATE TABLE federation_inbox (
    id           bigserial PRIMARY KEY,
    event_id     text NOT NULL,
    from_region  text NOT NULL,
    payload      bytea NOT NULL,
    traceparent  text NOT NULL DEFAULT '',
    tracestate   text NOT NULL DEFAULT '',
    peer_uri     text NOT NULL DEFAULT '',
    received_at  timestamptz NOT NULL DEFAULT now(),
    UNIQUE (from_region, event_id)
);

-- Event ids already decided on (idempotency across redeliveries); random ids, nobody's data.
CREATE TABLE federation_processed (
    event_id     text NOT NULL,
    from_region  text NOT NULL,
    processed_at timestamptz NOT NULL,
    PRIMARY KEY (from_region, event_id)
);
CREATE INDEX federation_processed_at ON federation_processed (processed_at);

-- A peer's presence on a person this region has an active signal on: only then is it kept.
-- `members` (json list of the peer's PeerMembers) is the peer's contact details.
CREATE TABLE federation_peers (
    pseudonym       text NOT NULL,
    region          text NOT NULL,
    sequence        bigint NOT NULL,
    present         boolean NOT NULL,
    first_signal_at timestamptz,
    members         jsonb NOT NULL DEFAULT '[]',
    updated_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (pseudonym, region)
);

-- Aggregate only: how many peer events were dropped because this region does not have the
-- person (nothing about who).
CREATE TABLE federation_counters (
    region  text NOT NULL,
    name    text NOT NULL,
    value   bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (region, name)
);
