//! Who did something to a case: a person (the OS user at the keyboard) or the feed.
//!
//! A case event keeps its actor as a string, its stored form. The feed's is the word `feed`, as every earlier
//! vigil wrote it, so stores and the audit trail's check of which events are decisions read the same as
//! before. A person's stored form is their user name, except a name that would read as something else: an
//! OS user literally called `feed` (or a name with a colon, which POSIX user names never have) is stored as
//! `vigil:user:NAME`. So the stored word `feed` means the feed alone.
//!
//! An event an earlier vigil recorded for an OS user called `feed` cannot be told from the feed's, and reads
//! as the feed's: those vigils wrote both as `feed`.

use std::fmt;

/// The feed's stored form and its display word.
const FEED: &str = "feed";
/// What a person's stored form starts with when their bare name would read as something else.
const PERSON_PREFIX: &str = "vigil:user:";
/// vigil's own stored form: it has a colon, so no person's name is ever stored as it.
const SERVICE: &str = "vigil:service";

#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Actor {
    /// An OS user acting through vigil.
    Person(String),
    /// What the monitoring feed did (raised, revised, withdrew, reinstated, reopened by an escalation).
    Feed,
    /// What vigil itself did (an escalation of a case nobody opened).
    Service,
}

impl Actor {
    pub fn person(name: &str) -> Actor {
        Actor::Person(name.to_string())
    }

    /// The string kept in the store: never the same for two different actors.
    pub fn stored(&self) -> String {
        match self {
            Actor::Feed => FEED.to_string(),
            Actor::Service => SERVICE.to_string(),
            Actor::Person(name) if name == FEED || name.contains(':') => format!("{PERSON_PREFIX}{name}"),
            Actor::Person(name) => name.clone(),
        }
    }

    /// Reads a stored form: what [`Actor::stored`] writes, and what earlier vigils wrote.
    pub fn from_stored(stored: &str) -> Actor {
        if stored == FEED {
            return Actor::Feed;
        }
        if stored == SERVICE {
            return Actor::Service;
        }
        match stored.strip_prefix(PERSON_PREFIX) {
            Some(name) => Actor::person(name),
            None => Actor::person(stored),
        }
    }

    /// The person's user name, or `None` for the feed.
    pub fn person_name(&self) -> Option<&str> {
        match self {
            Actor::Person(name) => Some(name),
            Actor::Feed | Actor::Service => None,
        }
    }
}

/// The word timelines and records show: `feed` for the feed and a person's name for a person, as before; an
/// OS user called `feed` shows as `user feed`, so that a reader can tell the two apart.
impl fmt::Display for Actor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Actor::Feed => f.write_str(FEED),
            Actor::Service => f.write_str("vigil"),
            Actor::Person(name) if name == FEED => write!(f, "user {name}"),
            Actor::Person(name) => f.write_str(name),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn the_feed_and_a_user_called_feed_are_stored_and_shown_apart() {
        let user = Actor::person("feed");
        assert_eq!(Actor::Feed.stored(), "feed", "as earlier vigils stored it");
        assert_eq!(user.stored(), "vigil:user:feed");
        assert_eq!(Actor::from_stored("feed"), Actor::Feed, "an earlier vigil's `feed` is the feed");
        assert_eq!(Actor::from_stored(&user.stored()), user);
        assert_eq!((Actor::Feed.to_string(), user.to_string()), ("feed".to_string(), "user feed".to_string()));
        assert_eq!(Actor::person("dsl-user").stored(), "dsl-user", "everyone else is stored as before");
        assert_eq!(Actor::person("dsl-user").to_string(), "dsl-user");
    }

    proptest! {
        #[test]
        fn a_stored_actor_reads_back_as_itself_and_no_person_reads_as_the_feed(name in ".{0,20}") {
            let person = Actor::person(&name);
            prop_assert_eq!(Actor::from_stored(&person.stored()), person.clone());
            prop_assert_ne!(person.stored(), Actor::Feed.stored());
            prop_assert_eq!(Actor::from_stored(&Actor::Feed.stored()), Actor::Feed);
            prop_assert_ne!(person.stored(), Actor::Service.stored());
            prop_assert_eq!(Actor::from_stored(&Actor::Service.stored()), Actor::Service);
        }
    }
}
