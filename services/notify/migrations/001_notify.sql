-- Notify: events received (idempotency), the inbox per professional, the durable delivery
-- queue (e-mail and webhooks), preferences and webhook subscriptions.
-- No BSN and no pseudonym anywhere: contact details of professionals and ids only.

-- One row per event applied: a replayed event finds its row and changes nothing.
CREATE TABLE events_applied (
    event_id    text        PRIMARY KEY,
    kind        text        NOT NULL,
    applied_at  timestamptz NOT NULL
);

CREATE TABLE inbox_items (
    item_id         uuid        PRIMARY KEY,
    professional_id text        NOT NULL,
    event_id        text        NOT NULL,
    kind            text        NOT NULL,
    title           text        NOT NULL,
    body            text        NOT NULL,
    match_id        text        NOT NULL DEFAULT '',
    signal_id       text        NOT NULL DEFAULT '',
    created_at      timestamptz NOT NULL,
    read_at         timestamptz,
    -- the channel 'inbox' of the (event_id, recipient, channel) idempotency key
    UNIQUE (event_id, professional_id)
);
CREATE INDEX inbox_by_professional ON inbox_items (professional_id, created_at DESC, item_id DESC);
CREATE INDEX inbox_unread ON inbox_items (professional_id) WHERE read_at IS NULL;

-- The durable queue. recipient = professional id (email) or webhook id (webhook);
-- address = e-mail address or URL; target = recipient domain or webhook host (what operators see).
CREATE TABLE deliveries (
    delivery_id     uuid        PRIMARY KEY,
    event_id        text        NOT NULL,
    recipient       text        NOT NULL,
    channel         text        NOT NULL CHECK (channel IN ('email', 'webhook')),
    kind            text        NOT NULL,
    address         text        NOT NULL,
    target          text        NOT NULL,
    recipient_name  text        NOT NULL DEFAULT '',
    subject         text        NOT NULL DEFAULT '',
    body_text       text        NOT NULL,
    body_html       text        NOT NULL DEFAULT '',
    summary         text        NOT NULL DEFAULT '',
    state           text        NOT NULL
        CHECK (state IN ('queued', 'retrying', 'sent', 'dead', 'held', 'digested')),
    attempts        integer     NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL,
    last_error      text        NOT NULL DEFAULT '',
    created_at      timestamptz NOT NULL,
    sent_at         timestamptz,
    digest_id       uuid,
    UNIQUE (event_id, recipient, channel)
);
CREATE INDEX deliveries_due ON deliveries (next_attempt_at) WHERE state IN ('queued', 'retrying');
CREATE INDEX deliveries_held ON deliveries (recipient, created_at) WHERE state = 'held';
CREATE INDEX deliveries_dead ON deliveries (created_at, delivery_id) WHERE state = 'dead';

CREATE TABLE preferences (
    professional_id text        PRIMARY KEY,
    digest          text        NOT NULL CHECK (digest IN ('immediate', 'daily')),
    updated_at      timestamptz NOT NULL
);

-- The signing secret is stored encrypted when SLUIS_NOTIFY_SECRET_KEY is set, and is never returned.
CREATE TABLE webhooks (
    webhook_id      uuid        PRIMARY KEY,
    organisation_id text        NOT NULL,
    url             text        NOT NULL,
    kinds           text[]      NOT NULL DEFAULT '{}',
    secret          bytea       NOT NULL,
    secret_wrapped  boolean     NOT NULL,
    created_at      timestamptz NOT NULL
);
CREATE INDEX webhooks_by_organisation ON webhooks (organisation_id);
