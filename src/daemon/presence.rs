//! Who is connected and which case each has open, so two people do not phone the same student.
//!
//! A case is named to another client only when that client may see it: a staff case one reviewer has open
//! is, to a deputy, just "connected".

use std::collections::BTreeMap;
use std::sync::{Mutex, PoisonError};

use tokio::sync::watch;

use super::Identity;
use crate::domain::AlertKey;
use crate::identity::Viewer;
use crate::service::wire::Present;

/// The connected clients, and a watch that wakes every connection when they change.
pub struct Presence {
    clients: Mutex<BTreeMap<u64, Client>>,
    changed: watch::Sender<u64>,
}

struct Client {
    identity: Identity,
    /// The case open there, and whether it is about a member of staff.
    viewing: Option<(AlertKey, bool)>,
}

impl Default for Presence {
    fn default() -> Self {
        Presence { clients: Mutex::new(BTreeMap::new()), changed: watch::Sender::new(0) }
    }
}

impl Presence {
    fn change(&self, f: impl FnOnce(&mut BTreeMap<u64, Client>)) {
        f(&mut self.clients.lock().unwrap_or_else(PoisonError::into_inner));
        self.changed.send_modify(|n| *n = n.wrapping_add(1));
    }

    pub fn join(&self, connection: u64, identity: Identity) {
        self.change(|c| {
            c.insert(connection, Client { identity, viewing: None });
        });
    }

    pub fn leave(&self, connection: u64) {
        self.change(|c| {
            c.remove(&connection);
        });
    }

    /// What `connection` has open: a case it may see (and whether that is a staff case), or nothing.
    pub fn viewing(&self, connection: u64, case: Option<(AlertKey, bool)>) {
        self.change(|c| {
            if let Some(client) = c.get_mut(&connection) {
                client.viewing = case;
            }
        });
    }

    pub fn watch(&self) -> watch::Receiver<u64> {
        self.changed.subscribe()
    }

    /// Everyone but `me`, as `viewer` may see them.
    pub fn seen_by(&self, me: u64, viewer: &Viewer) -> Vec<Present> {
        let clients = self.clients.lock().unwrap_or_else(PoisonError::into_inner);
        clients
            .iter()
            .filter(|(id, _)| **id != me)
            // Which case someone has open is named only to the DSL and deputy (who see every case of its
            // kind): an officer sees only what is shared with them, and presence does not know what that is.
            .map(|(id, c)| present(*id, c, |staff| viewer.on_duty() && (viewer.sees_staff || !staff)))
            .collect()
    }

    /// Everyone, naming no case (`vigil service status`).
    pub fn everyone(&self) -> Vec<Present> {
        let clients = self.clients.lock().unwrap_or_else(PoisonError::into_inner);
        clients.iter().map(|(id, c)| present(*id, c, |_| false)).collect()
    }
}

fn present(connection: u64, c: &Client, may_see: impl Fn(bool) -> bool) -> Present {
    Present {
        connection,
        user: c.identity.viewer.user.clone(),
        name: c.identity.name.clone(),
        role: c.identity.viewer.role,
        viewing: c.viewing.as_ref().filter(|(_, staff)| may_see(*staff)).map(|(key, _)| key.clone()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::identity::Role;

    fn who(user: &str, role: Role) -> Identity {
        Identity { viewer: Viewer { user: user.into(), role, sees_staff: role == Role::Dsl }, name: user.into() }
    }

    #[test]
    fn a_staff_case_open_on_one_screen_is_named_only_to_those_who_may_see_it() {
        let p = Presence::default();
        p.join(1, who("dsl", Role::Dsl));
        p.join(2, who("deputy", Role::Ddsl));
        p.join(3, who("gov", Role::Reporter));
        p.viewing(1, Some((AlertKey::new("sm", "STAFF-1"), true)));
        p.viewing(2, Some((AlertKey::new("sm", "S-1"), false)));
        let deputy = who("deputy", Role::Ddsl).viewer;
        let seen = p.seen_by(2, &deputy);
        assert_eq!(seen.len(), 2, "everyone but the deputy: {seen:?}");
        assert_eq!(seen[0].viewing, None, "the DSL's staff case is not named to the deputy");
        let dsl = who("dsl", Role::Dsl).viewer;
        let seen = p.seen_by(1, &dsl);
        assert_eq!(seen[0].viewing, Some(AlertKey::new("sm", "S-1")));
        let reporter = who("gov", Role::Reporter).viewer;
        assert!(p.seen_by(3, &reporter).iter().all(|c| c.viewing.is_none()), "a reporter is named no case");
        assert!(p.everyone().iter().all(|c| c.viewing.is_none()));
        p.leave(1);
        assert_eq!(p.seen_by(2, &deputy).len(), 1);
    }
}
