-- Running totals for the results dashboard (SQLite; kept in step with migrations/postgres),
-- kept like the others in the same transaction as the responses: responses per day and channel, the
-- distribution of each number question's answers, and cross-tabulations of every question by every single
-- choice question and by channel. Striped per writer; rows are made by the first count that needs them.

-- Responses by the day (in the council's time zone, YYYY-MM-DD) and channel they came in.
CREATE TABLE daily_totals (
    consultation_id BIGINT NOT NULL REFERENCES consultations(id),
    day TEXT NOT NULL,
    channel TEXT NOT NULL,
    stripe INTEGER NOT NULL,
    responses BIGINT NOT NULL,
    PRIMARY KEY (consultation_id, day, channel, stripe)
);

-- How many gave each value to a number question (its mean, median and range come from these).
CREATE TABLE value_totals (
    consultation_id BIGINT NOT NULL REFERENCES consultations(id),
    version_id BIGINT NOT NULL,
    question_key TEXT NOT NULL,
    value TEXT NOT NULL,
    stripe INTEGER NOT NULL,
    count BIGINT NOT NULL,
    PRIMARY KEY (consultation_id, version_id, question_key, value, stripe)
);

-- Cross-tabs: among respondents who gave `by_option` to the single choice question `by_key` (or came by the
-- channel `by_option` when `by_key` is '.channel'), how many answered `question_key` (option_key '') and how
-- many chose each option.
CREATE TABLE cross_totals (
    consultation_id BIGINT NOT NULL REFERENCES consultations(id),
    version_id BIGINT NOT NULL,
    by_key TEXT NOT NULL,
    by_option TEXT NOT NULL,
    question_key TEXT NOT NULL,
    row_key TEXT NOT NULL,
    option_key TEXT NOT NULL,
    stripe INTEGER NOT NULL,
    count BIGINT NOT NULL,
    PRIMARY KEY (consultation_id, version_id, by_key, by_option, question_key, row_key, option_key, stripe)
);
