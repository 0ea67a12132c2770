//! Who is asking, and what they may see: roles, the results visibility policy, CSRF tokens, passwords, session
//! and token secrets, session timeouts, the sign-in throttle's rules and what makes a valid account. Residents
//! are anonymous; officers sign in. No I/O here but password hashing.

pub mod account;
pub mod csrf;
pub mod password;
pub mod secret;
pub mod session;
pub mod throttle;

/// The roles officer accounts hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Users, organisations, settings and everything officers do, in every organisation.
    Admin,
    /// Builds and runs the consultations of their organisation.
    Officer,
    /// Reads responses and codes free text.
    Analyst,
    /// Reads results only.
    Cabinet,
}

impl Role {
    pub const ALL: [Role; 4] = [Role::Admin, Role::Officer, Role::Analyst, Role::Cabinet];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Officer => "officer",
            Role::Analyst => "analyst",
            Role::Cabinet => "cabinet",
        }
    }

    pub fn parse(s: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.as_str() == s)
    }

    pub fn label(self) -> &'static str {
        match self {
            Role::Admin => "Admin",
            Role::Officer => "Officer",
            Role::Analyst => "Analyst",
            Role::Cabinet => "Cabinet member",
        }
    }
}

/// The person behind a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Viewer {
    Public,
    Staff(Role),
}

impl Viewer {
    /// Whether the viewer's results are their own working view, with every count shown: officers and
    /// admins. Everyone else (analysts, cabinet members, the public) sees small counts suppressed wherever
    /// suppression applies (cross-tabs, respondent-profile and equality-monitoring questions).
    pub fn working_view(self) -> bool {
        matches!(self, Viewer::Staff(Role::Admin | Role::Officer))
    }
}

/// A consultation's results visibility policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Visibility {
    /// Officers only until results are published.
    Officers,
    /// Officers and cabinet members while open.
    Cabinet,
    /// Anyone, live.
    Public,
}

impl Visibility {
    pub const ALL: [Visibility; 3] = [Visibility::Officers, Visibility::Cabinet, Visibility::Public];

    /// Reads a stored policy; anything unknown is the most restrictive.
    pub fn parse(s: &str) -> Visibility {
        Visibility::from_input(s).unwrap_or(Visibility::Officers)
    }

    /// Reads a policy from input, refusing anything unknown.
    pub fn from_input(s: &str) -> Option<Visibility> {
        Visibility::ALL.into_iter().find(|v| v.as_str() == s)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Visibility::Officers => "officers",
            Visibility::Cabinet => "cabinet",
            Visibility::Public => "public",
        }
    }

    pub fn describe(self) -> &'static str {
        match self {
            Visibility::Officers => "Officers only until the results are published",
            Visibility::Cabinet => "Officers and cabinet members while open",
            Visibility::Public => "Everyone, live",
        }
    }

    /// Whether `viewer` may see a consultation's results under this policy: officers (with admins and
    /// analysts) always; cabinet members too under the cabinet policy; anyone under the public one; and
    /// everyone once the results are `published`. (Staff see only their own organisation's consultations:
    /// that is checked where the consultation is found.)
    pub fn allows(self, viewer: Viewer, published: bool) -> bool {
        match (self, viewer) {
            _ if published => true,
            (Visibility::Public, _) => true,
            (_, Viewer::Staff(Role::Admin | Role::Officer | Role::Analyst)) => true,
            (Visibility::Cabinet, Viewer::Staff(Role::Cabinet)) => true,
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_public_results_are_public() {
        assert!(Visibility::Public.allows(Viewer::Public, false));
        assert!(!Visibility::Cabinet.allows(Viewer::Public, false));
        assert!(Visibility::Cabinet.allows(Viewer::Staff(Role::Cabinet), false));
        assert!(!Visibility::Officers.allows(Viewer::Staff(Role::Cabinet), false));
        assert!(Visibility::Officers.allows(Viewer::Staff(Role::Analyst), false));
        // Published results are everyone's.
        assert!(Visibility::Officers.allows(Viewer::Public, true));
    }
}
