//! The integration suite: real HTTP against the real application over a real SQLite file, or PostgreSQL when
//! TEST_DATABASE_URL is set (each test gets its own database there).

mod abuse;
mod access;
mod accounts;
mod api;
mod bad_input;
mod browser;
mod builder;
mod dashboard;
mod email;
mod email_pages;
mod exports;
mod fuzz;
mod helpers;
mod installed;
mod instances;
mod journey;
mod notify;
mod officer_links;
mod openapi;
mod published;
mod recount;
mod residents;
mod routes;
mod save;
mod sink;
mod smoke;
#[allow(dead_code)] // the suite uses a part of what the harnesses share
#[path = "../support/mod.rs"]
mod support;
mod totals;
mod xss;
