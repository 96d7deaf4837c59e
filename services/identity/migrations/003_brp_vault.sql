-- BRP link (issue 18, docs/adr/0003-brp-link.md): for people with an active signal only,
-- the BSN sealed under a key derived from the KEK, so the daily re-check can ask the BRP.
-- person_key is a keyed hash of the rotation-independent point H(bsn), never the BSN.
-- An entry is deleted when the person dies (ForgetPeople from the re-check), and otherwise
-- when the daily re-check has not asked for it for SLUIS_BRP_VAULT_TTL_HOURS: the re-check
-- asks only for people with an active signal, so the last signal's end ends the entry.
CREATE TABLE brp_vault (
    person_key   bytea       PRIMARY KEY,
    sealed_bsn   bytea       NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    last_seen_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX brp_vault_last_seen ON brp_vault (last_seen_at);
