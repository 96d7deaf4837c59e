-- The trace context of the event that queued a delivery: sending the mail or webhook (also a
-- retry hours later) is a span in the registration's trace.
ALTER TABLE deliveries
    ADD COLUMN traceparent text NOT NULL DEFAULT '',
    ADD COLUMN tracestate  text NOT NULL DEFAULT '';
