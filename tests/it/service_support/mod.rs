//! A real `vigil serve` on a socket in a temp dir, and what its tests need around it: clients, the CLI
//! pointed at it, a raw connection that records every byte, and waits on the service's own signals (its
//! "listening" line, its events) rather than on the clock.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use vigil::service::Session;
use vigil::service::session::Events;
use vigil::service::wire::{Assembler, FromService, MAX_MESSAGE, ToService, codec, frames};

/// A running service and the files it was given.
pub struct Served {
    pub dir: tempfile::TempDir,
    pub socket: PathBuf,
    pub config: PathBuf,
    pub data: PathBuf,
    child: Option<Child>,
}

impl Served {
    /// A service whose config gives the current OS user `role`, polling `feed` (a base URL) every second
    /// when given.
    pub fn start(role: &str, feed: Option<&str>) -> Served {
        Served::start_polling(role, feed, 1)
    }

    /// [`Served::start`], polling every `seconds`.
    pub fn start_polling(role: &str, feed: Option<&str>, seconds: u64) -> Served {
        Served::start_on(role, feed, seconds, None)
    }

    /// [`Served::start_polling`] on a copy of an existing store: its data dir and key file (as an IT
    /// technician moves a single user's store into the service).
    pub fn start_on(role: &str, feed: Option<&str>, seconds: u64, store: Option<(&Path, &Path)>) -> Served {
        Served::start_full(role, feed, seconds, store, "")
    }

    /// A service whose config gives the current OS user `role` and has `extra` at its end (a `[mail]`).
    pub fn start_with(role: &str, extra: &str) -> Served {
        Served::start_full(role, None, 1, None, extra)
    }

    /// A service on a school of a PostgreSQL database (`storage`: its `[storage]` keys), polling `feed`
    /// every second when given, with the store key in `key` (made there on first use: several services of
    /// one school share it).
    pub fn start_postgres(role: &str, feed: Option<&str>, storage: &str, key: &Path) -> Served {
        Served::start_keyed(role, feed, 1, None, "", storage, Some(key))
    }

    fn start_full(role: &str, feed: Option<&str>, seconds: u64, store: Option<(&Path, &Path)>, extra: &str) -> Served {
        Served::start_keyed(role, feed, seconds, store, extra, "", None)
    }

    fn start_keyed(
        role: &str,
        feed: Option<&str>,
        seconds: u64,
        store: Option<(&Path, &Path)>,
        extra: &str,
        storage: &str,
        key: Option<&Path>,
    ) -> Served {
        let dir = tempfile::tempdir().expect("tempdir");
        let user = vigil::identity::os_user().expect("an OS user");
        let run = dir.path().join("run");
        std::fs::create_dir(&run).expect("run dir");
        let config = dir.path().join("config.toml");
        let key = key.map_or_else(|| dir.path().join("store.key"), Path::to_path_buf);
        let feed = feed.map(|url| format!("[feed]\nurl = {url:?}\npoll_seconds = {seconds}\n")).unwrap_or_default();
        std::fs::write(
            &config,
            format!(
                "[roles]\n{role} = [{user:?}]\n\n[service]\ngroup = \"\"\n\n[storage]\nkey_file = {key:?}\n{storage}\n\n{feed}{extra}"
            ),
        )
        .expect("config");
        let data = dir.path().join("data");
        if let Some((from, from_key)) = store {
            let copied = Command::new("cp").arg("-a").arg(from).arg(&data).status().expect("cp runs");
            assert!(copied.success(), "the store is copied");
            std::fs::copy(from_key, &key).expect("the key is copied");
        }
        let mut served = Served { socket: run.join("vigil.sock"), config, data, dir, child: None };
        served.spawn();
        served
    }

    /// Starts the service and returns once it says it is listening.
    pub fn spawn(&mut self) {
        let mut child = Command::new(env!("CARGO_BIN_EXE_vigil"))
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", self.dir.path())
            .args([
                "--config",
                path(&self.config),
                "--data-dir",
                path(&self.data),
                "--socket",
                path(&self.socket),
                "serve",
            ])
            .stderr(Stdio::piped())
            .stdout(Stdio::null())
            .spawn()
            .expect("vigil serve starts");
        let mut lines = BufReader::new(child.stderr.take().expect("stderr")).lines();
        loop {
            match lines.next() {
                Some(Ok(line)) if line.contains("listening on") => break,
                Some(Ok(_)) => continue,
                other => panic!("vigil serve stopped before listening: {other:?}"),
            }
        }
        // Whatever it says later must not fill the pipe and stop it.
        std::thread::spawn(move || lines.for_each(drop));
        self.child = Some(child);
    }

    /// SIGKILL: no chance to tidy anything.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    pub fn client(&self) -> Session {
        Session::connect(&self.socket).expect("connects to the service")
    }

    /// The CLI as a client of this service.
    pub fn cli(&self, args: &[&str]) -> Output {
        let mut all = vec!["--config", path(&self.config), "--socket", path(&self.socket)];
        all.extend_from_slice(args);
        crate::common::vigil(&all)
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        self.kill();
    }
}

fn path(p: &Path) -> &str {
    p.to_str().expect("a UTF-8 temp path")
}

/// Waits, on the session's own events, until `done` holds (checked at once and after each event), for at
/// most `within`: a wait on a signal, with a deadline only so that a failure cannot hang the suite.
pub async fn until(events: &mut Events, within: Duration, mut done: impl FnMut(&mut Events) -> bool) {
    let deadline = tokio::time::Instant::now() + within;
    while !done(events) {
        match tokio::time::timeout_at(deadline, events.changed()).await {
            Ok(true) => {}
            Ok(false) => panic!("the event stream ended"),
            Err(_) => panic!("not seen within {within:?}"),
        }
    }
}

/// A connection that speaks the protocol by hand and keeps every byte the service sent.
pub struct Raw {
    framed: tokio_util::codec::Framed<tokio::net::UnixStream, tokio_util::codec::LengthDelimitedCodec>,
    joiner: Assembler,
    pub bytes: Vec<u8>,
    /// Every message received, decoded and written out (rows packed on the wire are plain here).
    pub seen: String,
}

impl Raw {
    pub async fn connect(socket: &Path) -> Raw {
        let stream = tokio::net::UnixStream::connect(socket).await.expect("connects");
        Raw {
            framed: tokio_util::codec::Framed::new(stream, codec()),
            joiner: Assembler::new(MAX_MESSAGE),
            bytes: Vec::new(),
            seen: String::new(),
        }
    }

    pub async fn send(&mut self, message: &ToService) {
        for frame in frames(message).expect("frames") {
            self.framed.send(frame).await.expect("sends");
        }
    }

    /// The next message, or `None` when the service closed the connection.
    pub async fn next(&mut self) -> Option<FromService> {
        loop {
            let frame = tokio::time::timeout(Duration::from_secs(20), self.framed.next())
                .await
                .expect("the service answers")?
                .ok()?;
            self.bytes.extend_from_slice(&frame);
            if let Some(message) = self.joiner.push::<FromService>(&frame).expect("a message") {
                self.seen.push_str(&format!("{message:?}\n"));
                return Some(message);
            }
        }
    }

    /// Says hello with `version`; the service's answer.
    pub async fn hello(&mut self, version: u32) -> Option<FromService> {
        self.send(&ToService::Hello { version, features: Vec::new(), resume: None }).await;
        self.next().await
    }

    /// Sends a call and returns its reply, keeping whatever else came before it.
    pub async fn call(&mut self, id: u64, ask: vigil::service::wire::Ask) -> FromService {
        self.send(&ToService::Call { id, ask }).await;
        loop {
            match self.next().await {
                Some(reply @ FromService::Reply { id: got, .. }) if got == id => return reply,
                Some(_) => continue,
                None => panic!("the service closed the connection before answering call {id}"),
            }
        }
    }

    /// The raw stream, to write what the protocol never would.
    pub fn stream(&mut self) -> &mut tokio::net::UnixStream {
        self.framed.get_mut()
    }
}
