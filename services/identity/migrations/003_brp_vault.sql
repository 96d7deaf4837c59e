-- BRP link (issue 18, docs/adr/0003-brp-link.md): for people with an active signal only,
-- the BSN sealed under a key derived from the KEK, so the daily re-check can ask the BRP.
-- person_key is a keyed hash of the rotation-independent point H(bsn), never the BSN.
-- An entry is deleted when the person's last signal ends (ForgetPeople).
CREATE TABLE brp_vault (
    person_key bytea       PRIMARY KEY,
    sealed_bsn bytea       NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);
