-- Family matches (issue 18, docs/adr/0003-brp-link.md). An involvement carries the person's
-- parents' pseudonyms (BRP, verified registrations only) and the day the person turns 18;
-- a match is of kind 'person' (the signals on one person) or 'family' (signals on different
-- members of the family of one parent: the parent and their minor children). A family match
-- keeps that parent's pseudonym in `pseudonym`, so key rotation converts it like any other.
ALTER TABLE involvements
    ADD COLUMN parent_pseudonyms text[] NOT NULL DEFAULT '{}',
    ADD COLUMN adult_on          date;
CREATE INDEX involvements_parents ON involvements USING gin (parent_pseudonyms);

ALTER TABLE matches ADD COLUMN kind text NOT NULL DEFAULT 'person' CHECK (kind IN ('person', 'family'));
-- At most one open match per person, and one open family match per parent.
DROP INDEX matches_one_open_per_person;
CREATE UNIQUE INDEX matches_one_open_per_person_and_kind ON matches (pseudonym, kind) WHERE status = 'open';
