-- MatchEvents that notify refused as invalid (a permanent refusal, e.g. a recipient without a
-- usable e-mail address). Parked here so that one bad event never blocks the outbox; an
-- operator can inspect them (ids and kinds; the payload holds contact details only).
CREATE TABLE undeliverable_events (
    event_id   text        PRIMARY KEY,
    payload    bytea       NOT NULL,
    reason     text        NOT NULL,
    parked_at  timestamptz NOT NULL DEFAULT now()
);
