-- Have Your Say schema (SQLite). Kept in step with migrations/postgres: the same tables, columns and rules
-- (the keys that let PostgreSQL shard by consultation are written as unique keys here, beside the rowid).

CREATE TABLE organisations (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    created_at TIMESTAMP NOT NULL
);

CREATE TABLE users (
    id INTEGER PRIMARY KEY,
    email TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    role TEXT NOT NULL CHECK (role IN ('admin', 'officer', 'analyst', 'cabinet')),
    organisation_id BIGINT REFERENCES organisations(id),
    password_hash TEXT,
    disabled BOOLEAN NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    last_signed_in_at TIMESTAMP
);

CREATE TABLE sessions (
    id_hash TEXT PRIMARY KEY,
    user_id BIGINT NOT NULL REFERENCES users(id),
    created_at TIMESTAMP NOT NULL,
    last_seen_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL
);
CREATE INDEX sessions_user_id ON sessions (user_id);
CREATE INDEX sessions_expires_at ON sessions (expires_at);

CREATE TABLE api_tokens (
    id INTEGER PRIMARY KEY,
    user_id BIGINT NOT NULL REFERENCES users(id),
    label TEXT NOT NULL,
    token_hash TEXT NOT NULL UNIQUE,
    prefix TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    last_used_at TIMESTAMP,
    revoked_at TIMESTAMP
);
CREATE INDEX api_tokens_user_id ON api_tokens (user_id);

CREATE TABLE sign_in_throttle (
    key TEXT PRIMARY KEY,
    failures INTEGER NOT NULL,
    window_started_at TIMESTAMP NOT NULL,
    blocked_until TIMESTAMP
);

CREATE TABLE settings (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL,
    updated_at TIMESTAMP NOT NULL
);

CREATE TABLE election_periods (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    starts_at TIMESTAMP NOT NULL,
    ends_at TIMESTAMP NOT NULL,
    created_at TIMESTAMP NOT NULL,
    CHECK (ends_at > starts_at)
);

CREATE TABLE consultations (
    id INTEGER PRIMARY KEY,
    organisation_id BIGINT NOT NULL REFERENCES organisations(id),
    slug TEXT NOT NULL UNIQUE,
    opens_at TIMESTAMP,
    closes_at TIMESTAMP,
    results_visibility TEXT NOT NULL CHECK (results_visibility IN ('officers', 'cabinet', 'public')),
    live_version_id BIGINT,
    outcome TEXT,
    results_published_at TIMESTAMP,
    archived_at TIMESTAMP,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    CHECK (closes_at IS NULL OR opens_at IS NULL OR closes_at > opens_at)
);

CREATE TABLE questionnaire_versions (
    id INTEGER PRIMARY KEY,
    consultation_id BIGINT NOT NULL REFERENCES consultations(id),
    number INTEGER NOT NULL,
    title TEXT NOT NULL,
    summary TEXT NOT NULL,
    content TEXT NOT NULL,
    revision INTEGER NOT NULL,
    published_at TIMESTAMP,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    UNIQUE (consultation_id, number)
);
CREATE UNIQUE INDEX questionnaire_versions_one_draft ON questionnaire_versions (consultation_id)
    WHERE published_at IS NULL;

CREATE TABLE responses (
    id INTEGER PRIMARY KEY,
    consultation_id BIGINT NOT NULL REFERENCES consultations(id),
    version_id BIGINT NOT NULL REFERENCES questionnaire_versions(id),
    reference TEXT NOT NULL,
    channel TEXT NOT NULL CHECK (channel IN ('online', 'api', 'paper', 'email', 'event')),
    entered_by BIGINT REFERENCES users(id),
    idempotency_key TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    submitted_at TIMESTAMP NOT NULL,
    UNIQUE (consultation_id, idempotency_key),
    UNIQUE (consultation_id, reference)
);

CREATE TABLE answers (
    id INTEGER PRIMARY KEY,
    consultation_id BIGINT NOT NULL REFERENCES consultations(id),
    response_id BIGINT NOT NULL REFERENCES responses(id),
    question_key TEXT NOT NULL,
    value TEXT NOT NULL,
    other_text TEXT,
    UNIQUE (response_id, question_key)
);

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

CREATE TABLE audit_log (
    organisation_id BIGINT NOT NULL,
    id INTEGER PRIMARY KEY,
    at TIMESTAMP NOT NULL,
    actor_id BIGINT,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    object_type TEXT NOT NULL,
    object_id TEXT NOT NULL,
    consultation_id BIGINT,
    detail TEXT NOT NULL,
    address TEXT
);
CREATE INDEX audit_log_at ON audit_log (at);
CREATE INDEX audit_log_organisation ON audit_log (organisation_id, id);

CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'audit records cannot be changed or deleted');
END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'audit records cannot be changed or deleted');
END;

CREATE TABLE outbox (
    id INTEGER PRIMARY KEY,
    kind TEXT NOT NULL,
    recipient TEXT NOT NULL,
    payload TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TIMESTAMP NOT NULL,
    sent_at TIMESTAMP,
    created_at TIMESTAMP NOT NULL
);
