DROP INDEX responses_by_consultation;
DROP TABLE results_snapshots;
