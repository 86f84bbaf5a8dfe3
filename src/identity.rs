//! Who is at the keyboard. The identity is the OS user running vigil, read from the system: never from an
//! argument or an environment variable, which anyone could set.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Designated Safeguarding Lead: sees everything, staff alerts included.
    Dsl,
    /// Deputy DSL: every student alert.
    Ddsl,
    /// Safeguarding officer: every student alert.
    Officer,
    /// Aggregate reports only.
    Reporter,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Dsl => "dsl",
            Role::Ddsl => "ddsl",
            Role::Officer => "officer",
            Role::Reporter => "reporter",
        }
    }
}

/// The person using vigil, and what the config lets them see.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Viewer {
    pub user: String,
    pub role: Role,
    /// Staff alerts are for the DSL (and anyone the config names for them) alone.
    pub sees_staff: bool,
}

impl Viewer {
    pub fn can_review(&self) -> bool {
        self.role != Role::Reporter
    }
}

/// The name of the effective OS user, from the password database.
pub fn os_user() -> Result<String, String> {
    let uid = nix::unistd::Uid::effective();
    // nix grows the buffer for a long entry (many groups, a long GECOS) itself.
    match nix::unistd::User::from_uid(uid) {
        Ok(Some(user)) => Ok(user.name),
        Ok(None) => Err(format!("user id {uid} has no entry in the password database")),
        Err(e) => Err(format!("cannot read the password database for user id {uid} ({e})")),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_os_user_is_the_effective_users_name() {
        let id = std::process::Command::new("id").arg("-un").output().expect("id -un runs");
        let want = String::from_utf8_lossy(&id.stdout).trim().to_string();
        assert_eq!(super::os_user().as_deref(), Ok(want.as_str()));
    }
}
