//! Results: what each response adds to the running totals, the statistics over them (percentages of the base,
//! Wilson intervals), the report residents, cabinet and the API read, and a full recount to check them by.

pub mod recount;
pub mod report;
pub mod stats;
pub mod tally;
