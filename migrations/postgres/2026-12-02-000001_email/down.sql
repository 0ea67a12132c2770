ALTER TABLE consultations DROP COLUMN retention_days;
ALTER TABLE consultations DROP COLUMN one_response_per_person;
DROP TABLE account_links;
DROP TABLE subscriptions;
ALTER TABLE journeys DROP COLUMN respondent;
DROP INDEX responses_respondent;
ALTER TABLE responses DROP COLUMN respondent;
DROP TABLE respondents;
DROP TABLE return_links;
DROP TABLE outbox;
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
