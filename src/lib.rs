//! Have Your Say: an open-source public consultation platform. See README.md for a map of the code.

pub mod accounts;
pub mod auth;
pub mod cli;
pub mod config;
pub mod db;
pub mod demo;
pub mod domain;
pub mod email;
pub mod exports;
pub mod live;
pub mod models;
pub mod results;
pub mod startup;
pub mod submissions;
pub mod telemetry;
pub mod web;
pub mod workspace;
