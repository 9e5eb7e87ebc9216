-- Tables of the reference upstream core. Applied at every start, so every statement is idempotent.
-- Names are unqualified: the server runs this with search_path set to its own schema
-- (UPSTREAM_SCHEMA, default upstream_core), under an advisory lock so that two starting processes
-- do not race on CREATE ... IF NOT EXISTS.

CREATE TABLE IF NOT EXISTS organisations (
  id          text PRIMARY KEY DEFAULT gen_random_uuid()::text,
  name        text NOT NULL,
  -- A root organisation has a channel and no parent; a sub-organisation has a root and no channel
  -- (its channel is its root's).
  channel     text UNIQUE,
  root_org_id text REFERENCES organisations (id),
  status      text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'inactive')),
  created_at  timestamptz NOT NULL DEFAULT now(),
  updated_at  timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT organisations_root_xor_sub CHECK ((channel IS NULL) <> (root_org_id IS NULL))
);

CREATE TABLE IF NOT EXISTS users (
  id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  -- The platform's (Keycloak's) user id. NULL for an upstream-only member until lazy migration links
  -- it. Unique over all rows, deleted ones included: it is what makes create idempotent.
  external_id   text UNIQUE,
  username      text CHECK (username = lower(username)),
  first_name    text NOT NULL,
  last_name     text,
  email         text CHECK (email = lower(email)),
  phone         text CHECK (phone ~ '^\+[1-9][0-9]{6,14}$'),
  status        text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'inactive', 'deleted')),
  -- scrypt$N$r$p$salt$hash (base64url); NULL when the member has no password here.
  password_hash text,
  created_at    timestamptz NOT NULL DEFAULT now(),
  updated_at    timestamptz NOT NULL DEFAULT now()
);

-- Identifiers are unique among users that are not deleted: a soft-deleted user keeps its identifiers
-- for history, and they become free for someone else.
CREATE UNIQUE INDEX IF NOT EXISTS users_username_live_key ON users (username) WHERE status <> 'deleted';
CREATE UNIQUE INDEX IF NOT EXISTS users_email_live_key ON users (email) WHERE status <> 'deleted';
CREATE UNIQUE INDEX IF NOT EXISTS users_phone_live_key ON users (phone) WHERE status <> 'deleted';

CREATE TABLE IF NOT EXISTS memberships (
  user_id         uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  organisation_id text NOT NULL REFERENCES organisations (id),
  roles           text[] NOT NULL CHECK (cardinality(roles) > 0),
  created_at      timestamptz NOT NULL DEFAULT now(),
  updated_at      timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (user_id, organisation_id)
);

CREATE TABLE IF NOT EXISTS kba_questions (
  user_id     uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  question_id text NOT NULL,
  position    integer NOT NULL,
  text        text NOT NULL,
  -- scrypt hash of the normalised answer, same format as users.password_hash.
  answer_hash text NOT NULL,
  PRIMARY KEY (user_id, question_id)
);

-- Identity verification by KBA for people who are not members yet (partner enrollment, seed 003): the
-- people the core can verify (its bureau file, seeded by PUT /v1/identity-records/{id}), their
-- out-of-wallet questions, and one row per verification session (answered at most 3 times).
CREATE TABLE IF NOT EXISTS identity_records (
  id          text PRIMARY KEY,
  first_name  text NOT NULL,
  last_name   text NOT NULL,
  dob         date NOT NULL,
  ssn_last4   text CHECK (ssn_last4 ~ '^[0-9]{4}$'),
  created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS identity_records_person_idx ON identity_records (lower(first_name), lower(last_name), dob);

CREATE TABLE IF NOT EXISTS identity_record_questions (
  record_id   text NOT NULL REFERENCES identity_records (id) ON DELETE CASCADE,
  question_id text NOT NULL,
  position    integer NOT NULL,
  text        text NOT NULL,
  answer_hash text NOT NULL,
  PRIMARY KEY (record_id, question_id)
);

CREATE TABLE IF NOT EXISTS identity_verifications (
  id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  record_id   text NOT NULL REFERENCES identity_records (id) ON DELETE CASCADE,
  attempts    integer NOT NULL DEFAULT 0,
  status      text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'passed', 'failed')),
  expires_at  timestamptz NOT NULL,
  created_at  timestamptz NOT NULL DEFAULT now()
);

-- Changes applied with an Idempotency-Key (the platform's outbox row ids): the first request with a
-- key is applied and its answer recorded; a repeat gets the recorded answer and changes nothing. `seq`
-- orders the applied changes (what a test reads to check order and exactly-once delivery).
CREATE TABLE IF NOT EXISTS applied_changes (
  idempotency_key text PRIMARY KEY,
  seq             bigserial NOT NULL,
  operation       text NOT NULL,
  user_id         uuid NOT NULL,
  response        jsonb NOT NULL,
  applied_at      timestamptz NOT NULL DEFAULT clock_timestamp()
);

-- The change feed of what decides the roles a platform user carries (GET /v1/membership-changes): one
-- row per change of a user's memberships or roles, status, or link to the platform (external_id), written
-- in the transaction of the change. Readers follow `seq`; writers take an advisory lock before inserting
-- (store.ts recordMembershipChange), so rows commit in seq order and a reader past seq N never finds a
-- smaller seq committed later. `external_id` is the user's platform id at the time (NULL: not linked).
CREATE TABLE IF NOT EXISTS membership_changes (
  seq         bigserial PRIMARY KEY,
  user_id     uuid NOT NULL,
  external_id text,
  changed_at  timestamptz NOT NULL DEFAULT clock_timestamp()
);
