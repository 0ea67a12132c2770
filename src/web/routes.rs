//! The route table: every route of the application is registered here with its method, path and access
//! rule, so no route can exist without a rule, and tests can walk the table the server itself serves.
//!
//! The rule is checked before the handler runs, from the identity the sign-in middleware found (see
//! `web::identity`); handlers then check what belongs to the record itself (an officer's own organisation).

use crate::auth::Role;
use crate::web::api::Problem;
use crate::web::error::AppError;
use crate::web::identity::Identity;
use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::{header, Method};
use actix_web::middleware::{from_fn, Next};
use actix_web::{guard, web, HttpMessage, HttpResponse, Route};

/// Who may use a route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Anyone, signed in or not: residents' pages, the public API, the health check, signing in.
    Public,
    /// A page for signed-in accounts with one of these roles. Anyone not signed in is sent to sign in; a
    /// signed-in account without the role is refused with 403.
    Pages(&'static [Role]),
    /// An API operation for a bearer token whose account has one of these roles: 401 without a valid token,
    /// 403 with another role.
    Api(&'static [Role]),
}

impl Access {
    /// Whether an identity (none when anonymous) may use the route.
    pub fn allows(self, who: Option<&Identity>) -> bool {
        match self {
            Access::Public => true,
            Access::Pages(roles) | Access::Api(roles) => who.is_some_and(|w| roles.contains(&w.role)),
        }
    }
}

/// Every staff role.
pub const STAFF: &[Role] = &[Role::Admin, Role::Officer, Role::Analyst, Role::Cabinet];
/// Those who build and run consultations.
pub const BUILDERS: &[Role] = &[Role::Admin, Role::Officer];
/// Those who read responses.
pub const READERS: &[Role] = &[Role::Admin, Role::Officer, Role::Analyst];
pub const ADMINS: &[Role] = &[Role::Admin];

/// One route as the table records it.
#[derive(Debug, Clone)]
pub struct RouteDef {
    pub method: Method,
    pub path: &'static str,
    pub access: Access,
}

/// Registers routes with actix (when serving) and records each in the table.
pub struct Router<'a> {
    cfg: Option<&'a mut web::ServiceConfig>,
    table: Vec<RouteDef>,
}

impl Router<'_> {
    pub fn get(&mut self, path: &'static str, access: Access, route: Route) -> &mut Self {
        self.add(Method::GET, path, access, route)
    }

    pub fn head(&mut self, path: &'static str, access: Access, route: Route) -> &mut Self {
        self.add(Method::HEAD, path, access, route)
    }

    pub fn post(&mut self, path: &'static str, access: Access, route: Route) -> &mut Self {
        self.add(Method::POST, path, access, route)
    }

    pub fn put(&mut self, path: &'static str, access: Access, route: Route) -> &mut Self {
        self.add(Method::PUT, path, access, route)
    }

    pub fn patch(&mut self, path: &'static str, access: Access, route: Route) -> &mut Self {
        self.add(Method::PATCH, path, access, route)
    }

    pub fn delete(&mut self, path: &'static str, access: Access, route: Route) -> &mut Self {
        self.add(Method::DELETE, path, access, route)
    }

    fn add(&mut self, method: Method, path: &'static str, access: Access, route: Route) -> &mut Self {
        self.table.push(RouteDef { method: method.clone(), path, access });
        if let Some(cfg) = self.cfg.as_deref_mut() {
            let resource = web::resource(path).guard(guard::Method(method)).route(route);
            match access {
                Access::Public => cfg.service(resource),
                _ => cfg.service(resource.wrap(from_fn(move |req, next| check(access, req, next)))),
            };
        }
        self
    }
}

/// Registers every route with actix.
pub fn configure(cfg: &mut web::ServiceConfig) {
    let mut router = Router { cfg: Some(cfg), table: Vec::new() };
    crate::web::register(&mut router);
}

/// Every route the application serves, with its rule.
pub fn table() -> Vec<RouteDef> {
    let mut router = Router { cfg: None, table: Vec::new() };
    crate::web::register(&mut router);
    router.table
}

async fn check(
    access: Access,
    request: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, actix_web::Error> {
    let who = request.extensions().get::<Identity>().cloned();
    if access.allows(who.as_ref()) {
        return Ok(next.call(request).await?.map_into_left_body());
    }
    let refusal = match (access, who) {
        (Access::Pages(_), None) => {
            let next_page = request.uri().path_and_query().map_or("/officer", |p| p.as_str()).to_string();
            HttpResponse::SeeOther()
                .insert_header((header::LOCATION, format!("/officer/sign-in?next={}", encode(&next_page))))
                .finish()
        }
        (Access::Api(_), None) => actix_web::ResponseError::error_response(&Problem::unauthorised()),
        (Access::Api(_), Some(_)) => {
            actix_web::ResponseError::error_response(&Problem::forbidden("Your account's role does not allow this"))
        }
        _ => actix_web::ResponseError::error_response(&AppError::Forbidden(
            "Your account does not have access to this page. Ask an admin if you need it.".into(),
        )),
    };
    Ok(request.into_response(refusal).map_into_right_body())
}

fn encode(path: &str) -> String {
    percent_encoding::utf8_percent_encode(path, percent_encoding::NON_ALPHANUMERIC).to_string()
}
