//! The consultation domain: questionnaires, answers, routing, validation and lifecycle phases. No I/O here.

pub mod answers;
pub mod journey;
pub mod phase;
pub mod questionnaire;
pub mod reference;
pub mod routing;
pub mod validation;
