-- Issue 16: restriction of processing (AVG art. 18). A restricted signal stays stored, but
-- match does not disclose it (SignalEvent.restricted) until a region admin lifts it.
ALTER TABLE signals ADD COLUMN restricted boolean NOT NULL DEFAULT false;
