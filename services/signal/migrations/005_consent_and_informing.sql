-- Consent by profile and informing per party (issue 22). The one-record columns
-- (informed_party, informed_method, informed_on, postpone_reason) stay as a summary: the
-- party set, the first informed party's method and date, the first postponed party's reason.
ALTER TABLE signals
    ADD COLUMN consent_by                     text CHECK (consent_by IN ('person', 'legal_representative', 'both')),
    ADD COLUMN under_guardianship             boolean NOT NULL DEFAULT false,
    ADD COLUMN representative_reason          text CHECK (representative_reason IN ('guardianship', 'minor')),
    ADD COLUMN person_method                  text CHECK (person_method IN ('in_person', 'phone', 'letter', 'email')),
    ADD COLUMN person_informed_on             date,
    ADD COLUMN person_postpone_reason         text CHECK (person_postpone_reason IN ('safety', 'not_reachable')),
    ADD COLUMN representative_method          text CHECK (representative_method IN ('in_person', 'phone', 'letter', 'email')),
    ADD COLUMN representative_informed_on     date,
    ADD COLUMN representative_postpone_reason text CHECK (representative_postpone_reason IN ('safety', 'not_reachable')),
    -- A postponement reminder was sent: one reminder per signal.
    ADD COLUMN informing_reminded             boolean NOT NULL DEFAULT false;

-- Existing signals: the one record applied to each party it named.
UPDATE signals SET
    person_method          = CASE WHEN informed_party <> 'legal_representative' THEN informed_method END,
    person_informed_on     = CASE WHEN informed_party <> 'legal_representative' THEN informed_on END,
    person_postpone_reason = CASE WHEN informed_party <> 'legal_representative' THEN postpone_reason END,
    representative_method          = CASE WHEN informed_party <> 'person' THEN informed_method END,
    representative_informed_on     = CASE WHEN informed_party <> 'person' THEN informed_on END,
    representative_postpone_reason = CASE WHEN informed_party <> 'person' THEN postpone_reason END;
-- consent_by stays empty on existing signals: whose consent it was was not recorded then.

-- Each recorded party is informed (method and date) or postponed (a reason).
ALTER TABLE signals
    ADD CONSTRAINT signals_person_informed CHECK (
        informed_party = 'legal_representative'
        OR (person_method IS NOT NULL AND person_informed_on IS NOT NULL) <> (person_postpone_reason IS NOT NULL)),
    ADD CONSTRAINT signals_representative_informed CHECK (
        informed_party = 'person'
        OR (representative_method IS NOT NULL AND representative_informed_on IS NOT NULL)
           <> (representative_postpone_reason IS NOT NULL));

-- The reminder job: active signals with a postponed party not yet reminded about.
CREATE INDEX signals_informing_postponed ON signals (registered_at)
    WHERE status = 'active' AND NOT informing_reminded
      AND (person_postpone_reason IS NOT NULL OR representative_postpone_reason IS NOT NULL);
