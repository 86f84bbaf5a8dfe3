//! Peer credentials to a viewer: the kernel's uid, the password database's name for it, and the role this
//! service's config gives that name. A user with no role is refused at the handshake.

use crate::config::Config;
use crate::identity::Viewer;

/// A connected user as the service sees them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    pub viewer: Viewer,
    /// The name others see: `[people]`'s, else the password database's full name, else the user name.
    pub name: String,
}

/// Maps a peer's uid to who they are, or to the plain message that refuses them.
pub type Identify = Box<dyn Fn(u32) -> Result<Identity, String> + Send + Sync>;

/// The production mapping: the password database, then `[roles]` in the service's own config.
pub fn by_config(config: Config, config_shown: String) -> Identify {
    Box::new(move |uid| {
        let user = match nix::unistd::User::from_uid(nix::unistd::Uid::from_raw(uid)) {
            Ok(Some(user)) => user,
            Ok(None) => return Err(format!("user id {uid} has no entry in the password database")),
            Err(e) => return Err(format!("cannot read the password database for user id {uid} ({e})")),
        };
        let viewer = config.viewer(&user.name).ok_or_else(|| {
            format!(
                "user `{}` has no role in the vigil service's config ({config_shown}); ask the DSL to add you under [roles], then restart the service",
                user.name
            )
        })?;
        if config.people.contains_key(&user.name) {
            return Ok(Identity { viewer, name: config.team().display(&user.name) });
        }
        let full = user.gecos.to_string_lossy();
        let full = full.split(',').next().unwrap_or("").trim();
        let name = if full.is_empty() { user.name.clone() } else { crate::domain::inert::line(full).into_owned() };
        Ok(Identity { viewer, name })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Presence names a connected user as `[people]` does; without an entry, by the password database.
    #[test]
    fn a_connected_user_is_named_as_people_names_them() {
        let user = crate::identity::os_user().expect("the OS user");
        let uid = nix::unistd::Uid::effective().as_raw();
        let roles = format!("[roles]\nddsl = [{user:?}]\n");
        let plain = Config::parse(std::path::Path::new("c.toml"), &roles).expect("config");
        let named = Config::parse(
            std::path::Path::new("c.toml"),
            &format!("{roles}\n[people]\n{user:?} = {{ name = \"B. Deputy\", title = \"Deputy DSL\" }}\n"),
        )
        .expect("config");
        let who = by_config(named, "c.toml".into())(uid).expect("a role");
        assert_eq!(who.name, "B. Deputy (Deputy DSL)");
        let who = by_config(plain, "c.toml".into())(uid).expect("a role");
        assert_ne!(who.name, "B. Deputy (Deputy DSL)");
        assert!(!who.name.is_empty());
    }
}
