-- Have Your Say, initial schema (SQLite). Kept in step with migrations/postgres.
-- Every table that grows with responses carries consultation_id.

CREATE TABLE consultations (
    id INTEGER PRIMARY KEY,
    slug TEXT NOT NULL UNIQUE,
    title TEXT NOT NULL,
    summary TEXT NOT NULL,
    body TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('draft', 'scheduled', 'open', 'closed', 'published')),
    opens_at TIMESTAMP,
    closes_at TIMESTAMP,
    results_visibility TEXT NOT NULL CHECK (results_visibility IN ('officers', 'cabinet', 'public')),
    current_version_id BIGINT,
    outcome TEXT,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);

CREATE TABLE questionnaire_versions (
    id INTEGER PRIMARY KEY,
    consultation_id BIGINT NOT NULL REFERENCES consultations(id),
    number INTEGER NOT NULL,
    published_at TIMESTAMP,
    created_at TIMESTAMP NOT NULL,
    UNIQUE (consultation_id, number)
);

CREATE TABLE sections (
    id INTEGER PRIMARY KEY,
    consultation_id BIGINT NOT NULL REFERENCES consultations(id),
    version_id BIGINT NOT NULL REFERENCES questionnaire_versions(id),
    position INTEGER NOT NULL,
    key TEXT NOT NULL,
    title TEXT NOT NULL,
    description TEXT,
    UNIQUE (version_id, key)
);

CREATE TABLE questions (
    id INTEGER PRIMARY KEY,
    consultation_id BIGINT NOT NULL REFERENCES consultations(id),
    version_id BIGINT NOT NULL REFERENCES questionnaire_versions(id),
    section_id BIGINT NOT NULL REFERENCES sections(id),
    position INTEGER NOT NULL,
    key TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('single_choice', 'multiple_choice', 'scale', 'short_text',
                                       'long_text', 'number', 'date', 'ranking')),
    prompt TEXT NOT NULL,
    hint TEXT,
    required BOOLEAN NOT NULL,
    min_selections INTEGER,
    max_selections INTEGER,
    max_length INTEGER,
    min_value BIGINT,
    max_value BIGINT,
    UNIQUE (version_id, key)
);

CREATE TABLE options (
    id INTEGER PRIMARY KEY,
    consultation_id BIGINT NOT NULL REFERENCES consultations(id),
    question_id BIGINT NOT NULL REFERENCES questions(id),
    position INTEGER NOT NULL,
    key TEXT NOT NULL,
    label TEXT NOT NULL,
    is_other BOOLEAN NOT NULL,
    is_exclusive BOOLEAN NOT NULL,
    UNIQUE (question_id, key)
);

CREATE TABLE routing_rules (
    id INTEGER PRIMARY KEY,
    consultation_id BIGINT NOT NULL REFERENCES consultations(id),
    version_id BIGINT NOT NULL REFERENCES questionnaire_versions(id),
    position INTEGER NOT NULL,
    target_kind TEXT NOT NULL CHECK (target_kind IN ('section', 'question')),
    target_key TEXT NOT NULL,
    action TEXT NOT NULL CHECK (action IN ('show', 'skip')),
    when_question TEXT NOT NULL,
    when_any_of TEXT NOT NULL
);

CREATE TABLE responses (
    id INTEGER PRIMARY KEY,
    consultation_id BIGINT NOT NULL REFERENCES consultations(id),
    version_id BIGINT NOT NULL REFERENCES questionnaire_versions(id),
    reference TEXT NOT NULL,
    channel TEXT NOT NULL CHECK (channel IN ('online', 'api', 'paper', 'email', 'event')),
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

-- Running totals, updated in the same transaction as the responses they count. Each total is split over a
-- few stripes, and each writer adds to its own stripe, so writers (and app instances) never wait for one
-- another's rows; a read sums the stripes, a fixed number of rows whatever the number of responses.
CREATE TABLE response_totals (
    consultation_id BIGINT NOT NULL REFERENCES consultations(id),
    stripe INTEGER NOT NULL,
    responses BIGINT NOT NULL,
    PRIMARY KEY (consultation_id, stripe)
);

CREATE TABLE question_totals (
    consultation_id BIGINT NOT NULL REFERENCES consultations(id),
    question_key TEXT NOT NULL,
    stripe INTEGER NOT NULL,
    answered BIGINT NOT NULL,
    not_shown BIGINT NOT NULL,
    skipped BIGINT NOT NULL,
    PRIMARY KEY (consultation_id, question_key, stripe)
);

CREATE TABLE option_totals (
    consultation_id BIGINT NOT NULL REFERENCES consultations(id),
    question_key TEXT NOT NULL,
    option_key TEXT NOT NULL,
    stripe INTEGER NOT NULL,
    count BIGINT NOT NULL,
    rank_sum BIGINT NOT NULL,
    PRIMARY KEY (consultation_id, question_key, option_key, stripe)
);

-- A resident's answers in progress, keyed by the token in their journey cookie.
CREATE TABLE journeys (
    token TEXT PRIMARY KEY,
    consultation_id BIGINT NOT NULL REFERENCES consultations(id),
    version_id BIGINT NOT NULL REFERENCES questionnaire_versions(id),
    answers TEXT NOT NULL,
    csrf_token TEXT NOT NULL,
    reference TEXT,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL
);
CREATE INDEX journeys_expires_at ON journeys (expires_at);

-- Outgoing email waits here until the outbox worker has delivered it (see src/email).
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
