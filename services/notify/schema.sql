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
    read_at timestamp with time zone,
    organisation_id text DEFAULT ''::text NOT NULL
);

CREATE TABLE public.notice_subjects (
    event_id text NOT NULL,
    match_id text NOT NULL,
    subject_id bytea NOT NULL,
    subject_tag bytea NOT NULL,
    created_at timestamp with time zone NOT NULL
);

CREATE TABLE public.preferences (
    professional_id text NOT NULL,
    digest text NOT NULL,
    updated_at timestamp with time zone NOT NULL,
    CONSTRAINT preferences_digest_check CHECK ((digest = ANY (ARRAY['immediate'::text, 'daily'::text])))
);

CREATE TABLE public.processing_audit (
    operation_id text NOT NULL,
    trace_id text NOT NULL,
    actor_id text NOT NULL,
    actor_organisation_id text NOT NULL,
    at timestamp with time zone NOT NULL
);

CREATE TABLE public.processing_log (
    id bigint NOT NULL,
    trace_id text NOT NULL,
    operation_id text NOT NULL,
    parent_operation_id text DEFAULT ''::text NOT NULL,
    name text NOT NULL,
    status_code text NOT NULL,
    start_time timestamp with time zone NOT NULL,
    end_time timestamp with time zone NOT NULL,
    resource text NOT NULL,
    processing_activity_id text NOT NULL,
    subject_id bytea NOT NULL,
    subject_tag bytea NOT NULL,
    foreign_trace_id text DEFAULT ''::text NOT NULL,
    foreign_operation_id text DEFAULT ''::text NOT NULL,
    attributes jsonb DEFAULT '{}'::jsonb NOT NULL,
    foreign_entity text DEFAULT ''::text NOT NULL,
    CONSTRAINT processing_log_status_code_check CHECK ((status_code = ANY (ARRAY['ok'::text, 'error'::text, 'unknown'::text])))
);

CREATE SEQUENCE public.processing_log_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;

ALTER SEQUENCE public.processing_log_id_seq OWNED BY public.processing_log.id;

CREATE TABLE public.processing_log_links (
    old_tag bytea NOT NULL,
    new_tag bytea NOT NULL
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

ALTER TABLE ONLY public.processing_log ALTER COLUMN id SET DEFAULT nextval('public.processing_log_id_seq'::regclass);

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

ALTER TABLE ONLY public.notice_subjects
    ADD CONSTRAINT notice_subjects_pkey PRIMARY KEY (event_id, subject_tag);

ALTER TABLE ONLY public.preferences
    ADD CONSTRAINT preferences_pkey PRIMARY KEY (professional_id);

ALTER TABLE ONLY public.processing_audit
    ADD CONSTRAINT processing_audit_pkey PRIMARY KEY (operation_id);

ALTER TABLE ONLY public.processing_log_links
    ADD CONSTRAINT processing_log_links_pkey PRIMARY KEY (old_tag, new_tag);

ALTER TABLE ONLY public.processing_log
    ADD CONSTRAINT processing_log_pkey PRIMARY KEY (id);

ALTER TABLE ONLY public.schema_migrations
    ADD CONSTRAINT schema_migrations_pkey PRIMARY KEY (version);

ALTER TABLE ONLY public.webhooks
    ADD CONSTRAINT webhooks_pkey PRIMARY KEY (webhook_id);

CREATE INDEX deliveries_dead ON public.deliveries USING btree (created_at, delivery_id) WHERE (state = 'dead'::text);

CREATE INDEX deliveries_dead_by_organisation ON public.deliveries USING btree (organisation_id, created_at, delivery_id) WHERE (state = 'dead'::text);

CREATE INDEX deliveries_digest ON public.deliveries USING btree (digest_id) WHERE (digest_id IS NOT NULL);

CREATE INDEX deliveries_due ON public.deliveries USING btree (next_attempt_at) WHERE (state = ANY (ARRAY['queued'::text, 'retrying'::text]));

CREATE INDEX deliveries_finished ON public.deliveries USING btree (created_at) WHERE (state = ANY (ARRAY['sent'::text, 'dead'::text, 'digested'::text]));

CREATE INDEX deliveries_held ON public.deliveries USING btree (recipient, created_at) WHERE (state = 'held'::text);

CREATE INDEX events_applied_at ON public.events_applied USING btree (applied_at);

CREATE INDEX inbox_by_professional ON public.inbox_items USING btree (professional_id, created_at DESC, item_id DESC);

CREATE INDEX inbox_items_created ON public.inbox_items USING btree (created_at);

CREATE INDEX inbox_items_match ON public.inbox_items USING btree (match_id) WHERE (match_id <> ''::text);

CREATE INDEX inbox_items_signal ON public.inbox_items USING btree (signal_id) WHERE (signal_id <> ''::text);

CREATE INDEX inbox_unread ON public.inbox_items USING btree (professional_id) WHERE (read_at IS NULL);

CREATE INDEX notice_subjects_created ON public.notice_subjects USING btree (created_at);

CREATE INDEX notice_subjects_match ON public.notice_subjects USING btree (match_id);

CREATE INDEX processing_audit_at ON public.processing_audit USING btree (at);

CREATE INDEX processing_log_links_new ON public.processing_log_links USING btree (new_tag);

CREATE INDEX processing_log_start ON public.processing_log USING btree (start_time);

CREATE INDEX processing_log_subject ON public.processing_log USING btree (subject_tag);

CREATE INDEX webhooks_by_organisation ON public.webhooks USING btree (organisation_id);
