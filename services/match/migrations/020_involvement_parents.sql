-- Issue 21: the family look-up asked the GIN index on involvements.parent_pseudonyms for a
-- whole batch of persons at once (`parent_pseudonyms && $1` with up to 2,000 elements), and a
-- GIN scan's set-up grows with the square of its keys: 0.3 s per batch of 2,000, with nobody's
-- parents in the index at all. The parents now also stand one per row in a B-tree, kept by
-- triggers (only rows that have parents fire them), so the look-up is `= ANY($1)` on an index.
-- The rows go with their involvement (ON DELETE CASCADE: erasure, purge).
CREATE TABLE involvement_parents (
    parent_pseudonym text NOT NULL,
    signal_id        text NOT NULL REFERENCES involvements (signal_id) ON DELETE CASCADE,
    PRIMARY KEY (parent_pseudonym, signal_id)
);
CREATE INDEX involvement_parents_signal ON involvement_parents (signal_id);

CREATE FUNCTION involvement_parents_sync() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' THEN
        DELETE FROM involvement_parents WHERE signal_id = OLD.signal_id;
    END IF;
    INSERT INTO involvement_parents (parent_pseudonym, signal_id)
        SELECT DISTINCT p, NEW.signal_id FROM unnest(NEW.parent_pseudonyms) AS p;
    RETURN NULL;
END
$$;
CREATE TRIGGER involvement_parents_insert AFTER INSERT ON involvements
    FOR EACH ROW WHEN (NEW.parent_pseudonyms <> '{}') EXECUTE FUNCTION involvement_parents_sync();
CREATE TRIGGER involvement_parents_update AFTER UPDATE OF parent_pseudonyms ON involvements
    FOR EACH ROW WHEN (OLD.parent_pseudonyms IS DISTINCT FROM NEW.parent_pseudonyms)
    EXECUTE FUNCTION involvement_parents_sync();

INSERT INTO involvement_parents (parent_pseudonym, signal_id)
    SELECT DISTINCT p, signal_id FROM involvements, unnest(parent_pseudonyms) AS p;
-- Every insert paid for the GIN entry (an "empty" entry for most rows); nothing reads it now.
DROP INDEX involvements_parents;
