-- BRP link (issue 18): the person's municipality (CBS code) on each signal, set at
-- registration from the BRP and kept current by the daily re-check; NULL when unverified.
-- A death recorded by the re-check (or a region admin) archives signals with 'deceased'.
ALTER TABLE signals ADD COLUMN municipality_code text CHECK (municipality_code ~ '^[0-9]{4}$');
CREATE INDEX signals_municipality ON signals (municipality_code) WHERE status = 'active';
ALTER TABLE signals DROP CONSTRAINT IF EXISTS signals_end_reason_check;
ALTER TABLE signals ADD CONSTRAINT signals_end_reason_check
    CHECK (end_reason IN ('goal_reached', 'other', 'expired', 'deceased'));
