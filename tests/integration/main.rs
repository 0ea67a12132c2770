//! The integration suite: real HTTP against the real application over a real SQLite file, or PostgreSQL when
//! TEST_DATABASE_URL is set (each test gets its own database there).

mod abuse;
mod accounts;
mod api;
mod bad_input;
mod browser;
mod builder;
mod dashboard;
mod fuzz;
mod helpers;
mod installed;
mod instances;
mod journey;
mod openapi;
mod routes;
mod smoke;
mod totals;
