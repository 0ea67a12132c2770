//! The consultation domain: questionnaires and their definitions, answers, routing, validation, form field
//! names and lifecycle phases. No I/O here.

pub mod answers;
pub mod builder;
pub mod definition;
pub mod fields;
pub mod journey;
pub mod phase;
pub mod questionnaire;
pub mod reference;
pub mod routing;
pub mod text;
pub mod validation;
