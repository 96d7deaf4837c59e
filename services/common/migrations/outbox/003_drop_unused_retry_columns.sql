-- The relay never wrote attempts or next_attempt_at: a failing destination is paced as a
-- whole, in memory (services.common.outbox, services.common.backoff), because when one
-- receiver is down every row for it fails alike. Unused columns only misled readers.
ALTER TABLE outbox DROP COLUMN attempts, DROP COLUMN next_attempt_at;
