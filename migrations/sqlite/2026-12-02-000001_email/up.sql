-- Email (src/email): the outbox every message waits in, and the links residents and officers are sent.
-- Every token is stored as its SHA-256 (hex); the token itself exists only in the message that carries it.

-- The first outbox had no consultation, lease or de-duplication and nothing ever wrote to it.
DROP TABLE outbox;
CREATE TABLE outbox (
    id INTEGER PRIMARY KEY,
    -- None for officers' account messages (invitations, resets).
    consultation_id BIGINT REFERENCES consultations (id),
    kind TEXT NOT NULL,
    -- One message per event: a second enqueue of the same key is ignored.
    dedup_key TEXT NOT NULL UNIQUE,
    -- Erased (null) once the message is sent, with the payload: an address is kept only as long as the send needs.
    recipient TEXT,
    payload TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TIMESTAMP NOT NULL,
    -- The worker sending it and until when; another worker may take it once the lease has run out.
    lease_owner TEXT,
    leased_until TIMESTAMP,
    sent_at TIMESTAMP,
    -- A permanent refusal (5xx): kept for an admin to see and resend.
    failed_at TIMESTAMP,
    last_error TEXT,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX outbox_due ON outbox (next_attempt_at) WHERE sent_at IS NULL AND failed_at IS NULL;
CREATE INDEX outbox_consultation ON outbox (consultation_id);

-- "Save and come back later": a link that restores a journey.
CREATE TABLE return_links (
    token_hash TEXT PRIMARY KEY,
    consultation_id BIGINT NOT NULL REFERENCES consultations (id),
    journey_token TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL
);
CREATE INDEX return_links_journey ON return_links (consultation_id, journey_token);

-- One response per person: an address confirmed through a link before answering. Only a keyed hash of the
-- address is kept (`email_hash`), here and beside the response (`responses.respondent`).
CREATE TABLE respondents (
    token_hash TEXT PRIMARY KEY,
    consultation_id BIGINT NOT NULL REFERENCES consultations (id),
    email_hash TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL,
    confirmed_at TIMESTAMP
);
CREATE INDEX respondents_email ON respondents (consultation_id, email_hash);
ALTER TABLE responses ADD COLUMN respondent TEXT;
CREATE UNIQUE INDEX responses_respondent ON responses (consultation_id, respondent) WHERE respondent IS NOT NULL;
ALTER TABLE journeys ADD COLUMN respondent TEXT;

-- "Tell me when the results are published", confirmed through a link (double opt-in).
CREATE TABLE subscriptions (
    token_hash TEXT PRIMARY KEY,
    consultation_id BIGINT NOT NULL REFERENCES consultations (id),
    -- Erased once unsubscribed, notified, or past the retention period.
    email TEXT,
    created_at TIMESTAMP NOT NULL,
    confirmed_at TIMESTAMP,
    notified_at TIMESTAMP,
    unsubscribed_at TIMESTAMP
);
CREATE INDEX subscriptions_consultation ON subscriptions (consultation_id);

-- Officers' single-use links: an invitation to set a first password, or a password reset.
CREATE TABLE account_links (
    token_hash TEXT PRIMARY KEY,
    user_id BIGINT NOT NULL REFERENCES users (id),
    purpose TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL,
    used_at TIMESTAMP
);
CREATE INDEX account_links_user ON account_links (user_id);

-- Per consultation: whether each person may respond once (confirming an address first), and how many days
-- after it closes the addresses it holds are erased.
ALTER TABLE consultations ADD COLUMN one_response_per_person BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE consultations ADD COLUMN retention_days INTEGER NOT NULL DEFAULT 90;
