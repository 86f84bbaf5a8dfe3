//! Who is at the keyboard. The identity is the OS user running vigil, read from the system: never from an
//! argument or an environment variable, which anyone could set.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Designated Safeguarding Lead: sees everything, staff alerts included.
    Dsl,
    /// Deputy DSL: every student alert.
    Ddsl,
    /// Safeguarding officer (the wider safeguarding team): the cases shared with them.
    Officer,
    /// Aggregate reports only.
    Reporter,
    /// A multi-academy trust's safeguarding lead: reads every student case and the reports of the schools
    /// whose configs name them, and the trust's report across them, and decides nothing (a case is its
    /// school's DSL's to decide). Staff alerts only where `staff_alerts` names them too.
    #[serde(rename = "trust_lead")]
    TrustLead,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Dsl => "dsl",
            Role::Ddsl => "ddsl",
            Role::Officer => "officer",
            Role::Reporter => "reporter",
            Role::TrustLead => "trust_lead",
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

    /// Whether this viewer's decisions may be recorded on a case: every reviewer but the trust's lead, who
    /// reads a school's cases and leaves their decisions to its DSL.
    pub fn may_decide(&self) -> bool {
        self.can_review() && self.role != Role::TrustLead
    }

    /// The one rule of who may see a case: a reviewer; for a staff alert, one who may see staff alerts;
    /// and an officer (the wider safeguarding team) only a case shared with them, since the procedure
    /// informs them only "where a genuine safeguarding concern is identified".
    pub fn may_see(&self, staff: bool, shared_with: &std::collections::BTreeSet<String>) -> bool {
        self.can_review()
            && (!staff || self.sees_staff)
            && (self.role != Role::Officer || shared_with.contains(&self.user))
    }

    /// The DSL and the deputy: the first to see every alert, so the ones told when alerts arrive, are
    /// rejected or go unopened.
    pub fn on_duty(&self) -> bool {
        matches!(self.role, Role::Dsl | Role::Ddsl)
    }
}

/// `[roles]`: which OS users have which role.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Roles {
    pub dsl: Vec<String>,
    pub ddsl: Vec<String>,
    pub officer: Vec<String>,
    pub reporter: Vec<String>,
    /// The trust's safeguarding leads (`trust_lead`): every student case to read, no decisions.
    pub trust_lead: Vec<String>,
    /// Users besides the DSL who may see staff alerts (e.g. the Assistant Principal for Student Experience).
    pub staff_alerts: Vec<String>,
}

impl Roles {
    pub fn lists(&self) -> [(Role, &Vec<String>); 5] {
        [
            (Role::Dsl, &self.dsl),
            (Role::Ddsl, &self.ddsl),
            (Role::Officer, &self.officer),
            (Role::Reporter, &self.reporter),
            (Role::TrustLead, &self.trust_lead),
        ]
    }

    /// The viewer for an OS user, or `None` when no role is given them.
    pub fn viewer(&self, user: &str) -> Option<Viewer> {
        let role = self.lists().into_iter().find(|(_, users)| users.iter().any(|u| u == user))?.0;
        let sees_staff = role == Role::Dsl || self.staff_alerts.iter().any(|u| u == user) && role != Role::Reporter;
        Some(Viewer { user: user.to_string(), role, sees_staff })
    }
}

/// `[people]`: what a login name stands for on every record a person reads.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Person {
    /// "A. Example".
    pub name: String,
    /// "DSL", "Deputy DSL".
    #[serde(default)]
    pub title: Option<String>,
}

/// The safeguarding team as the service knows it: each member's role and how they are named. Records keep
/// the OS user name (the audit chain, the case log); what a person reads names people through here.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Team {
    pub roles: Roles,
    pub people: BTreeMap<String, Person>,
    /// The demo's user, who is its DSL whatever the config says.
    pub demo_dsl: Option<String>,
}

impl Team {
    /// Who `user` is to vigil, or `None` when they have no role.
    pub fn viewer(&self, user: &str) -> Option<Viewer> {
        if self.demo_dsl.as_deref() == Some(user) {
            return Some(Viewer { user: user.to_string(), role: Role::Dsl, sees_staff: true });
        }
        self.roles.viewer(user)
    }

    /// How `user` is named to a reader: "A. Example (DSL)" when `[people]` names them, else the user name.
    pub fn display(&self, user: &str) -> String {
        match self.people.get(user) {
            Some(Person { name, title: Some(title) }) => format!("{name} ({title})"),
            Some(Person { name, title: None }) => name.clone(),
            None => user.to_string(),
        }
    }

    /// How an actor is named to a reader: a person `[people]` names by [`Team::display`], anyone else as
    /// the actor reads ("feed", "vigil", a user name).
    pub fn actor(&self, actor: &crate::domain::Actor) -> String {
        match actor {
            crate::domain::Actor::Person(user) if self.people.contains_key(user) => self.display(user),
            other => other.to_string(),
        }
    }

    /// The name alone ("A. Example"), for a sentence that says the role elsewhere.
    pub fn name(&self, user: &str) -> String {
        self.people.get(user).map_or_else(|| user.to_string(), |p| p.name.clone())
    }

    /// Every user who may have a case (a reviewing role that decides), for pickers and for "assign to": in
    /// role order, then as listed.
    pub fn reviewers(&self) -> Vec<Viewer> {
        let mut users: Vec<&String> = self
            .roles
            .lists()
            .into_iter()
            .filter(|(r, _)| !matches!(r, Role::Reporter | Role::TrustLead))
            .flat_map(|(_, u)| u)
            .collect();
        if let Some(d) = &self.demo_dsl {
            users.insert(0, d);
        }
        let mut seen = std::collections::BTreeSet::new();
        users.into_iter().filter(|u| seen.insert(u.as_str())).filter_map(|u| self.viewer(u)).collect()
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
