//! What makes an account's details valid, one set of rules for the admin pages and the command line alike:
//! email addresses are kept trimmed and lowercase (they are how people sign in), names are required, and
//! every role but admin belongs to an organisation.

use super::Role;

pub const MAX_EMAIL: usize = 254;
pub const MAX_NAME: usize = 200;

/// A valid email address, trimmed and lowercased, or what is wrong with it.
pub fn email(input: &str) -> Result<String, &'static str> {
    let email = input.trim().to_lowercase();
    if email.is_empty() {
        return Err("Enter an email address");
    }
    if email.chars().count() > MAX_EMAIL {
        return Err("Email address must be 254 characters or fewer");
    }
    let well_formed = email.split_once('@').is_some_and(|(local, domain)| {
        !local.is_empty()
            && !domain.contains('@')
            && domain.contains('.')
            && !domain.starts_with('.')
            && !domain.ends_with('.')
            && !email.chars().any(|c| c.is_whitespace() || c.is_control())
    });
    if !well_formed {
        return Err("Enter an email address in the correct format, like name@example.com");
    }
    Ok(email)
}

/// A valid name, trimmed, or what is wrong with it.
pub fn name(input: &str) -> Result<String, &'static str> {
    let name = input.trim();
    if name.is_empty() {
        return Err("Enter a name");
    }
    if name.chars().count() > MAX_NAME {
        return Err("Name must be 200 characters or fewer");
    }
    if name.chars().any(char::is_control) {
        return Err("Name must not contain control characters");
    }
    Ok(name.to_string())
}

/// Admins work across every organisation; everyone else belongs to one.
pub fn needs_organisation(role: Role) -> bool {
    role != Role::Admin
}

pub const ORGANISATION_NEEDED: &str = "Select an organisation: officers, analysts and cabinet members belong to one";

/// A valid organisation name, trimmed, or what is wrong with it.
pub fn organisation_name(input: &str) -> Result<String, &'static str> {
    let name = input.trim();
    if name.is_empty() {
        return Err("Enter the organisation's name");
    }
    if name.chars().count() > MAX_NAME {
        return Err("Organisation name must be 200 characters or fewer");
    }
    if name.chars().any(char::is_control) {
        return Err("Organisation name must not contain control characters");
    }
    Ok(name.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_and_names() {
        assert_eq!(email("  Jo.Bloggs@Example.ORG "), Ok("jo.bloggs@example.org".into()));
        assert!(email("").is_err());
        assert!(email("jo").is_err());
        assert!(email("jo@example").is_err());
        assert!(email("jo@@example.org").is_err());
        assert!(email("j o@example.org").is_err());
        assert!(email(&format!("{}@example.org", "x".repeat(250))).is_err());
        assert_eq!(name(" Jo Bloggs "), Ok("Jo Bloggs".into()));
        assert!(name("  ").is_err());
        assert!(needs_organisation(Role::Cabinet));
        assert!(!needs_organisation(Role::Admin));
    }
}
