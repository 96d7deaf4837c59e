-- Issue 14 row 7: an undeliverable recipient is dead-lettered on its own and its
-- organisation's admin can list it; deliveries remember which organisation they concern.
ALTER TABLE deliveries ADD COLUMN organisation_id text NOT NULL DEFAULT '';
CREATE INDEX deliveries_dead_by_organisation ON deliveries (organisation_id, created_at, delivery_id)
    WHERE state = 'dead';
