-- The signalling organisation's own case or file number (issue 17). Lives only on the
-- signal row, so every path that deletes the signal (unjustified, objection, purge) takes
-- it along; it never travels in an event.
ALTER TABLE signals
    ADD COLUMN client_reference text CHECK (char_length(client_reference) BETWEEN 1 AND 40);
