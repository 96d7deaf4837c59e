-- The shared processing-log tables come from services/common/migrations/processing_log.
-- The anomaly report joins a signal's lines (registered, then ended).
CREATE INDEX processing_log_signal ON processing_log ((attributes->>'sluis.signal_id'));
