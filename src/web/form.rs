//! Reading a submitted HTML form: strictly (every name and value must be valid UTF-8 once percent-decoded),
//! within the body limit, and only once its CSRF token has been checked.

use crate::domain::validation::Form;
use crate::web::error::AppError;
use crate::web::{csrf, AppState};
use actix_web::HttpRequest;
use percent_encoding::percent_decode;

/// Reads a form body with a hard size limit, parses it and checks its CSRF token.
pub async fn read(request: &HttpRequest, state: &AppState, payload: actix_web::web::Payload) -> Result<Form, AppError> {
    let form = parse(&crate::web::read_body(request, payload).await?)?;
    csrf::verify(request, state, form.get(csrf::FIELD).and_then(|v| v.first()).map(String::as_str))?;
    Ok(form)
}

/// A `multipart/form-data` form: its text fields, and the one file it may carry (empty when none was chosen).
pub struct Upload {
    pub fields: Form,
    pub file: Vec<u8>,
}

/// Reads a `multipart/form-data` form (the one form that uploads a file) within `limit` bytes in all, and
/// checks its CSRF token as `read` does.
pub async fn read_upload(
    request: &HttpRequest,
    state: &AppState,
    payload: actix_web::web::Payload,
    limit: usize,
) -> Result<Upload, AppError> {
    // Within the time a body may take, as `read_body` allows.
    let seconds = std::time::Duration::from_secs(state.settings.limits.request_seconds);
    tokio::time::timeout(seconds, read_upload_whole(request, state, payload, limit))
        .await
        .map_err(|_| AppError::TooSlow)?
}

async fn read_upload_whole(
    request: &HttpRequest,
    state: &AppState,
    payload: actix_web::web::Payload,
    limit: usize,
) -> Result<Upload, AppError> {
    use actix_web::HttpMessage;
    use futures_util::StreamExt;
    // Anything but a multipart form cannot carry the token: refused as a form without one is.
    if request.content_type() != "multipart/form-data" {
        csrf::verify(request, state, None)?;
    }
    let mut multipart = actix_multipart::Multipart::new(request.headers(), payload.into_inner());
    let unreadable = || AppError::BadRequest("The form could not be read. Go back and try again.".into());
    let mut upload = Upload { fields: Form::new(), file: Vec::new() };
    let mut seen = 0usize;
    while let Some(part) = multipart.next().await {
        let mut part = part.map_err(|_| unreadable())?;
        let name = part.content_disposition().and_then(|d| d.get_name()).unwrap_or_default().to_string();
        let is_file = part.content_disposition().and_then(|d| d.get_filename()).is_some();
        let mut bytes = Vec::new();
        while let Some(chunk) = part.next().await {
            let chunk = chunk.map_err(|_| unreadable())?;
            seen += chunk.len();
            if seen > limit {
                return Err(AppError::TooLarge);
            }
            bytes.extend_from_slice(&chunk);
        }
        if is_file {
            upload.file = bytes;
        } else {
            let text = String::from_utf8(bytes).map_err(|_| unreadable())?;
            upload.fields.entry(name).or_default().push(text);
        }
    }
    csrf::verify(request, state, upload.fields.get(csrf::FIELD).and_then(|v| v.first()).map(String::as_str))?;
    Ok(upload)
}

/// Parses an `application/x-www-form-urlencoded` body into every value of every field.
/// A field's first value, trimmed ("" when absent).
pub fn value(form: &Form, name: &str) -> String {
    form.get(name).and_then(|v| v.first()).map(|v| v.trim().to_string()).unwrap_or_default()
}

pub fn parse(body: &[u8]) -> Result<Form, AppError> {
    let mut form = Form::new();
    for pair in body.split(|b| *b == b'&').filter(|p| !p.is_empty()) {
        let mut parts = pair.splitn(2, |b| *b == b'=');
        let name = decode(parts.next().unwrap_or_default())?;
        let value = decode(parts.next().unwrap_or_default())?;
        form.entry(name).or_default().push(value);
    }
    Ok(form)
}

fn decode(raw: &[u8]) -> Result<String, AppError> {
    let spaced: Vec<u8> = raw.iter().map(|b| if *b == b'+' { b' ' } else { *b }).collect();
    percent_decode(&spaced).decode_utf8().map(|s| s.into_owned()).map_err(|_| {
        AppError::BadRequest("The form could not be read: it contained characters that are not valid text.".into())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeated_fields_and_encodings() {
        let f = parse(b"q.a=x&q.a=y+z&q.b=%C3%A9&empty=").unwrap();
        assert_eq!(f["q.a"], ["x", "y z"]);
        assert_eq!(f["q.b"], ["é"]);
        assert_eq!(f["empty"], [""]);
        assert!(parse(b"q.a=%FF").is_err());
    }
}
