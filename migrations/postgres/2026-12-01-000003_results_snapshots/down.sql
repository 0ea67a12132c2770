DROP TABLE results_snapshots;
