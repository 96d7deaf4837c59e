CREATE TABLE public.deliveries (
    delivery_id uuid NOT NULL,
    event_id text NOT NULL,
    recipient text NOT NULL,
    channel text NOT NULL,
    kind text NOT NULL,
    address text NOT NULL,
    target text NOT NULL,
    recipient_name text DEFAULT ''::text NOT NULL,
    subject text DEFAULT ''::text NOT NULL,
    body_text text NOT NULL,
    body_html text DEFAULT ''::text NOT NULL,
    summary text DEFAULT ''::text NOT NULL,
    state text NOT NULL,
    attempts integer DEFAULT 0 NOT NULL,
    next_attempt_at timestamp with time zone NOT NULL,
    last_error text DEFAULT ''::text NOT NULL,
    created_at timestamp with time zone NOT NULL,
    sent_at timestamp with time zone,
    digest_id uuid,
    traceparent text DEFAULT ''::text NOT NULL,
    tracestate text DEFAULT ''::text NOT NULL,
    organisation_id text DEFAULT ''::text NOT NULL,
    CONSTRAINT deliveries_channel_check CHECK ((channel = ANY (ARRAY['email'::text, 'webhook'::text]))),
    CONSTRAINT deliveries_state_check CHECK ((state = ANY (ARRAY['queued'::text, 'retrying'::text, 'sent'::text, 'dead'::text, 'held'::text, 'digested'::text])))
);

CREATE TABLE public.events_applied (
    event_id text NOT NULL,
    kind text NOT NULL,
    applied_at timestamp with time zone NOT NULL
);

CREATE TABLE public.inbox_items (
    item_id uuid NOT NULL,
    professional_id text NOT NULL,
    event_id text NOT NULL,
    kind text NOT NULL,
    title text NOT NULL,
    body text NOT NULL,
    match_id text DEFAULT ''::text NOT NULL,
    signal_id text DEFAULT ''::text NOT NULL,
    created_at timestamp with time zone NOT NULL,
    read_at timestamp with time zone
);

CREATE TABLE public.preferences (
    professional_id text NOT NULL,
    digest text NOT NULL,
    updated_at timestamp with time zone NOT NULL,
    CONSTRAINT preferences_digest_check CHECK ((digest = ANY (ARRAY['immediate'::text, 'daily'::text])))
);

CREATE TABLE public.schema_migrations (
    version text NOT NULL,
    applied_at timestamp with time zone DEFAULT now() NOT NULL
);

CREATE TABLE public.webhooks (
    webhook_id uuid NOT NULL,
    organisation_id text NOT NULL,
    url text NOT NULL,
    kinds text[] DEFAULT '{}'::text[] NOT NULL,
    secret bytea NOT NULL,
    secret_wrapped boolean NOT NULL,
    created_at timestamp with time zone NOT NULL
);

ALTER TABLE ONLY public.deliveries
    ADD CONSTRAINT deliveries_event_id_recipient_channel_key UNIQUE (event_id, recipient, channel);

ALTER TABLE ONLY public.deliveries
    ADD CONSTRAINT deliveries_pkey PRIMARY KEY (delivery_id);

ALTER TABLE ONLY public.events_applied
    ADD CONSTRAINT events_applied_pkey PRIMARY KEY (event_id);

ALTER TABLE ONLY public.inbox_items
    ADD CONSTRAINT inbox_items_event_id_professional_id_key UNIQUE (event_id, professional_id);

ALTER TABLE ONLY public.inbox_items
    ADD CONSTRAINT inbox_items_pkey PRIMARY KEY (item_id);

ALTER TABLE ONLY public.preferences
    ADD CONSTRAINT preferences_pkey PRIMARY KEY (professional_id);

ALTER TABLE ONLY public.schema_migrations
    ADD CONSTRAINT schema_migrations_pkey PRIMARY KEY (version);

ALTER TABLE ONLY public.webhooks
    ADD CONSTRAINT webhooks_pkey PRIMARY KEY (webhook_id);

CREATE INDEX deliveries_dead ON public.deliveries USING btree (created_at, delivery_id) WHERE (state = 'dead'::text);

CREATE INDEX deliveries_dead_by_organisation ON public.deliveries USING btree (organisation_id, created_at, delivery_id) WHERE (state = 'dead'::text);

CREATE INDEX deliveries_due ON public.deliveries USING btree (next_attempt_at) WHERE (state = ANY (ARRAY['queued'::text, 'retrying'::text]));

CREATE INDEX deliveries_finished ON public.deliveries USING btree (created_at) WHERE (state = ANY (ARRAY['sent'::text, 'dead'::text, 'digested'::text]));

CREATE INDEX deliveries_held ON public.deliveries USING btree (recipient, created_at) WHERE (state = 'held'::text);

CREATE INDEX events_applied_at ON public.events_applied USING btree (applied_at);

CREATE INDEX inbox_by_professional ON public.inbox_items USING btree (professional_id, created_at DESC, item_id DESC);

CREATE INDEX inbox_items_created ON public.inbox_items USING btree (created_at);

CREATE INDEX inbox_items_match ON public.inbox_items USING btree (match_id) WHERE (match_id <> ''::text);

CREATE INDEX inbox_items_signal ON public.inbox_items USING btree (signal_id) WHERE (signal_id <> ''::text);

CREATE INDEX inbox_unread ON public.inbox_items USING btree (professional_id) WHERE (read_at IS NULL);

CREATE INDEX webhooks_by_organisation ON public.webhooks USING btree (organisation_id);
