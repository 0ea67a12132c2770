-- Published results: each publication of a closed consultation's results is a snapshot of the running totals
-- at that moment, with what the council decided and why ("we did"), kept for good: a republication adds a
-- new snapshot, numbered after the last, and the public see the latest. The consultation's id leads the
-- primary key so that a distributed PostgreSQL can shard the table by consultation.
CREATE TABLE results_snapshots (
    consultation_id BIGINT NOT NULL REFERENCES consultations(id),
    -- 1 for the first publication, then 2, 3, ...
    number INTEGER NOT NULL,
    published_at TIMESTAMP NOT NULL,
    -- NULL when published from the command line (the demo).
    published_by BIGINT REFERENCES users(id),
    -- The publisher's email (or "command line") as it was at the time.
    publisher TEXT NOT NULL,
    -- What the council decided and why, in markdown (sanitised when shown).
    outcome TEXT NOT NULL,
    responses BIGINT NOT NULL,
    -- The figures as JSON: the results report and what each question is for (see src/results/published.rs).
    figures TEXT NOT NULL,
    PRIMARY KEY (consultation_id, number)
);

-- "Results published" follows from a snapshot existing, and only a publication sets this column (in the
-- transaction that stores the snapshot); none existed before this migration.
UPDATE consultations SET results_published_at = NULL;
