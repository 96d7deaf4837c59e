-- Signals: "this professional is involved with this person", never why. The person is a
-- regional pseudonym (no BSN here); the professional is a contact snapshot.
CREATE TABLE signals (
    signal_id              uuid        PRIMARY KEY,
    pseudonym              text        NOT NULL,
    birth_date             date        NOT NULL,
    professional_id        text        NOT NULL,
    contact_name           text        NOT NULL,
    contact_role           text        NOT NULL DEFAULT '',
    contact_phone          text        NOT NULL DEFAULT '',
    contact_email          text        NOT NULL,
    organisation_id        text        NOT NULL,
    organisation_name      text        NOT NULL DEFAULT '',
    legal_basis            text        NOT NULL CHECK (legal_basis IN ('consent', 'legal_ground')),
    legal_ground           text        NOT NULL DEFAULT '',
    domains                text[]      NOT NULL DEFAULT '{}',
    may_coordinate         boolean     NOT NULL DEFAULT false,
    informed_party         text        NOT NULL CHECK (informed_party IN ('person', 'legal_representative', 'both')),
    informed_method        text        CHECK (informed_method IN ('in_person', 'phone', 'letter', 'email')),
    informed_on            date,
    postpone_reason        text        CHECK (postpone_reason IN ('safety', 'not_reachable')),
    multi_problem_attested boolean     NOT NULL DEFAULT false,
    consent_given          boolean     NOT NULL DEFAULT false,
    status                 text        NOT NULL CHECK (status IN ('active', 'archived')),
    end_reason             text        CHECK (end_reason IN ('goal_reached', 'other', 'expired')),
    registered_at          timestamptz NOT NULL,
    active_until           timestamptz NOT NULL,
    ended_at               timestamptz,
    delete_after           timestamptz,
    -- The active_until a lapse reminder was sent for: one reminder per active period.
    reminded_for           timestamptz,
    version                integer     NOT NULL DEFAULT 1,
    -- Informed, or postponed for a documented reason: never neither.
    CHECK ((informed_method IS NOT NULL AND informed_on IS NOT NULL) OR postpone_reason IS NOT NULL),
    CHECK ((status = 'active') = (ended_at IS NULL)),
    CHECK (status = 'active' OR delete_after IS NOT NULL)
);

-- One active signal per professional per person; race-safe because the database enforces it.
CREATE UNIQUE INDEX signals_one_active ON signals (professional_id, pseudonym) WHERE status = 'active';
-- A professional's own signals, newest first (ListSignals pages on this order).
CREATE INDEX signals_by_professional ON signals (professional_id, registered_at DESC, signal_id DESC);
-- Access requests: every signal on a person.
CREATE INDEX signals_by_pseudonym ON signals (pseudonym);
-- The lifecycle job: what lapses (and needs a reminder) and what is due for deletion.
CREATE INDEX signals_active_until ON signals (active_until) WHERE status = 'active';
CREATE INDEX signals_delete_after ON signals (delete_after) WHERE status = 'archived';
