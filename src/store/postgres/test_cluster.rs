//! Tests' PostgreSQL: one throwaway cluster per test process, made on first use in a temp dir with Debian's
//! `initdb` and `pg_ctl` (as the `postgres` user when the tests run as root, which PostgreSQL requires),
//! listening on a Unix socket in that dir only (no TCP port), with a fresh database for each test.
//!
//! The cluster is run by a small shell script whose standard input is a pipe from the test process: when the
//! process ends, however it ends, the pipe closes, and the script stops the server and removes the dir.
//! Used by the library's unit tests and (by path) by the integration tests: one copy of it, of which each
//! uses a part.
#![allow(dead_code)]

use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::process::{ChildStdin, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

/// The login role the tests' services use when a test is about grants: a member of `vigil_service` and
/// nothing else (the migrations grant that role what vigil may do).
pub const SERVICE_LOGIN: &str = "vigil_app";

/// The running cluster: where its socket is, and the pipe whose closing stops it.
pub struct Cluster {
    dir: PathBuf,
    bin: PathBuf,
    _stop_on_exit: Mutex<ChildStdin>,
}

static CLUSTER: OnceLock<Result<Cluster, String>> = OnceLock::new();
static DURABLE: OnceLock<Result<Cluster, String>> = OnceLock::new();

/// The tests' server settings: nothing they check needs a write to reach the disk.
const FAST: &str = "-c fsync=off";
/// The benches' and the load simulation's: PostgreSQL's defaults, each commit on disk, as a deployment runs.
const AS_DEPLOYED: &str = "-c fsync=on -c synchronous_commit=on";

/// How long making and starting a cluster may take before the tests say so and stop.
const START_DEADLINE: Duration = Duration::from_secs(120);

const SCRIPT: &str = r#"set -eu
dir="$1"; bin="$2"; options="$3"
"$bin/initdb" -D "$dir/data" -A trust -U postgres --no-sync -E UTF8 >"$dir/initdb.log" 2>&1
"$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 -o "-k $dir -c listen_addresses= -p 5432 $options -c max_connections=300" start >/dev/null
echo ready
cat >/dev/null || true
"$bin/pg_ctl" -D "$dir/data" -m immediate stop >/dev/null 2>&1 || true
rm -rf "$dir"
"#;

/// The process's cluster, started on first use; a test that cannot have one fails, saying why.
pub fn cluster() -> &'static Cluster {
    match CLUSTER.get_or_init(|| start(FAST)) {
        Ok(c) => c,
        Err(why) => panic!("the tests' PostgreSQL could not start: {why}"),
    }
}

/// A cluster of the caller's own, stopped and removed when it is dropped: for a test that stops and starts
/// its server, which the process's shared one must never be.
pub fn private() -> Result<Cluster, String> {
    start(FAST)
}

/// A cluster that writes each commit to disk (fsync on, PostgreSQL's defaults), for figures that must be a
/// deployment's: the benches and the load simulation.
pub fn durable_cluster() -> &'static Cluster {
    match DURABLE.get_or_init(|| start(AS_DEPLOYED)) {
        Ok(c) => c,
        Err(why) => panic!("a throwaway PostgreSQL could not start: {why}"),
    }
}

fn bin_dir() -> Result<PathBuf, String> {
    let mut found: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .map_err(|e| format!("PostgreSQL is not installed (/usr/lib/postgresql: {e}); apt-get install postgresql"))?
        .filter_map(|d| {
            let d = d.ok()?;
            let version = d.file_name().to_str()?.parse().ok()?;
            let bin = d.path().join("bin");
            bin.join("initdb").exists().then_some((version, bin))
        })
        .collect();
    found.sort();
    found.pop().map(|(_, bin)| bin).ok_or_else(|| "no initdb under /usr/lib/postgresql/*/bin".into())
}

fn start(options: &str) -> Result<Cluster, String> {
    let bin = bin_dir()?;
    static SERIAL: AtomicU32 = AtomicU32::new(0);
    let dir =
        std::env::temp_dir().join(format!("vigil-pg-{}-{}", std::process::id(), SERIAL.fetch_add(1, Ordering::SeqCst)));
    std::fs::create_dir(&dir).map_err(|e| format!("cannot make {}: {e}", dir.display()))?;
    let root = nix::unistd::geteuid().is_root();
    let mut command = if root {
        // PostgreSQL will not run as root: the dir is the postgres user's, and so is the server.
        let chown = Command::new("chown").arg("postgres:").arg(&dir).status().map_err(|e| format!("chown: {e}"))?;
        if !chown.success() {
            return Err(format!("chown postgres: {} failed", dir.display()));
        }
        let mut c = Command::new("runuser");
        c.args(["-u", "postgres", "--", "sh", "-c", SCRIPT, "sh"]);
        c
    } else {
        let mut c = Command::new("sh");
        c.args(["-c", SCRIPT, "sh"]);
        c
    };
    let mut child = command
        .arg(&dir)
        .arg(&bin)
        .arg(options)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("cannot run the cluster's script: {e}"))?;
    let stdin = child.stdin.take().ok_or("no stdin")?;
    let stdout = child.stdout.take().ok_or("no stdout")?;
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut line = String::new();
        let read = std::io::BufReader::new(stdout).read_line(&mut line);
        let _ = tx.send(read.map(|_| line));
    });
    let logs = |dir: &Path| {
        ["initdb.log", "server.log"]
            .iter()
            .map(|f| std::fs::read_to_string(dir.join(f)).unwrap_or_default())
            .collect::<Vec<_>>()
            .join("\n")
    };
    match rx.recv_timeout(START_DEADLINE) {
        Ok(Ok(line)) if line.trim() == "ready" => {}
        Ok(_) => return Err(format!("the server did not start:\n{}", logs(&dir))),
        Err(_) => return Err(format!("the server did not start within {START_DEADLINE:?}:\n{}", logs(&dir))),
    }
    let cluster = Cluster { dir, bin, _stop_on_exit: Mutex::new(stdin) };
    let mut admin = cluster.admin("postgres").map_err(|e| format!("cannot connect: {e}"))?;
    admin
        .batch_execute(&format!(
            "CREATE ROLE vigil_service NOLOGIN; CREATE ROLE {SERVICE_LOGIN} LOGIN IN ROLE vigil_service;"
        ))
        .map_err(|e| format!("cannot make the roles: {e}"))?;
    Ok(cluster)
}

impl Cluster {
    /// A connection string for `database` as `user`, over the cluster's socket.
    pub fn url(&self, database: &str, user: &str) -> String {
        format!("host={} port=5432 user={user} dbname={database}", self.dir.display())
    }

    /// PostgreSQL's programs (`pg_dump`, `pg_restore`), with the arguments that reach this cluster as its
    /// superuser.
    pub fn program(&self, name: &str) -> Command {
        let mut c = Command::new(self.bin.join(name));
        c.arg("-h").arg(&self.dir).args(["-p", "5432", "-U", "postgres"]);
        c
    }

    /// The superuser's connection to `database`.
    pub fn admin(&self, database: &str) -> Result<postgres::Client, postgres::Error> {
        postgres::Client::connect(&self.url(database, "postgres"), postgres::NoTls)
    }

    /// Stops the server at once (`pg_ctl stop -m immediate`: as a crash or a power cut would), keeping its data.
    pub fn stop(&self) {
        self.ctl(&["-m", "immediate", "stop"]);
    }

    /// Starts the stopped server again, as the script first started it.
    pub fn start(&self) {
        let log = self.dir.join("server.log");
        let options =
            format!("-k {} -c listen_addresses= -p 5432 -c fsync=off -c max_connections=300", self.dir.display());
        self.ctl(&["-l", &log.display().to_string(), "-w", "-t", "60", "-o", &options, "start"]);
    }

    /// Starts the stopped server again on `port` (its socket and 127.0.0.1), with TLS from `cert` and `key`
    /// (PEM files, copied into its data dir) and only TLS accepted over TCP (`hostssl`). Its [`Cluster::url`]
    /// and [`Cluster::admin`] no longer reach it (they name port 5432).
    pub fn start_tls(&self, port: u16, cert: &Path, key: &Path) {
        let data = self.dir.join("data");
        std::fs::copy(cert, data.join("server.crt")).expect("the certificate is copied");
        std::fs::copy(key, data.join("server.key")).expect("the key is copied");
        std::fs::write(data.join("pg_hba.conf"), "local all all trust\nhostssl all all 127.0.0.1/32 trust\n")
            .expect("pg_hba.conf");
        // PostgreSQL refuses a key others can read, and runs as postgres when the tests are root.
        let private = std::os::unix::fs::PermissionsExt::from_mode(0o600);
        std::fs::set_permissions(data.join("server.key"), private).expect("chmod");
        if nix::unistd::geteuid().is_root() {
            let mut chown = Command::new("chown");
            chown.arg("postgres:").args(["server.crt", "server.key", "pg_hba.conf"]).current_dir(&data);
            assert!(chown.status().is_ok_and(|s| s.success()), "chown");
        }
        let log = self.dir.join("server.log");
        let options = format!(
            "-k {} -c listen_addresses=127.0.0.1 -p {port} -c ssl=on -c ssl_cert_file=server.crt -c ssl_key_file=server.key -c fsync=off",
            self.dir.display()
        );
        self.ctl(&["-l", &log.display().to_string(), "-w", "-t", "60", "-o", &options, "start"]);
    }

    fn ctl(&self, args: &[&str]) {
        let pg_ctl = self.bin.join("pg_ctl");
        let data = self.dir.join("data");
        let mut command = if nix::unistd::geteuid().is_root() {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(pg_ctl);
            c
        } else {
            Command::new(pg_ctl)
        };
        let status = command.arg("-D").arg(&data).args(args).stdout(Stdio::null()).status().expect("pg_ctl runs");
        assert!(status.success(), "pg_ctl {args:?} failed");
    }

    /// A new, empty database (not migrated); its name.
    pub fn fresh_database(&self) -> String {
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let name = format!("vigil_test_{}", NEXT.fetch_add(1, Ordering::SeqCst));
        let mut admin = self.admin("postgres").expect("the tests' cluster answers");
        admin.batch_execute(&format!("CREATE DATABASE {name}")).expect("a fresh database");
        name
    }
}
