ALTER TABLE consultations DROP COLUMN headline_questions;
