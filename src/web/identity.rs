//! Who is making a request: a signed-in officer (through the session cookie) or an API client (through a
//! bearer token), or nobody. The middleware finds out once per request and puts the `Identity` in the
//! request's extensions; access rules (`web::routes`) and handlers read it from there.

use crate::auth::Role;
use crate::web::error::AppError;
use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpMessage, HttpRequest};
use std::future::{ready, Ready};

/// A signed-in account, as of this request.
#[derive(Debug, Clone)]
pub struct Identity {
    pub user_id: i64,
    pub email: String,
    pub name: String,
    pub role: Role,
    pub organisation_id: Option<i64>,
    pub via: Via,
}

/// How the account proved itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Via {
    /// The session cookie; the stored session's id hash.
    Session { id_hash: String },
    /// A bearer token; its id.
    Token { token_id: i64 },
}

impl Identity {
    /// Whether the account may see and change the consultations of organisation `organisation_id`: admins
    /// everywhere, everyone else in their own organisation only.
    pub fn works_for(&self, organisation_id: i64) -> bool {
        self.role == Role::Admin || self.organisation_id == Some(organisation_id)
    }

    /// The organisation whose consultations the account lists: none (all of them) for admins.
    pub fn scope(&self) -> Option<i64> {
        match self.role {
            Role::Admin => None,
            _ => Some(self.organisation_id.unwrap_or(-1)),
        }
    }
}

impl FromRequest for Identity {
    type Error = AppError;
    type Future = Ready<Result<Identity, AppError>>;

    /// Routes that take an `Identity` have an access rule that demands one, so its absence is a bug.
    fn from_request(request: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(request.extensions().get::<Identity>().cloned().ok_or_else(|| {
            AppError::Internal(anyhow::anyhow!("a route that needs a signed-in account has no access rule"))
        }))
    }
}

/// The identity of a request, if any (for routes open to everyone that behave differently when signed in).
pub fn of(request: &HttpRequest) -> Option<Identity> {
    request.extensions().get::<Identity>().cloned()
}

/// The account acting, for the audit log, with the client's address.
pub fn actor(identity: &Identity, request: &HttpRequest) -> crate::models::audit::Actor {
    crate::models::audit::Actor {
        user_id: Some(identity.user_id),
        name: identity.email.clone(),
        address: request.peer_addr().map(|a| a.ip().to_string()),
    }
}
