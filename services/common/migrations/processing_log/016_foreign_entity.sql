-- The standard's foreign_operation has three parts: trace id, operation id and a URI naming
-- the other organisation's system that called (the entity). The first two exist already.
ALTER TABLE processing_log ADD COLUMN foreign_entity text NOT NULL DEFAULT '';
