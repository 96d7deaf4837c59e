CREATE TABLE public.brp_vault (
    person_key bytea NOT NULL,
    sealed_bsn bytea NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    last_seen_at timestamp with time zone DEFAULT now() NOT NULL,
    kek_version integer
);

CREATE TABLE public.key_rotations (
    rotation_id uuid NOT NULL,
    from_version integer NOT NULL,
    to_version integer NOT NULL,
    state text NOT NULL,
    started_at timestamp with time zone NOT NULL,
    switch_at timestamp with time zone NOT NULL,
    finished_at timestamp with time zone,
    CONSTRAINT key_rotations_check CHECK ((to_version = (from_version + 1))),
    CONSTRAINT key_rotations_check1 CHECK (((state = 'finished'::text) = (finished_at IS NOT NULL))),
    CONSTRAINT key_rotations_state_check CHECK ((state = ANY (ARRAY['in_progress'::text, 'finished'::text])))
);

CREATE TABLE public.pseudonym_keys (
    version integer NOT NULL,
    wrapped bytea,
    state text NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT pseudonym_keys_state_check CHECK ((state = ANY (ARRAY['active'::text, 'next'::text, 'retired'::text]))),
    CONSTRAINT pseudonym_keys_wrapped_unless_retired CHECK (((state = 'retired'::text) OR (wrapped IS NOT NULL)))
);

CREATE TABLE public.schema_migrations (
    version text NOT NULL,
    applied_at timestamp with time zone DEFAULT now() NOT NULL
);

ALTER TABLE ONLY public.brp_vault
    ADD CONSTRAINT brp_vault_pkey PRIMARY KEY (person_key);

ALTER TABLE ONLY public.key_rotations
    ADD CONSTRAINT key_rotations_pkey PRIMARY KEY (rotation_id);

ALTER TABLE ONLY public.pseudonym_keys
    ADD CONSTRAINT pseudonym_keys_pkey PRIMARY KEY (version);

ALTER TABLE ONLY public.schema_migrations
    ADD CONSTRAINT schema_migrations_pkey PRIMARY KEY (version);

CREATE INDEX brp_vault_kek_version ON public.brp_vault USING btree (kek_version);

CREATE INDEX brp_vault_last_seen ON public.brp_vault USING btree (last_seen_at);

CREATE UNIQUE INDEX key_rotations_one_in_progress ON public.key_rotations USING btree (state) WHERE (state = 'in_progress'::text);

CREATE UNIQUE INDEX pseudonym_keys_one_active ON public.pseudonym_keys USING btree (state) WHERE (state = 'active'::text);

ALTER TABLE ONLY public.key_rotations
    ADD CONSTRAINT key_rotations_from_version_fkey FOREIGN KEY (from_version) REFERENCES public.pseudonym_keys(version);

ALTER TABLE ONLY public.key_rotations
    ADD CONSTRAINT key_rotations_to_version_fkey FOREIGN KEY (to_version) REFERENCES public.pseudonym_keys(version);
