-- Issue 18 bug: a vault row's keys (index and seal) are derived from one KEK version, which
-- the row now records, so a KEK rotation no longer makes it unreadable. `rewrap` moves rows
-- to the newest version; NULL marks rows written before this column (their version is found
-- by trying the known KEKs, newest first).
ALTER TABLE brp_vault ADD COLUMN kek_version integer;
CREATE INDEX brp_vault_kek_version ON brp_vault (kek_version);
