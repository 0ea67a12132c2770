-- Have Your Say schema (PostgreSQL). Kept in step with migrations/sqlite: the same tables, columns and rules.
-- Every table that grows with responses, answers in progress or audit records carries the consultation's id
-- (or its organisation's), and on PostgreSQL its primary and unique keys begin with it, so that a distributed
-- PostgreSQL (Citus) can shard those tables without a schema change.

-- The bodies whose officers run consultations: a council, a fire and rescue service, a police force.
CREATE TABLE organisations (
    id BIGSERIAL PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    created_at TIMESTAMP NOT NULL
);

-- Officer accounts. No default account exists: the first admin is made with `haveyoursay user add`.
CREATE TABLE users (
    id BIGSERIAL PRIMARY KEY,
    -- Lower-cased, so that an address is one account however it is typed.
    email TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    role TEXT NOT NULL CHECK (role IN ('admin', 'officer', 'analyst', 'cabinet')),
    organisation_id BIGINT REFERENCES organisations(id),
    -- argon2id in PHC form; NULL while an invited officer has not set one.
    password_hash TEXT,
    disabled BOOLEAN NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    last_signed_in_at TIMESTAMP
);

-- Signed-in sessions, server-side so that every app instance sees them and revocation is immediate. The cookie
-- holds a random id; only its SHA-256 is stored.
CREATE TABLE sessions (
    id_hash TEXT PRIMARY KEY,
    user_id BIGINT NOT NULL REFERENCES users(id),
    created_at TIMESTAMP NOT NULL,
    last_seen_at TIMESTAMP NOT NULL,
    -- The absolute timeout; the idle timeout is counted from last_seen_at.
    expires_at TIMESTAMP NOT NULL
);
CREATE INDEX sessions_user_id ON sessions (user_id);
CREATE INDEX sessions_expires_at ON sessions (expires_at);

-- Personal API tokens, shown once; only their SHA-256 is stored.
CREATE TABLE api_tokens (
    id BIGSERIAL PRIMARY KEY,
    user_id BIGINT NOT NULL REFERENCES users(id),
    label TEXT NOT NULL,
    token_hash TEXT NOT NULL UNIQUE,
    -- The first characters of the token, so that an officer can tell their tokens apart.
    prefix TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    last_used_at TIMESTAMP,
    revoked_at TIMESTAMP
);
CREATE INDEX api_tokens_user_id ON api_tokens (user_id);

-- Failed sign-ins counted per account, per address and per both, shared by every instance.
CREATE TABLE sign_in_throttle (
    key TEXT PRIMARY KEY,
    failures INTEGER NOT NULL,
    window_started_at TIMESTAMP NOT NULL,
    blocked_until TIMESTAMP
);

-- Site-wide settings an admin changes (the shortest consultation that raises no warning, ...) and secrets
-- every instance must share (the key CSRF tokens are made with). Values are JSON.
CREATE TABLE settings (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL,
    updated_at TIMESTAMP NOT NULL
);

-- Pre-election periods, during which a consultation running raises a warning.
CREATE TABLE election_periods (
    id BIGSERIAL PRIMARY KEY,
    name TEXT NOT NULL,
    starts_at TIMESTAMP NOT NULL,
    ends_at TIMESTAMP NOT NULL,
    created_at TIMESTAMP NOT NULL,
    CHECK (ends_at > starts_at)
);

-- A consultation. Its phase follows from these columns and the time: a draft until a version is live, then
-- scheduled, open and closed by opens_at and closes_at, results published once published_results_at is set,
-- and archived once archived_at is.
CREATE TABLE consultations (
    id BIGSERIAL PRIMARY KEY,
    organisation_id BIGINT NOT NULL REFERENCES organisations(id),
    slug TEXT NOT NULL UNIQUE,
    opens_at TIMESTAMP,
    closes_at TIMESTAMP,
    results_visibility TEXT NOT NULL CHECK (results_visibility IN ('officers', 'cabinet', 'public')),
    -- The published version residents answer; NULL while the consultation is a draft.
    live_version_id BIGINT,
    -- "We asked, you said, we did": what was decided, in markdown.
    outcome TEXT,
    results_published_at TIMESTAMP,
    archived_at TIMESTAMP,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    CHECK (closes_at IS NULL OR opens_at IS NULL OR closes_at > opens_at)
);

-- The versions of a consultation's content: title, summary, background, sections, questions and routing,
-- kept whole as JSON (a definition without the consultation's dates and slug). A version is a draft while
-- published_at is NULL, and frozen once published: responses record the version they answered. At most one
-- draft per consultation.
CREATE TABLE questionnaire_versions (
    id BIGSERIAL PRIMARY KEY,
    consultation_id BIGINT NOT NULL REFERENCES consultations(id),
    number INTEGER NOT NULL,
    -- English title and summary, copied from content for lists and search.
    title TEXT NOT NULL,
    summary TEXT NOT NULL,
    content TEXT NOT NULL,
    -- Counts edits of a draft, so that two officers' edits cannot silently overwrite each other.
    revision INTEGER NOT NULL,
    published_at TIMESTAMP,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    UNIQUE (consultation_id, number)
);
CREATE UNIQUE INDEX questionnaire_versions_one_draft ON questionnaire_versions (consultation_id)
    WHERE published_at IS NULL;

CREATE TABLE responses (
    id BIGSERIAL NOT NULL,
    consultation_id BIGINT NOT NULL REFERENCES consultations(id),
    version_id BIGINT NOT NULL REFERENCES questionnaire_versions(id),
    reference TEXT NOT NULL,
    channel TEXT NOT NULL CHECK (channel IN ('online', 'api', 'paper', 'email', 'event')),
    -- The officer who keyed a paper, email or event response; NULL for residents' own.
    entered_by BIGINT REFERENCES users(id),
    idempotency_key TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    submitted_at TIMESTAMP NOT NULL,
    PRIMARY KEY (consultation_id, id),
    UNIQUE (consultation_id, idempotency_key),
    UNIQUE (consultation_id, reference)
);

CREATE TABLE answers (
    id BIGSERIAL NOT NULL,
    consultation_id BIGINT NOT NULL,
    response_id BIGINT NOT NULL,
    question_key TEXT NOT NULL,
    value TEXT NOT NULL,
    other_text TEXT,
    PRIMARY KEY (consultation_id, id),
    UNIQUE (consultation_id, response_id, question_key),
    FOREIGN KEY (consultation_id, response_id) REFERENCES responses (consultation_id, id)
);

-- Running totals per questionnaire version, updated in the same transaction as the responses they count, so a
-- republished questionnaire never merges one version's counts into another's. Each total is split over a few
-- stripes, and each writer adds to its own, so writers (and app instances) never wait for one another's rows;
-- a read sums the stripes, a fixed number of rows whatever the number of responses. row_key names a grid's row
-- ('' for every other kind).
CREATE TABLE response_totals (
    consultation_id BIGINT NOT NULL REFERENCES consultations(id),
    version_id BIGINT NOT NULL REFERENCES questionnaire_versions(id),
    stripe INTEGER NOT NULL,
    responses BIGINT NOT NULL,
    PRIMARY KEY (consultation_id, version_id, stripe)
);

CREATE TABLE question_totals (
    consultation_id BIGINT NOT NULL REFERENCES consultations(id),
    version_id BIGINT NOT NULL,
    question_key TEXT NOT NULL,
    row_key TEXT NOT NULL,
    stripe INTEGER NOT NULL,
    answered BIGINT NOT NULL,
    not_shown BIGINT NOT NULL,
    skipped BIGINT NOT NULL,
    PRIMARY KEY (consultation_id, version_id, question_key, row_key, stripe)
);

CREATE TABLE option_totals (
    consultation_id BIGINT NOT NULL REFERENCES consultations(id),
    version_id BIGINT NOT NULL,
    question_key TEXT NOT NULL,
    row_key TEXT NOT NULL,
    option_key TEXT NOT NULL,
    stripe INTEGER NOT NULL,
    count BIGINT NOT NULL,
    rank_sum BIGINT NOT NULL,
    PRIMARY KEY (consultation_id, version_id, question_key, row_key, option_key, stripe)
);

-- A resident's answers in progress, under the random token in their journey cookie.
CREATE TABLE journeys (
    consultation_id BIGINT NOT NULL REFERENCES consultations(id),
    token TEXT NOT NULL,
    version_id BIGINT NOT NULL REFERENCES questionnaire_versions(id),
    answers TEXT NOT NULL,
    reference TEXT,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL,
    PRIMARY KEY (consultation_id, token)
);
CREATE INDEX journeys_expires_at ON journeys (expires_at);

-- What officers did: who, when, what, to which object, from which address. organisation_id is 0 for site-wide
-- actions. Nothing in the application updates or deletes a row; the triggers below refuse it outright.
CREATE TABLE audit_log (
    organisation_id BIGINT NOT NULL,
    id BIGSERIAL NOT NULL,
    at TIMESTAMP NOT NULL,
    -- NULL for the command line and for a failed sign-in to an unknown account.
    actor_id BIGINT,
    -- The actor's email (or "command line") as it was at the time.
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    object_type TEXT NOT NULL,
    object_id TEXT NOT NULL,
    consultation_id BIGINT,
    detail TEXT NOT NULL,
    address TEXT,
    PRIMARY KEY (organisation_id, id)
);
CREATE INDEX audit_log_at ON audit_log (at);

CREATE FUNCTION audit_log_is_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'audit records cannot be changed or deleted';
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_is_append_only();

-- Outgoing email waits here until the outbox worker has delivered it (see src/email).
CREATE TABLE outbox (
    id BIGSERIAL PRIMARY KEY,
    kind TEXT NOT NULL,
    recipient TEXT NOT NULL,
    payload TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TIMESTAMP NOT NULL,
    sent_at TIMESTAMP,
    created_at TIMESTAMP NOT NULL
);
