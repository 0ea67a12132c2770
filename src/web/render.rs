//! Rendering pages: the tera templates, compiled once at start-up, and the context every page shares.

use crate::web::assets::TemplateSource;
use actix_web::http::StatusCode;
use actix_web::HttpResponse;
use anyhow::Context as _;
use std::sync::OnceLock;

struct Templates {
    tera: tera::Tera,
    council_name: String,
    service_name: String,
    /// The page script, written inline into every page so that the CSP can allow it by its hash alone.
    script: String,
}

static TEMPLATES: OnceLock<Templates> = OnceLock::new();

/// Compiles the templates (see `web::assets`) once for the process; later calls keep the first set. A theme's
/// template that does not parse is named by its file, so the operator knows which one to fix.
pub fn init(
    templates: Vec<TemplateSource>,
    council_name: &str,
    service_name: &str,
    script: &str,
) -> anyhow::Result<()> {
    if TEMPLATES.get().is_some() {
        return Ok(());
    }
    // Parsed alone first only to name the file: tera's own message names the template, not where it came from.
    for t in &templates {
        if let Some(file) = &t.file {
            tera::Template::new(&t.name, None, &t.text)
                .with_context(|| format!("the template {} could not be parsed", file.display()))?;
        }
    }
    let mut tera = tera::Tera::default();
    tera.add_raw_templates(templates.iter().map(|t| (t.name.as_str(), t.text.as_str())))
        .context("could not load the templates")?;
    tera.register_filter("one_decimal", one_decimal);
    let _ = TEMPLATES.set(Templates {
        tera,
        council_name: council_name.into(),
        service_name: service_name.into(),
        script: script.into(),
    });
    Ok(())
}

/// Formats a number with one decimal place ("59.0"), as every published percentage is given.
fn one_decimal(value: &tera::Value, _: &std::collections::HashMap<String, tera::Value>) -> tera::Result<tera::Value> {
    let n = value.as_f64().ok_or_else(|| tera::Error::msg("one_decimal takes a number"))?;
    Ok(tera::Value::String(format!("{n:.1}")))
}

/// Renders `template` with the shared context added. A template that fails to render is a bug: it is logged
/// and the resident sees a plain error page.
pub fn page_with_status(status: StatusCode, template: &str, mut ctx: tera::Context) -> HttpResponse {
    let Some(t) = TEMPLATES.get() else {
        return HttpResponse::InternalServerError().body("templates not loaded");
    };
    ctx.insert("council_name", &t.council_name);
    ctx.insert("service_name", &t.service_name);
    ctx.insert("page_script", &t.script);
    match t.tera.render(template, &ctx) {
        Ok(html) => HttpResponse::build(status).content_type("text/html; charset=utf-8").body(html),
        Err(e) => {
            let mut chain = e.to_string();
            let mut source = std::error::Error::source(&e);
            while let Some(s) = source {
                chain.push_str(": ");
                chain.push_str(&s.to_string());
                source = s.source();
            }
            tracing::error!(template, error = chain, "rendering a page failed");
            HttpResponse::InternalServerError()
                .content_type("text/html; charset=utf-8")
                .body("<!DOCTYPE html><html lang=\"en\"><title>Sorry, there is a problem with the service</title><h1>Sorry, there is a problem with the service</h1></html>")
        }
    }
}

/// Renders part of a page (a template that extends no layout) to a string, for a live update; none when it
/// fails, which is logged.
pub fn fragment(template: &str, ctx: &tera::Context) -> Option<String> {
    let t = TEMPLATES.get()?;
    t.tera.render(template, ctx).map_err(|e| tracing::error!(template, error = %e, "rendering a fragment failed")).ok()
}

pub fn page(template: &str, ctx: tera::Context) -> HttpResponse {
    page_with_status(StatusCode::OK, template, ctx)
}

/// Renders officer-authored markdown as HTML through the sanitiser: only harmless elements and attributes
/// survive, links get `rel="noopener noreferrer"`.
pub fn markdown(source: &str) -> String {
    let parser = pulldown_cmark::Parser::new_ext(source, pulldown_cmark::Options::ENABLE_TABLES);
    let mut html = String::new();
    pulldown_cmark::html::push_html(&mut html, parser);
    ammonia::Builder::default().url_schemes(["https", "http", "mailto"].into()).clean(&html).to_string()
}

#[cfg(test)]
mod tests {
    #[test]
    fn markdown_is_sanitised() {
        let html = super::markdown(
            "## Plan\n\n<script>alert(1)</script>\n\n[x](javascript:alert(1)) <img src=x onerror=alert(1)>",
        );
        assert!(html.contains("<h2>Plan</h2>"));
        assert!(!html.contains("<script"));
        assert!(!html.contains("href=\"javascript:"), "{html}");
        assert!(html.contains("<a rel=\"noopener noreferrer\">x</a>"), "{html}");
        assert!(!html.contains("onerror"));
    }
}
