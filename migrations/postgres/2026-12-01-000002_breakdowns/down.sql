DROP TABLE cross_totals;
DROP TABLE value_totals;
DROP TABLE daily_totals;
