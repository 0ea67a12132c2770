//! Results: what each response adds to the running totals, the statistics over them (percentages of the base,
//! Wilson intervals) and the report residents, cabinet and the API read. Pure: the totals are stored and
//! recounted by `models`.

pub mod crosstab;
pub mod dashboard;
pub mod figures;
pub mod published;
pub mod report;
pub mod stats;
pub mod suppression;
pub mod tally;
