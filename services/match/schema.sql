CREATE FUNCTION public.involvement_parents_sync() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
BEGIN
    IF TG_OP = 'UPDATE' THEN
        DELETE FROM involvement_parents WHERE signal_id = OLD.signal_id;
    END IF;
    INSERT INTO involvement_parents (parent_pseudonym, signal_id)
        SELECT DISTINCT p, NEW.signal_id FROM unnest(NEW.parent_pseudonyms) AS p;
    RETURN NULL;
END
$$;

CREATE TABLE public.access_log (
    id bigint NOT NULL,
    professional_id text NOT NULL,
    organisation_id text NOT NULL,
    pseudonym text NOT NULL,
    match_id text NOT NULL,
    purpose text NOT NULL,
    outcome text NOT NULL,
    trace_id text NOT NULL,
    read_at timestamp with time zone NOT NULL,
    CONSTRAINT access_log_outcome_check CHECK ((outcome = ANY (ARRAY['granted'::text, 'refused'::text])))
);

CREATE SEQUENCE public.access_log_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;

ALTER SEQUENCE public.access_log_id_seq OWNED BY public.access_log.id;

CREATE TABLE public.coordinator_rules (
    version integer NOT NULL,
    organisation_priority text[] NOT NULL,
    domain_priority text[] NOT NULL,
    created_at timestamp with time zone NOT NULL,
    created_by text NOT NULL
);

CREATE TABLE public.erased_signals (
    signal_hash bytea NOT NULL,
    erased_at timestamp with time zone NOT NULL
);

CREATE TABLE public.federation_counters (
    region text NOT NULL,
    name text NOT NULL,
    value bigint DEFAULT 0 NOT NULL
);

CREATE TABLE public.federation_inbox (
    id bigint NOT NULL,
    event_id text NOT NULL,
    from_region text NOT NULL,
    payload bytea NOT NULL,
    traceparent text DEFAULT ''::text NOT NULL,
    tracestate text DEFAULT ''::text NOT NULL,
    peer_uri text DEFAULT ''::text NOT NULL,
    received_at timestamp with time zone DEFAULT now() NOT NULL
);

CREATE SEQUENCE public.federation_inbox_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;

ALTER SEQUENCE public.federation_inbox_id_seq OWNED BY public.federation_inbox.id;

CREATE TABLE public.federation_peers (
    pseudonym text NOT NULL,
    region text NOT NULL,
    sequence bigint NOT NULL,
    present boolean NOT NULL,
    first_signal_at timestamp with time zone,
    members jsonb DEFAULT '[]'::jsonb NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL
);

CREATE TABLE public.federation_processed (
    event_id text NOT NULL,
    from_region text NOT NULL,
    processed_at timestamp with time zone NOT NULL
);

CREATE TABLE public.federation_sent (
    pseudonym text NOT NULL,
    region text NOT NULL,
    sequence bigint NOT NULL,
    state text NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT federation_sent_state_check CHECK ((state = ANY (ARRAY['present'::text, 'absent'::text, 'erased'::text, 'moved'::text])))
);

CREATE TABLE public.involvement_parents (
    parent_pseudonym text NOT NULL,
    signal_id text NOT NULL
);

CREATE TABLE public.involvements (
    signal_id text NOT NULL,
    pseudonym text NOT NULL,
    professional_id text NOT NULL,
    name text DEFAULT ''::text NOT NULL,
    role text DEFAULT ''::text NOT NULL,
    phone text DEFAULT ''::text NOT NULL,
    email text DEFAULT ''::text NOT NULL,
    organisation_id text NOT NULL,
    organisation_name text DEFAULT ''::text NOT NULL,
    may_coordinate boolean NOT NULL,
    domains text[] DEFAULT '{}'::text[] NOT NULL,
    registered_at timestamp with time zone NOT NULL,
    active boolean NOT NULL,
    version integer NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    parent_pseudonyms text[] DEFAULT '{}'::text[] NOT NULL,
    adult_on date
);

CREATE TABLE public.match_members (
    match_id uuid NOT NULL,
    professional_id text NOT NULL,
    signal_id text NOT NULL,
    name text DEFAULT ''::text NOT NULL,
    role text DEFAULT ''::text NOT NULL,
    phone text DEFAULT ''::text NOT NULL,
    email text DEFAULT ''::text NOT NULL,
    organisation_id text NOT NULL,
    organisation_name text DEFAULT ''::text NOT NULL,
    may_coordinate boolean NOT NULL,
    domains text[] DEFAULT '{}'::text[] NOT NULL,
    registered_at timestamp with time zone NOT NULL,
    joined_at timestamp with time zone NOT NULL,
    left_at timestamp with time zone
);

CREATE TABLE public.matches (
    match_id uuid NOT NULL,
    pseudonym text NOT NULL,
    status text NOT NULL,
    coordinator_professional_id text NOT NULL,
    pending_coordinator_professional_id text DEFAULT ''::text NOT NULL,
    created_at timestamp with time zone NOT NULL,
    closed_at timestamp with time zone,
    takeover_professional_id text DEFAULT ''::text NOT NULL,
    takeover_due_at timestamp with time zone,
    coordinator_offered boolean DEFAULT false NOT NULL,
    offer_due_at timestamp with time zone,
    declined_professional_ids text[] DEFAULT '{}'::text[] NOT NULL,
    kind text DEFAULT 'person'::text NOT NULL,
    CONSTRAINT matches_check CHECK (((status = 'closed'::text) = (closed_at IS NOT NULL))),
    CONSTRAINT matches_kind_check CHECK ((kind = ANY (ARRAY['person'::text, 'family'::text, 'cross-region'::text]))),
    CONSTRAINT matches_status_check CHECK ((status = ANY (ARRAY['open'::text, 'closed'::text])))
);

CREATE TABLE public.outbox (
    id bigint NOT NULL,
    destination text NOT NULL,
    payload bytea NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    traceparent text DEFAULT ''::text NOT NULL,
    tracestate text DEFAULT ''::text NOT NULL
);

CREATE SEQUENCE public.outbox_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;

ALTER SEQUENCE public.outbox_id_seq OWNED BY public.outbox.id;

CREATE TABLE public.pending_notices (
    match_id uuid NOT NULL,
    payload bytea NOT NULL,
    due_at timestamp with time zone NOT NULL,
    traceparent text DEFAULT ''::text NOT NULL,
    tracestate text DEFAULT ''::text NOT NULL
);

CREATE TABLE public.processed_events (
    event_id text NOT NULL,
    processed_at timestamp with time zone DEFAULT now() NOT NULL
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

CREATE TABLE public.undeliverable_events (
    event_id text NOT NULL,
    payload bytea NOT NULL,
    reason text NOT NULL,
    parked_at timestamp with time zone DEFAULT now() NOT NULL
);

ALTER TABLE ONLY public.access_log ALTER COLUMN id SET DEFAULT nextval('public.access_log_id_seq'::regclass);

ALTER TABLE ONLY public.federation_inbox ALTER COLUMN id SET DEFAULT nextval('public.federation_inbox_id_seq'::regclass);

ALTER TABLE ONLY public.outbox ALTER COLUMN id SET DEFAULT nextval('public.outbox_id_seq'::regclass);

ALTER TABLE ONLY public.processing_log ALTER COLUMN id SET DEFAULT nextval('public.processing_log_id_seq'::regclass);

ALTER TABLE ONLY public.access_log
    ADD CONSTRAINT access_log_pkey PRIMARY KEY (id);

ALTER TABLE ONLY public.coordinator_rules
    ADD CONSTRAINT coordinator_rules_pkey PRIMARY KEY (version);

ALTER TABLE ONLY public.erased_signals
    ADD CONSTRAINT erased_signals_pkey PRIMARY KEY (signal_hash);

ALTER TABLE ONLY public.federation_counters
    ADD CONSTRAINT federation_counters_pkey PRIMARY KEY (region, name);

ALTER TABLE ONLY public.federation_inbox
    ADD CONSTRAINT federation_inbox_from_region_event_id_key UNIQUE (from_region, event_id);

ALTER TABLE ONLY public.federation_inbox
    ADD CONSTRAINT federation_inbox_pkey PRIMARY KEY (id);

ALTER TABLE ONLY public.federation_peers
    ADD CONSTRAINT federation_peers_pkey PRIMARY KEY (pseudonym, region);

ALTER TABLE ONLY public.federation_processed
    ADD CONSTRAINT federation_processed_pkey PRIMARY KEY (from_region, event_id);

ALTER TABLE ONLY public.federation_sent
    ADD CONSTRAINT federation_sent_pkey PRIMARY KEY (pseudonym, region);

ALTER TABLE ONLY public.involvement_parents
    ADD CONSTRAINT involvement_parents_pkey PRIMARY KEY (parent_pseudonym, signal_id);

ALTER TABLE ONLY public.involvements
    ADD CONSTRAINT involvements_pkey PRIMARY KEY (signal_id);

ALTER TABLE ONLY public.match_members
    ADD CONSTRAINT match_members_pkey PRIMARY KEY (match_id, professional_id);

ALTER TABLE ONLY public.matches
    ADD CONSTRAINT matches_pkey PRIMARY KEY (match_id);

ALTER TABLE ONLY public.outbox
    ADD CONSTRAINT outbox_pkey PRIMARY KEY (id);

ALTER TABLE ONLY public.pending_notices
    ADD CONSTRAINT pending_notices_pkey PRIMARY KEY (match_id);

ALTER TABLE ONLY public.processed_events
    ADD CONSTRAINT processed_events_pkey PRIMARY KEY (event_id);

ALTER TABLE ONLY public.processing_audit
    ADD CONSTRAINT processing_audit_pkey PRIMARY KEY (operation_id);

ALTER TABLE ONLY public.processing_log_links
    ADD CONSTRAINT processing_log_links_pkey PRIMARY KEY (old_tag, new_tag);

ALTER TABLE ONLY public.processing_log
    ADD CONSTRAINT processing_log_pkey PRIMARY KEY (id);

ALTER TABLE ONLY public.schema_migrations
    ADD CONSTRAINT schema_migrations_pkey PRIMARY KEY (version);

ALTER TABLE ONLY public.undeliverable_events
    ADD CONSTRAINT undeliverable_events_pkey PRIMARY KEY (event_id);

CREATE INDEX access_log_pseudonym ON public.access_log USING btree (pseudonym, read_at);

CREATE INDEX access_log_read_at ON public.access_log USING btree (read_at);

CREATE INDEX erased_signals_at ON public.erased_signals USING btree (erased_at);

CREATE INDEX federation_processed_at ON public.federation_processed USING btree (processed_at);

CREATE INDEX involvement_parents_signal ON public.involvement_parents USING btree (signal_id);

CREATE INDEX involvements_professional ON public.involvements USING btree (professional_id, registered_at);

CREATE INDEX involvements_pseudonym ON public.involvements USING btree (pseudonym);

CREATE INDEX match_members_organisation ON public.match_members USING btree (organisation_id, match_id);

CREATE INDEX match_members_professional ON public.match_members USING btree (professional_id) WHERE (left_at IS NULL);

CREATE INDEX match_members_signal ON public.match_members USING btree (signal_id);

CREATE INDEX matches_closed_at ON public.matches USING btree (closed_at) WHERE (status = 'closed'::text);

CREATE INDEX matches_created_at ON public.matches USING btree (created_at);

CREATE INDEX matches_offer_due ON public.matches USING btree (offer_due_at) WHERE ((status = 'open'::text) AND (offer_due_at IS NOT NULL));

CREATE UNIQUE INDEX matches_one_open_per_person_and_kind ON public.matches USING btree (pseudonym, kind) WHERE (status = 'open'::text);

CREATE INDEX matches_pseudonym ON public.matches USING btree (pseudonym, created_at);

CREATE INDEX matches_takeover_due ON public.matches USING btree (takeover_due_at) WHERE ((status = 'open'::text) AND (takeover_due_at IS NOT NULL));

CREATE INDEX outbox_pending ON public.outbox USING btree (destination, id);

CREATE INDEX pending_notices_due ON public.pending_notices USING btree (due_at);

CREATE INDEX processing_audit_at ON public.processing_audit USING btree (at);

CREATE INDEX processing_log_links_new ON public.processing_log_links USING btree (new_tag);

CREATE INDEX processing_log_start ON public.processing_log USING btree (start_time);

CREATE INDEX processing_log_subject ON public.processing_log USING btree (subject_tag);

CREATE TRIGGER involvement_parents_insert AFTER INSERT ON public.involvements FOR EACH ROW WHEN ((new.parent_pseudonyms <> '{}'::text[])) EXECUTE FUNCTION public.involvement_parents_sync();

CREATE TRIGGER involvement_parents_update AFTER UPDATE OF parent_pseudonyms ON public.involvements FOR EACH ROW WHEN ((old.parent_pseudonyms IS DISTINCT FROM new.parent_pseudonyms)) EXECUTE FUNCTION public.involvement_parents_sync();

ALTER TABLE ONLY public.involvement_parents
    ADD CONSTRAINT involvement_parents_signal_id_fkey FOREIGN KEY (signal_id) REFERENCES public.involvements(signal_id) ON DELETE CASCADE;

ALTER TABLE ONLY public.match_members
    ADD CONSTRAINT match_members_match_id_fkey FOREIGN KEY (match_id) REFERENCES public.matches(match_id);
