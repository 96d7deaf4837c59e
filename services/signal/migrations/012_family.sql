-- Family matches (issue 18): the pseudonyms of the person's parents as identity derived them
-- from the BRP at registration (empty when unverified). Signal only passes them on to match
-- in its events, with the day the person turns 18; they go with the signal row.
ALTER TABLE signals ADD COLUMN parent_pseudonyms text[] NOT NULL DEFAULT '{}';
