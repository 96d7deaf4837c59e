-- The W3C trace context (traceparent, tracestate) of the transaction that wrote the event,
-- so the receiver's work continues the same trace. Empty for rows written before.
ALTER TABLE outbox
    ADD COLUMN traceparent text NOT NULL DEFAULT '',
    ADD COLUMN tracestate  text NOT NULL DEFAULT '';
