-- Statistics (issue 16): counting per month of registration and of ending.
CREATE INDEX signals_registered_at ON signals (registered_at);
CREATE INDEX signals_ended_at ON signals (ended_at) WHERE ended_at IS NOT NULL;
