-- Issue 12: a youth-regime signal (registered without the multi-problem attestation) ends
-- when the person turns 23 (aged_out), the professional reminded once 30 days before; a
-- recorded death ends every signal on the person (deceased). Both are archived, not deleted.
ALTER TABLE signals
    DROP CONSTRAINT signals_end_reason_check,
    ADD CONSTRAINT signals_end_reason_check
        CHECK (end_reason IN ('goal_reached', 'other', 'expired', 'aged_out', 'deceased')),
    ADD COLUMN age_reminded boolean NOT NULL DEFAULT false;
CREATE INDEX signals_youth_by_birth ON signals (birth_date)
    WHERE status = 'active' AND NOT multi_problem_attested;
