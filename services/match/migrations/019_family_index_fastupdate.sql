-- The family look-up (parent_pseudonyms && $1) runs for every batch of signal events. With
-- GIN's fast update, new entries wait in a pending list that every look-up scans linearly,
-- so matching slowed down as involvements grew (issue 21). Insert into the index directly.
ALTER INDEX involvements_parents SET (fastupdate = off);
SELECT gin_clean_pending_list('involvements_parents'::regclass);
