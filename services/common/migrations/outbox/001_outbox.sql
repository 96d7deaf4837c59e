-- Transactional outbox: events are written in the same transaction as the change they
-- describe, and a relay delivers them to each destination at least once.
CREATE TABLE outbox (
    id              bigserial PRIMARY KEY,
    destination     text        NOT NULL,
    payload         bytea       NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    attempts        integer     NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX outbox_pending ON outbox (destination, id);
