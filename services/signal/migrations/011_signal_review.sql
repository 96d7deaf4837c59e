-- Issue 22: when an organisation's legal basis changes, its active signals wait here for its
-- admin, who confirms (the row goes) or ends the signal (the row goes with it).
CREATE TABLE signal_reviews (
    signal_id       uuid        PRIMARY KEY REFERENCES signals (signal_id) ON DELETE CASCADE,
    organisation_id text        NOT NULL,
    reason          text        NOT NULL DEFAULT '',
    flagged_at      timestamptz NOT NULL
);
CREATE INDEX signal_reviews_organisation ON signal_reviews (organisation_id, flagged_at);
