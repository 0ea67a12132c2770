//! Which error type belongs where: `anyhow::Error` outside requests (start-up, commands); `QueryResult` in
//! models; `AppError` in page handlers, rendered as a plain accessible error page; `web::api::Problem` in API
//! handlers, rendered as `application/problem+json`. Unexpected failures are logged with their cause chain and
//! never shown to the user. Validation failures are not errors: pages show them again with an error summary.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("Page not found")]
    NotFound,
    #[error("{0}")]
    BadRequest(String),
    #[error("Your answers were not saved")]
    Forbidden(String),
    #[error("The service is busy")]
    Overloaded,
    /// One client asked too much too fast (see `web::limits`).
    #[error("Too many requests")]
    TooManyRequests,
    #[error("What you sent is too large")]
    TooLarge,
    /// The request's body took longer to arrive than the limit allows.
    #[error("What you sent took too long to arrive")]
    TooSlow,
    /// An officer's action that was refused or invalid (see `workspace::Error`).
    #[error("{0}")]
    Workspace(#[from] crate::workspace::Error),
    #[error("Sorry, there is a problem with the service")]
    Internal(#[from] anyhow::Error),
}

impl From<diesel::result::Error> for AppError {
    fn from(e: diesel::result::Error) -> Self {
        AppError::Internal(e.into())
    }
}

impl From<r2d2::Error> for AppError {
    fn from(e: r2d2::Error) -> Self {
        AppError::Internal(e.into())
    }
}

impl From<crate::submissions::SubmitError> for AppError {
    fn from(e: crate::submissions::SubmitError) -> Self {
        match e {
            crate::submissions::SubmitError::Overloaded => AppError::Overloaded,
            crate::submissions::SubmitError::Storage(e) => AppError::Internal(e),
        }
    }
}

impl From<actix_web::error::BlockingError> for AppError {
    fn from(e: actix_web::error::BlockingError) -> Self {
        AppError::Internal(anyhow::anyhow!("{e}"))
    }
}

impl AppError {
    fn detail(&self) -> String {
        match self {
            AppError::NotFound => "If you typed the web address, check it is correct.".into(),
            AppError::BadRequest(m) | AppError::Forbidden(m) => m.clone(),
            AppError::TooLarge => "Go back, shorten your answers and try again.".into(),
            AppError::TooSlow => "Go back and try again. Your answers so far are saved.".into(),
            AppError::Overloaded => {
                "Too many people are using the service. Your answers are saved: try again in a minute.".into()
            }
            AppError::TooManyRequests => {
                "Too many requests have come from your address in a short time. Your answers so far are saved: \
                 wait a minute, then try again."
                    .into()
            }
            AppError::Workspace(e) => e.to_string(),
            AppError::Internal(_) => "Try again later. Your answers so far are saved.".into(),
        }
    }
}

impl ResponseError for AppError {
    fn status_code(&self) -> StatusCode {
        match self {
            AppError::NotFound => StatusCode::NOT_FOUND,
            AppError::BadRequest(_) => StatusCode::BAD_REQUEST,
            AppError::Forbidden(_) => StatusCode::FORBIDDEN,
            AppError::Overloaded => StatusCode::SERVICE_UNAVAILABLE,
            AppError::TooManyRequests => StatusCode::TOO_MANY_REQUESTS,
            AppError::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            AppError::TooSlow => StatusCode::REQUEST_TIMEOUT,
            AppError::Workspace(crate::workspace::Error::Invalid(_)) => StatusCode::UNPROCESSABLE_ENTITY,
            AppError::Workspace(crate::workspace::Error::Database(_)) => StatusCode::INTERNAL_SERVER_ERROR,
            AppError::Workspace(_) => StatusCode::CONFLICT,
            AppError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        if let AppError::Internal(e) = self {
            tracing::error!(error = format!("{e:#}"), "request failed");
        }
        if let AppError::Workspace(crate::workspace::Error::Database(e)) = self {
            tracing::error!(error = %e, "request failed");
        }
        let mut ctx = tera::Context::new();
        ctx.insert("heading", &self.to_string());
        ctx.insert("detail", &self.detail());
        crate::web::render::page_with_status(self.status_code(), "public/error.html", ctx)
    }
}
