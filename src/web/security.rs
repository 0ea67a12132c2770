//! The headers every response carries — pages, the API, errors, static files and redirects: a strict content
//! security policy that allows the one page script by its hash alone, no framing, no sniffing, a referrer
//! policy, HSTS over HTTPS, and `Cache-Control: no-store` unless a response says otherwise (only static files
//! do), so no journey, answer, officer or signed-in page is ever kept by a browser or a proxy.

use crate::web::assets::StaticFiles;
use actix_web::http::header;
use actix_web::middleware::DefaultHeaders;
use anyhow::{bail, Context};
use base64::Engine as _;
use sha2::{Digest, Sha256};

/// The page script (static/js/app.js, or a theme's), which every page carries inline.
pub fn page_script(files: &StaticFiles) -> anyhow::Result<String> {
    let file = files.get("js/app.js").context("static/js/app.js is missing")?;
    let script = String::from_utf8(file.body.to_vec()).context("static/js/app.js is not UTF-8")?;
    if script.to_ascii_lowercase().contains("</script") {
        bail!("static/js/app.js must not contain </script>: it is written inline into every page");
    }
    Ok(script)
}

/// The CSP source that allows exactly `script`.
pub fn script_hash(script: &str) -> String {
    let digest = Sha256::digest(script.as_bytes());
    format!("'sha256-{}'", base64::engine::general_purpose::STANDARD.encode(digest))
}

/// The headers, for every response (a response's own header of the same name wins).
pub fn headers(https: bool, script: &str) -> DefaultHeaders {
    let csp = format!(
        "default-src 'self'; script-src {}; style-src 'self'; img-src 'self' data:; connect-src 'self'; \
         font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
        script_hash(script)
    );
    let headers = if https {
        DefaultHeaders::new().add((header::STRICT_TRANSPORT_SECURITY, "max-age=31536000; includeSubDomains"))
    } else {
        DefaultHeaders::new()
    };
    headers
        .add((header::CONTENT_SECURITY_POLICY, csp))
        .add((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .add((header::X_FRAME_OPTIONS, "DENY"))
        .add((header::REFERRER_POLICY, "same-origin"))
        .add((header::CACHE_CONTROL, "no-store"))
        .add(("Permissions-Policy", "camera=(), microphone=(), geolocation=(), interest-cohort=()"))
        .add(("Cross-Origin-Opener-Policy", "same-origin"))
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_hash_is_the_sha256_of_the_script_in_base64() {
        // echo -n "alert(1)" | openssl dgst -sha256 -binary | base64
        assert_eq!(super::script_hash("alert(1)"), "'sha256-bhHHL3z2vDgxUt0W3dWQOrprscmda2Y5pLsLg4GF+pI='");
    }
}
