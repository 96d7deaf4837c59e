CREATE TABLE public.objection_blocks (
    objection_id uuid NOT NULL,
    organisation_id text NOT NULL,
    pseudonym text NOT NULL,
    upheld_at timestamp with time zone NOT NULL
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

CREATE TABLE public.signal_reviews (
    signal_id uuid NOT NULL,
    organisation_id text NOT NULL,
    reason text DEFAULT ''::text NOT NULL,
    flagged_at timestamp with time zone NOT NULL
);

CREATE TABLE public.signals (
    signal_id uuid NOT NULL,
    pseudonym text NOT NULL,
    birth_date date NOT NULL,
    professional_id text NOT NULL,
    contact_name text NOT NULL,
    contact_role text DEFAULT ''::text NOT NULL,
    contact_phone text DEFAULT ''::text NOT NULL,
    contact_email text NOT NULL,
    organisation_id text NOT NULL,
    organisation_name text DEFAULT ''::text NOT NULL,
    legal_basis text NOT NULL,
    legal_ground text DEFAULT ''::text NOT NULL,
    domains text[] DEFAULT '{}'::text[] NOT NULL,
    may_coordinate boolean DEFAULT false NOT NULL,
    informed_party text NOT NULL,
    informed_method text,
    informed_on date,
    postpone_reason text,
    multi_problem_attested boolean DEFAULT false NOT NULL,
    consent_given boolean DEFAULT false NOT NULL,
    status text NOT NULL,
    end_reason text,
    registered_at timestamp with time zone NOT NULL,
    active_until timestamp with time zone NOT NULL,
    ended_at timestamp with time zone,
    delete_after timestamp with time zone,
    reminded_for timestamp with time zone,
    version integer DEFAULT 1 NOT NULL,
    age_reminded boolean DEFAULT false NOT NULL,
    municipality_code text,
    consent_by text,
    under_guardianship boolean DEFAULT false NOT NULL,
    representative_reason text,
    person_method text,
    person_informed_on date,
    person_postpone_reason text,
    representative_method text,
    representative_informed_on date,
    representative_postpone_reason text,
    informing_reminded boolean DEFAULT false NOT NULL,
    restricted boolean DEFAULT false NOT NULL,
    client_reference text,
    parent_pseudonyms text[] DEFAULT '{}'::text[] NOT NULL,
    CONSTRAINT signals_check CHECK ((((informed_method IS NOT NULL) AND (informed_on IS NOT NULL)) OR (postpone_reason IS NOT NULL))),
    CONSTRAINT signals_check1 CHECK (((status = 'active'::text) = (ended_at IS NULL))),
    CONSTRAINT signals_check2 CHECK (((status = 'active'::text) OR (delete_after IS NOT NULL))),
    CONSTRAINT signals_client_reference_check CHECK (((char_length(client_reference) >= 1) AND (char_length(client_reference) <= 40))),
    CONSTRAINT signals_consent_by_check CHECK ((consent_by = ANY (ARRAY['person'::text, 'legal_representative'::text, 'both'::text]))),
    CONSTRAINT signals_end_reason_check CHECK ((end_reason = ANY (ARRAY['goal_reached'::text, 'other'::text, 'expired'::text, 'aged_out'::text, 'deceased'::text]))),
    CONSTRAINT signals_informed_method_check CHECK ((informed_method = ANY (ARRAY['in_person'::text, 'phone'::text, 'letter'::text, 'email'::text]))),
    CONSTRAINT signals_informed_party_check CHECK ((informed_party = ANY (ARRAY['person'::text, 'legal_representative'::text, 'both'::text]))),
    CONSTRAINT signals_legal_basis_check CHECK ((legal_basis = ANY (ARRAY['consent'::text, 'legal_ground'::text]))),
    CONSTRAINT signals_municipality_code_check CHECK ((municipality_code ~ '^[0-9]{4}$'::text)),
    CONSTRAINT signals_person_informed CHECK (((informed_party = 'legal_representative'::text) OR (((person_method IS NOT NULL) AND (person_informed_on IS NOT NULL)) <> (person_postpone_reason IS NOT NULL)))),
    CONSTRAINT signals_person_method_check CHECK ((person_method = ANY (ARRAY['in_person'::text, 'phone'::text, 'letter'::text, 'email'::text]))),
    CONSTRAINT signals_person_postpone_reason_check CHECK ((person_postpone_reason = ANY (ARRAY['safety'::text, 'not_reachable'::text]))),
    CONSTRAINT signals_postpone_reason_check CHECK ((postpone_reason = ANY (ARRAY['safety'::text, 'not_reachable'::text]))),
    CONSTRAINT signals_representative_informed CHECK (((informed_party = 'person'::text) OR (((representative_method IS NOT NULL) AND (representative_informed_on IS NOT NULL)) <> (representative_postpone_reason IS NOT NULL)))),
    CONSTRAINT signals_representative_method_check CHECK ((representative_method = ANY (ARRAY['in_person'::text, 'phone'::text, 'letter'::text, 'email'::text]))),
    CONSTRAINT signals_representative_postpone_reason_check CHECK ((representative_postpone_reason = ANY (ARRAY['safety'::text, 'not_reachable'::text]))),
    CONSTRAINT signals_representative_reason_check CHECK ((representative_reason = ANY (ARRAY['guardianship'::text, 'minor'::text]))),
    CONSTRAINT signals_status_check CHECK ((status = ANY (ARRAY['active'::text, 'archived'::text])))
);

ALTER TABLE ONLY public.outbox ALTER COLUMN id SET DEFAULT nextval('public.outbox_id_seq'::regclass);

ALTER TABLE ONLY public.processing_log ALTER COLUMN id SET DEFAULT nextval('public.processing_log_id_seq'::regclass);

ALTER TABLE ONLY public.objection_blocks
    ADD CONSTRAINT objection_blocks_pkey PRIMARY KEY (objection_id);

ALTER TABLE ONLY public.outbox
    ADD CONSTRAINT outbox_pkey PRIMARY KEY (id);

ALTER TABLE ONLY public.processing_audit
    ADD CONSTRAINT processing_audit_pkey PRIMARY KEY (operation_id);

ALTER TABLE ONLY public.processing_log_links
    ADD CONSTRAINT processing_log_links_pkey PRIMARY KEY (old_tag, new_tag);

ALTER TABLE ONLY public.processing_log
    ADD CONSTRAINT processing_log_pkey PRIMARY KEY (id);

ALTER TABLE ONLY public.schema_migrations
    ADD CONSTRAINT schema_migrations_pkey PRIMARY KEY (version);

ALTER TABLE ONLY public.signal_reviews
    ADD CONSTRAINT signal_reviews_pkey PRIMARY KEY (signal_id);

ALTER TABLE ONLY public.signals
    ADD CONSTRAINT signals_pkey PRIMARY KEY (signal_id);

CREATE INDEX objection_blocks_person ON public.objection_blocks USING btree (organisation_id, pseudonym);

CREATE INDEX outbox_pending ON public.outbox USING btree (destination, id);

CREATE INDEX processing_audit_at ON public.processing_audit USING btree (at);

CREATE INDEX processing_log_links_new ON public.processing_log_links USING btree (new_tag);

CREATE INDEX processing_log_signal ON public.processing_log USING btree (((attributes ->> 'sluis.signal_id'::text)));

CREATE INDEX processing_log_start ON public.processing_log USING btree (start_time);

CREATE INDEX processing_log_subject ON public.processing_log USING btree (subject_tag);

CREATE INDEX signal_reviews_organisation ON public.signal_reviews USING btree (organisation_id, flagged_at);

CREATE INDEX signals_active_until ON public.signals USING btree (active_until) WHERE (status = 'active'::text);

CREATE INDEX signals_by_professional ON public.signals USING btree (professional_id, registered_at DESC, signal_id DESC);

CREATE INDEX signals_by_pseudonym ON public.signals USING btree (pseudonym);

CREATE INDEX signals_delete_after ON public.signals USING btree (delete_after) WHERE (status = 'archived'::text);

CREATE INDEX signals_ended_at ON public.signals USING btree (ended_at) WHERE (ended_at IS NOT NULL);

CREATE INDEX signals_informing_postponed ON public.signals USING btree (registered_at) WHERE ((status = 'active'::text) AND (NOT informing_reminded) AND ((person_postpone_reason IS NOT NULL) OR (representative_postpone_reason IS NOT NULL)));

CREATE INDEX signals_municipality ON public.signals USING btree (municipality_code) WHERE (status = 'active'::text);

CREATE UNIQUE INDEX signals_one_active ON public.signals USING btree (professional_id, pseudonym) WHERE (status = 'active'::text);

CREATE INDEX signals_registered_at ON public.signals USING btree (registered_at);

CREATE INDEX signals_youth_by_birth ON public.signals USING btree (birth_date) WHERE ((status = 'active'::text) AND (NOT multi_problem_attested));

ALTER TABLE ONLY public.signal_reviews
    ADD CONSTRAINT signal_reviews_signal_id_fkey FOREIGN KEY (signal_id) REFERENCES public.signals(signal_id) ON DELETE CASCADE;
