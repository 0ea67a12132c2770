//! Every route × every role, walked from the router's own table (`web::routes::table`): each role sends the
//! request the way it would (pages with its session cookie and a valid CSRF token, the API with its bearer
//! token), and where the route's rule does not allow the role it is refused — anonymous pages sent to sign in,
//! a signed-in account without the role given the 403 page, the API 401 without a token and 403 with the wrong
//! role — with nothing changed; where the rule allows it, it is neither refused nor a server error. Then an
//! officer of another organisation finds none of the demo consultation's officer pages or API operations.

use crate::helpers::{spawn_app, Browser, TestApp, NORTHSHIRE_FIRE};
use crate::routes::{concrete, snapshot};
use actix_web::http::Method;
use haveyoursay::auth::Role;
use haveyoursay::web::identity::{Identity, Via};
use haveyoursay::web::routes::{table, Access, RouteDef};

/// Everyone who may send a request: anonymous (`None`) and each role.
const CALLERS: [Option<Role>; 5] =
    [None, Some(Role::Cabinet), Some(Role::Analyst), Some(Role::Officer), Some(Role::Admin)];

/// The forms that upload a file, sent as `multipart/form-data` as a browser sends them.
const UPLOADS: [&str; 1] = ["/officer/import"];

/// Someone sending requests: a browser (with a session when signed in) for pages, a bearer token for the API.
struct Caller {
    role: Option<Role>,
    email: String,
    password: String,
    browser: Browser,
    csrf: String,
    token: Option<String>,
    /// Sends API requests: no cookies, which never authenticate the API anyway.
    api: reqwest::Client,
}

impl Caller {
    /// Anonymous, with the CSRF cookie any visitor who opened a form has.
    async fn anonymous(app: &TestApp) -> Caller {
        let browser = app.browser();
        let csrf = browser.get("/officer/sign-in").await.csrf();
        Caller { role: None, email: String::new(), password: String::new(), browser, csrf, token: None, api: api() }
    }

    /// An account with this role (officers, analysts and cabinet members of `organisation`), signed in, with a
    /// token of its own.
    async fn staff(app: &TestApp, role: Role, email: &str, organisation: Option<&str>) -> Caller {
        let organisation = if role == Role::Admin { None } else { organisation };
        let password = app.add_user(email, role.as_str(), organisation).await;
        let browser = app.sign_in(email, &password).await;
        let csrf = browser.get("/officer/account").await.csrf();
        let token = Some(app.token_for(email).await);
        Caller { role: Some(role), email: email.to_string(), password, browser, csrf, token, api: api() }
    }

    /// Sends the request for `route` at `path`: its form with the CSRF token, or the API call with the token.
    async fn send(&self, route: &RouteDef, path: &str) -> reqwest::Response {
        let method = reqwest::Method::from_bytes(route.method.as_str().as_bytes()).unwrap();
        let changes = !matches!(route.method, Method::GET | Method::HEAD);
        let request = if path.starts_with("/api/") {
            let mut request = self.api.request(method, self.browser.url(path));
            if let Some(token) = &self.token {
                request = request.bearer_auth(token);
            }
            if changes {
                request = request.header("content-type", "application/json").header("Idempotency-Key", "access");
                request = request.body("{}");
            }
            request
        } else {
            let request = self.browser.client.request(method, self.browser.url(path));
            if changes && UPLOADS.contains(&path) {
                request.multipart(reqwest::multipart::Form::new().text("_csrf", self.csrf.clone()))
            } else if changes {
                request.header("content-type", "application/x-www-form-urlencoded").body(format!("_csrf={}", self.csrf))
            } else {
                request
            }
        };
        request.send().await.unwrap_or_else(|e| panic!("{} {path}: {e}", route.method))
    }

    /// After a request that was allowed to change things (signing out, a password or a token revoked), signs in
    /// again and makes a new token where that request ended them.
    async fn restore(&mut self, app: &TestApp) {
        if self.role.is_none() {
            return;
        }
        if self.browser.get("/officer").await.status != 200 {
            self.browser = app.sign_in(&self.email, &self.password).await;
            self.csrf = self.browser.get("/officer/account").await.csrf();
        }
        let token = self.token.as_deref().unwrap();
        let check = self.api.get(self.browser.url("/api/v1/consultations")).bearer_auth(token).send().await.unwrap();
        if check.status() == 401 {
            self.token = Some(app.token_for(&self.email).await);
        }
    }

    fn name(&self) -> &'static str {
        self.role.map_or("anonymous", Role::as_str)
    }
}

fn api() -> reqwest::Client {
    crate::helpers::client().build().unwrap()
}

/// What a refused request must look like for this rule and caller.
async fn assert_refused(caller: &Caller, route: &RouteDef, path: &str, r: reqwest::Response) {
    let what = format!("{} {} {path}", caller.name(), route.method);
    let status = r.status().as_u16();
    let location = r.headers().get("location").map(|v| v.to_str().unwrap().to_string());
    let content_type = r.headers().get("content-type").map(|v| v.to_str().unwrap().to_string()).unwrap_or_default();
    match (route.access, caller.role) {
        (Access::Pages(_), None) => {
            assert_eq!(status, 303, "{what}");
            assert!(location.as_deref().unwrap_or("").starts_with("/officer/sign-in?next="), "{what}: {location:?}");
        }
        (Access::Pages(_), Some(_)) => {
            assert_eq!(status, 403, "{what}");
            assert!(content_type.starts_with("text/html"), "{what}: {content_type}");
            let body = r.text().await.unwrap();
            assert!(body.contains("Your account does not have access to this page"), "{what}: the 403 page");
        }
        (Access::Api(_), None) => assert_eq!(status, 401, "{what}"),
        (Access::Api(_), Some(_)) => assert_eq!(status, 403, "{what}"),
        (Access::Public, _) => unreachable!("a public route refused {what}"),
    }
    if matches!(route.access, Access::Api(_)) {
        assert_eq!(content_type, "application/problem+json", "{what}");
    }
}

#[tokio::test]
async fn every_route_refuses_every_role_its_rule_does_not_name_and_serves_those_it_does() {
    let app = spawn_app().await;
    let routes = table();
    // The roles here are every role any rule names, and every role there is.
    for route in &routes {
        if let Access::Pages(roles) | Access::Api(roles) = route.access {
            for role in roles {
                assert!(CALLERS.contains(&Some(*role)), "{} {} names {role:?}", route.method, route.path);
            }
        }
    }
    for role in Role::ALL {
        assert!(CALLERS.contains(&Some(role)), "{role:?}");
    }

    let mut callers = Vec::new();
    for role in CALLERS {
        callers.push(match role {
            None => Caller::anonymous(&app).await,
            Some(role) => {
                Caller::staff(&app, role, &format!("{}@access.example", role.as_str()), Some(NORTHSHIRE_FIRE)).await
            }
        });
    }
    let (mut refused, mut allowed) = (0, 0);
    for caller in &mut callers {
        for route in &routes {
            let path = concrete(route);
            let identity = caller.role.map(identity);
            if route.access.allows(identity.as_ref()) {
                let r = caller.send(route, &path).await;
                let status = r.status().as_u16();
                assert!(
                    status != 401 && status != 403 && status < 500,
                    "{} {} {path}: allowed, answered {status}",
                    caller.name(),
                    route.method
                );
                drop(r);
                if !matches!(route.method, Method::GET | Method::HEAD) {
                    caller.restore(&app).await;
                }
                allowed += 1;
            } else {
                let before = snapshot(&app).await;
                let r = caller.send(route, &path).await;
                assert_refused(caller, route, &path, r).await;
                assert_eq!(snapshot(&app).await, before, "{} {} {path}: nothing changed", caller.name(), route.method);
                refused += 1;
            }
        }
    }
    assert!(refused > 100 && allowed > 100, "{refused} refused, {allowed} allowed");
}

/// An identity with this role, for asking a rule whether it allows the role.
fn identity(role: Role) -> Identity {
    Identity {
        user_id: 0,
        email: String::new(),
        name: String::new(),
        role,
        organisation_id: None,
        via: Via::Token { token_id: 0 },
    }
}

#[tokio::test]
async fn an_officer_of_another_organisation_finds_none_of_the_demo_consultations_officer_routes() {
    let app = spawn_app().await;
    let own = Caller::staff(&app, Role::Officer, "own@access.example", Some(NORTHSHIRE_FIRE)).await;
    let other = Caller::staff(&app, Role::Officer, "other@access.example", Some("Westshire Council")).await;
    let officer = identity(Role::Officer);
    let mut checked = 0;
    for route in table() {
        let officers_route = matches!(route.access, Access::Pages(_) | Access::Api(_));
        if !officers_route || !route.path.contains("{slug}") || !route.access.allows(Some(&officer)) {
            continue;
        }
        let path = concrete(&route);
        let before = snapshot(&app).await;
        let r = other.send(&route, &path).await;
        assert_eq!(r.status().as_u16(), 404, "{} {path}: another organisation's is not found", route.method);
        drop(r);
        assert_eq!(snapshot(&app).await, before, "{} {path}: nothing changed", route.method);
        if route.method == Method::GET {
            // The address is a real one: the demo's own officer is served it.
            let r = own.send(&route, &path).await;
            assert_eq!(r.status().as_u16(), 200, "GET {path} for the demo's own officer");
        }
        checked += 1;
    }
    assert!(checked > 20, "{checked}");
}
