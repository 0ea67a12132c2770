//! Who is asking, and what they may see. Residents are anonymous; officer accounts, sessions and CSRF for the
//! officers' workspace arrive with the officer issue and plug in here as further `Viewer`s.

/// The roles officer accounts will hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Admin,
    Officer,
    Analyst,
    Cabinet,
}

/// The person behind a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Viewer {
    Public,
    Staff(Role),
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
    pub fn parse(s: &str) -> Visibility {
        match s {
            "public" => Visibility::Public,
            "cabinet" => Visibility::Cabinet,
            _ => Visibility::Officers,
        }
    }

    pub fn allows(self, viewer: Viewer) -> bool {
        match (self, viewer) {
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
        assert!(Visibility::Public.allows(Viewer::Public));
        assert!(!Visibility::Cabinet.allows(Viewer::Public));
        assert!(Visibility::Cabinet.allows(Viewer::Staff(Role::Cabinet)));
        assert!(!Visibility::Officers.allows(Viewer::Staff(Role::Cabinet)));
    }
}
