-- BRP link (issue 18): the person's municipality (CBS code) on each signal, set at
-- registration from the BRP and kept current by the daily re-check; NULL when unverified.
-- A death seen by the re-check archives signals with 'deceased' (allowed since 003).
ALTER TABLE signals ADD COLUMN municipality_code text CHECK (municipality_code ~ '^[0-9]{4}$');
CREATE INDEX signals_municipality ON signals (municipality_code) WHERE status = 'active';
