//! Where the PostgreSQL store is and how vigil logs in: `[storage] url`, `password_file` (or `PGPASSFILE`'s
//! file, as libpq reads it) and `school`. A password is never in the config or on a command line, so a URL
//! that carries one is refused.

use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use super::database_error;
use crate::store::{Result, StoreError};

/// How to reach one school's rows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PgSettings {
    /// A libpq URL or key=value string, without a password.
    pub url: String,
    /// A file holding the password alone (else `PGPASSFILE`'s matching line, else none: peer or trust).
    pub password_file: Option<PathBuf>,
    /// With `sslmode=require`: a CA to trust for the server's certificate besides the system's.
    pub ca_file: Option<PathBuf>,
    pub school: String,
}

/// How long connecting may take before vigil says the database is not answering.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

impl PgSettings {
    /// Checks what the config says, in words that say what to fix: a URL that parses and has no password,
    /// and a school name.
    pub fn check(url: &str, school: &str) -> std::result::Result<(), String> {
        let config = postgres::Config::from_str(url)
            .map_err(|e| format!("[storage] url is not a PostgreSQL connection URL ({e})"))?;
        if config.get_password().is_some() {
            return Err("[storage] url holds a password: take it out, and put the password in the file \
                 `password_file` names (readable by vigil alone), or in PGPASSFILE's file"
                .into());
        }
        check_school(school)
    }

    /// The connection as messages name it: host(s), port and database, never a password.
    pub fn describe(&self) -> String {
        match postgres::Config::from_str(&self.url) {
            Ok(c) => {
                let hosts: Vec<String> = c
                    .get_hosts()
                    .iter()
                    .map(|h| match h {
                        postgres::config::Host::Tcp(name) => name.clone(),
                        postgres::config::Host::Unix(path) => path.display().to_string(),
                    })
                    .collect();
                format!(
                    "postgresql database {} on {} (school {})",
                    c.get_dbname().unwrap_or("(default)"),
                    if hosts.is_empty() { "localhost".to_string() } else { hosts.join(",") },
                    self.school
                )
            }
            Err(_) => format!("postgresql database (school {})", self.school),
        }
    }

    /// Opens a connection, with the password from its file when there is one.
    pub fn connect(&self) -> Result<postgres::Client> {
        PgSettings::check(&self.url, &self.school).map_err(StoreError::Schema)?;
        let mut config = postgres::Config::from_str(&self.url).map_err(|e| database_error(&e))?;
        config.application_name("vigil").connect_timeout(CONNECT_TIMEOUT);
        if let Some(password) = self.password(&config)? {
            config.password(password);
        }
        // TLS when the URL asks for it (`sslmode=require`), and then always with the server's certificate and
        // name checked (what libpq calls verify-full); `prefer`, libpq's default, would take an unchecked
        // certificate, so vigil treats it as `disable`.
        let connected = if config.get_ssl_mode() == postgres::config::SslMode::Require {
            let tls = crate::tls::client_config(self.ca_file.as_deref()).map_err(|e| {
                StoreError::Schema(format!("cannot read [storage] ca_file {}: {}", e.path.display(), e.reason))
            })?;
            config.connect(tokio_postgres_rustls::MakeRustlsConnect::new(tls))
        } else {
            config.ssl_mode(postgres::config::SslMode::Disable);
            config.connect(postgres::NoTls)
        };
        connected.map_err(|e| {
            let plain = database_error(&e);
            match plain {
                StoreError::Database(said) => {
                    let hint = if said.contains("certificate") {
                        " (the server's certificate is checked against the system's CAs and [storage] ca_file)"
                    } else {
                        ""
                    };
                    StoreError::Database(format!("cannot connect to {}: {said}{hint}", self.describe()))
                }
                other => other,
            }
        })
    }

    /// The password: `password_file`'s, else the first matching line of `PGPASSFILE`'s file, else none.
    fn password(&self, config: &postgres::Config) -> Result<Option<String>> {
        if let Some(path) = &self.password_file {
            let text = read_secret(path)?;
            return Ok(Some(text.trim_end_matches(['\n', '\r']).to_string()));
        }
        let Some(passfile) = std::env::var_os("PGPASSFILE") else { return Ok(None) };
        let text = read_secret(Path::new(&passfile))?;
        Ok(passfile_match(&text, &Target::of(config)))
    }
}

fn read_secret(path: &Path) -> Result<String> {
    std::fs::read_to_string(path)
        .map_err(|e| StoreError::Schema(format!("cannot read the database password file {}: {e}", path.display())))
}

/// A school's name: what its rows are keyed by, and what the trust's reports will call it.
fn check_school(school: &str) -> std::result::Result<(), String> {
    if school.trim().is_empty() {
        return Err("[storage] school is needed with backend = \"postgres\": the school this service keeps (its rows in the shared database are keyed by it)".into());
    }
    // No `/`: the trust's view names a case `SCHOOL/SOURCE:ID` ([`crate::service::trust`]).
    if school.len() > 64 || school.chars().any(|c| c.is_control() || c == crate::service::trust::SCHOOL_MARK) {
        return Err("[storage] school must be at most 64 characters, without control characters or `/`".into());
    }
    Ok(())
}

/// What a line of a password file is matched against.
struct Target {
    host: String,
    port: String,
    database: String,
    user: String,
}

impl Target {
    fn of(config: &postgres::Config) -> Target {
        let host = match config.get_hosts().first() {
            Some(postgres::config::Host::Tcp(h)) => h.clone(),
            // libpq matches a socket connection as `localhost`.
            Some(postgres::config::Host::Unix(_)) | None => "localhost".into(),
        };
        let user = config.get_user().map(str::to_string).unwrap_or_default();
        Target {
            host,
            port: config.get_ports().first().copied().unwrap_or(5432).to_string(),
            database: config.get_dbname().map_or_else(|| user.clone(), str::to_string),
            user,
        }
    }
}

/// The password of the first line of a libpq password file (`host:port:database:user:password`, `*` for
/// any, `\:` and `\\` escaped, `#` a comment) that matches `target`.
fn passfile_match(text: &str, target: &Target) -> Option<String> {
    text.lines().filter(|l| !l.trim_start().starts_with('#')).find_map(|line| {
        let fields = split_escaped(line);
        let [host, port, database, user, password] = fields.as_slice() else { return None };
        let fits = |pattern: &str, value: &str| pattern == "*" || pattern == value;
        (fits(host, &target.host)
            && fits(port, &target.port)
            && fits(database, &target.database)
            && fits(user, &target.user))
        .then(|| password.clone())
    })
}

fn split_escaped(line: &str) -> Vec<String> {
    let mut fields = vec![String::new()];
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                if let (Some(next), Some(field)) = (chars.next(), fields.last_mut()) {
                    field.push(next);
                }
            }
            ':' => fields.push(String::new()),
            other => {
                if let Some(field) = fields.last_mut() {
                    field.push(other);
                }
            }
        }
    }
    fields
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_url_with_a_password_is_refused_and_one_without_is_not() {
        let refused = PgSettings::check("postgresql://vigil:secret@db.example/vigil", "north").expect_err("refused");
        assert!(refused.contains("holds a password"), "{refused}");
        assert!(!refused.contains("secret"), "the message must not echo the password: {refused}");
        let refused = PgSettings::check("host=db dbname=vigil password=secret", "north").expect_err("refused");
        assert!(refused.contains("holds a password"), "{refused}");
        PgSettings::check("postgresql://vigil@db.example/vigil", "north").expect("no password: fine");
        let no_school = PgSettings::check("postgresql://vigil@db.example/vigil", " ").expect_err("needs a school");
        assert!(no_school.contains("school is needed"), "{no_school}");
    }

    #[test]
    fn a_password_file_line_matches_as_libpq_matches_it() {
        let target = Target { host: "db".into(), port: "5432".into(), database: "vigil".into(), user: "svc".into() };
        let text = "# a comment\nother:5432:vigil:svc:wrong\ndb:*:vigil:svc:pa\\:ss\\\\word\n*:*:*:*:fallback\n";
        assert_eq!(passfile_match(text, &target).as_deref(), Some("pa:ss\\word"));
        let elsewhere = Target { host: "x".into(), ..target };
        assert_eq!(passfile_match(text, &elsewhere).as_deref(), Some("fallback"));
        assert_eq!(passfile_match("db:5432:vigil:svc\n", &elsewhere), None, "a short line matches nothing");
    }
}
