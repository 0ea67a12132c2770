//! /static/…: the stylesheet, the script and images, from `web::assets`, with their type, an ETag and an hour's
//! cache lifetime. Unknown files get the ordinary 404 page; there are no folder listings.

use crate::web::error::AppError;
use crate::web::routes::{Access, Router};
use crate::web::AppState;
use actix_web::http::header::{self, CacheControl, CacheDirective, EntityTag};
use actix_web::{web, HttpMessage, HttpRequest, HttpResponse};

/// An hour: the pages link the files by fixed names, so a longer lifetime would keep a changed stylesheet from
/// residents for too long; the ETag makes each revalidation after that a cheap 304.
const MAX_AGE: u32 = 3600;

pub fn routes(r: &mut Router) {
    r.get("/static/{path:.*}", Access::Public, web::get().to(serve)).head(
        "/static/{path:.*}",
        Access::Public,
        web::head().to(serve),
    );
}

async fn serve(
    state: web::Data<AppState>,
    path: web::Path<String>,
    req: HttpRequest,
) -> Result<HttpResponse, AppError> {
    let file = state.static_files.get(&path).ok_or(AppError::NotFound)?;
    let etag = EntityTag::new_strong(file.etag);
    let cache = CacheControl(vec![CacheDirective::Public, CacheDirective::MaxAge(MAX_AGE)]);
    // A conditional GET compares weakly (RFC 9110, 13.1.2).
    let unchanged = match req.get_header::<header::IfNoneMatch>() {
        Some(header::IfNoneMatch::Any) => true,
        Some(header::IfNoneMatch::Items(tags)) => tags.iter().any(|t| t.weak_eq(&etag)),
        None => false,
    };
    let mut response = if unchanged { HttpResponse::NotModified() } else { HttpResponse::Ok() };
    response.insert_header(header::ETag(etag)).insert_header(cache);
    if unchanged {
        return Ok(response.finish());
    }
    Ok(response.content_type(file.content_type).body(file.body))
}
