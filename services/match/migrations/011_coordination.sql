-- Coordination by agreement (issue 17): a take-over request waiting for the coordinator's
-- answer, and a succession offer not yet accepted; the due moments drive the timeouts.
ALTER TABLE matches
    ADD COLUMN takeover_professional_id text        NOT NULL DEFAULT '',
    ADD COLUMN takeover_due_at          timestamptz,
    ADD COLUMN coordinator_offered      boolean     NOT NULL DEFAULT false,
    ADD COLUMN offer_due_at             timestamptz,
    ADD COLUMN declined_professional_ids text[]     NOT NULL DEFAULT '{}';
CREATE INDEX matches_takeover_due ON matches (takeover_due_at) WHERE status = 'open' AND takeover_due_at IS NOT NULL;
CREATE INDEX matches_offer_due ON matches (offer_due_at) WHERE status = 'open' AND offer_due_at IS NOT NULL;
