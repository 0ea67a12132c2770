//! Every route the router knows, walked from its own table (`web::routes::table`): each answers with the
//! security headers, none answers 5xx to a plain request, and every state-changing page route refuses a
//! request without its CSRF token, changing nothing.

use crate::helpers::{spawn_app, TestApp, IRMP};
use actix_web::http::Method;
use haveyoursay::web::routes::{table, Access, RouteDef};

/// A concrete address for a route's pattern, naming things the demo has.
pub fn concrete(route: &RouteDef) -> String {
    // Downloads of every response name their format.
    let download = route.method == Method::GET
        && (route.path == "/api/v1/consultations/{slug}/responses" || route.path.ends_with("/responses/download"));
    let path = route
        .path
        .replace("{slug}", IRMP)
        .replace("{page}", "closer_working")
        .replace("questions/{key}", "questions/support_closer_working")
        .replace("{key}", "closer_working")
        .replace("{id}", "1")
        .replace("{question}", "shared_buildings_comments")
        .replace("{path:.*}", "css/app.css")
        .replace("{action}", "close")
        .replace("{index}", "0")
        .replace("{token}", &"ab".repeat(32));
    if download {
        path + "?format=csv"
    } else {
        path
    }
}

async fn send(app: &TestApp, method: &Method, path: &str, body: &str, content_type: &str) -> reqwest::Response {
    let method = reqwest::Method::from_bytes(method.as_str().as_bytes()).unwrap();
    app.client
        .request(method, app.url(path))
        .header("content-type", content_type)
        .body(body.to_string())
        .send()
        .await
        .unwrap_or_else(|e| panic!("{path}: {e}"))
}

#[tokio::test]
async fn every_route_answers_with_the_security_headers() {
    let app = spawn_app().await;
    let routes = table();
    assert!(routes.len() > 40, "the table lists the routes: {}", routes.len());
    for route in &routes {
        let path = concrete(route);
        let r = send(&app, &route.method, &path, "", "application/x-www-form-urlencoded").await;
        let status = r.status().as_u16();
        assert!(status < 500, "{} {path}: {status}", route.method);
        let h = r.headers();
        let get = |name: &str| h.get(name).map(|v| v.to_str().unwrap().to_string());
        let csp = get("content-security-policy").unwrap_or_else(|| panic!("{} {path}: no CSP", route.method));
        assert!(csp.contains("script-src 'sha256-"), "{path}: scripts by hash only: {csp}");
        assert!(!csp.contains("unsafe-inline") && !csp.contains("script-src 'self'"), "{path}: {csp}");
        assert!(csp.contains("frame-ancestors 'none'"), "{path}: {csp}");
        assert_eq!(get("x-content-type-options").as_deref(), Some("nosniff"), "{path}");
        assert_eq!(get("referrer-policy").as_deref(), Some("same-origin"), "{path}");
        let cache = get("cache-control").unwrap_or_else(|| panic!("{path}: no Cache-Control"));
        if path.starts_with("/static/") && status == 200 {
            assert!(cache.contains("max-age"), "{path}: {cache}");
        } else {
            assert_eq!(cache, "no-store", "{} {path}", route.method);
        }
    }
}

/// Counts of what a request could change, to see that a refused one changed nothing.
pub async fn snapshot(app: &TestApp) -> Vec<i64> {
    app.db(|conn| {
        use diesel::prelude::*;
        use haveyoursay::db::schema::*;
        vec![
            responses::table.count().get_result(conn).unwrap(),
            answers::table.count().get_result(conn).unwrap(),
            journeys::table.count().get_result(conn).unwrap(),
            consultations::table.count().get_result(conn).unwrap(),
            questionnaire_versions::table.count().get_result(conn).unwrap(),
            sessions::table.count().get_result(conn).unwrap(),
            users::table.count().get_result(conn).unwrap(),
            api_tokens::table.count().get_result(conn).unwrap(),
        ]
    })
    .await
}

#[tokio::test]
async fn every_state_changing_page_route_refuses_a_request_without_its_csrf_token() {
    let app = spawn_app().await;
    // A browser that has the CSRF cookie, as any visitor who opened a page does, but sends no token.
    assert_eq!(app.get("/consultations/irmp-2027/respond/closer_working").await.status, 200);
    let before = snapshot(&app).await;
    let mut checked = 0;
    for route in table().iter().filter(|r| !matches!(r.method, Method::GET | Method::HEAD)) {
        if route.path.starts_with("/api/") {
            continue;
        }
        let path = concrete(route);
        let r = send(&app, &route.method, &path, "q.support_closer_working=agree", "application/x-www-form-urlencoded")
            .await;
        let status = r.status().as_u16();
        match route.access {
            // The one exemption: a mail program's one-click unsubscribe, whose unguessable token is its
            // authority (here unknown, so nothing is found and nothing changes).
            Access::Public if route.path == haveyoursay::web::csrf::EXEMPT_POST => {
                assert_eq!(status, 404, "{} {path}", route.method)
            }
            Access::Public => assert_eq!(status, 403, "{} {path}", route.method),
            // Not signed in: sent to sign in before anything is read.
            _ => assert_eq!(status, 303, "{} {path}", route.method),
        }
        checked += 1;
    }
    assert!(checked > 10, "{checked}");
    assert_eq!(snapshot(&app).await, before, "nothing changed");
}
