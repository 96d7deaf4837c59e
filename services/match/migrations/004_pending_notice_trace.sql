-- The trace context of the change that wrote a pending notice: when the notice moves to the
-- outbox later, notify's work continues the registration's trace.
ALTER TABLE pending_notices
    ADD COLUMN traceparent text NOT NULL DEFAULT '',
    ADD COLUMN tracestate  text NOT NULL DEFAULT '';
