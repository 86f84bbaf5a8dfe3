//! The shared service end to end with real OS users (issue 15): `vigil serve` runs as root over a loopback
//! feed, and the DSL (`vigil-dsl`) and the deputy (`vigil-ddsl`) are its clients, each in a tmux terminal
//! of their own through `runuser`, as they would be over SSH. Who each is comes from the kernel (the
//! socket's peer credentials), so only real users test it: what one does reaches the other's screen, a
//! staff alert reaches the DSL only, each sees who else is here and who has the same case open, and a user
//! with no role (`vigil-norole`) is refused.
//!
//! It needs root and the users `scripts/test-users` makes: elsewhere it says it is skipped, except under
//! CI, where it fails.

use crate::common;
use crate::e2e_tmux::{Session, tmux_available};
use crate::feed_support::{alert, page, raw_server, write_chunked};

use std::io::BufRead;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::json;

const GROUP: &str = "vigil-test";
const DSL: &str = "vigil-dsl";
const DDSL: &str = "vigil-ddsl";
const NO_ROLE: &str = "vigil-norole";

/// The High student alert both reviewers work on.
const STUDENT_ALERT: &str = "E2E-STU-1";
const STUDENT_ID: &str = "HPC9001";
const STUDENT_NAME: &str = "Tamsin Penrose";
/// The staff alert, for the DSL alone.
const STAFF_ALERT: &str = "E2E-STAFF-1";
const STAFF_ID: &str = "STF9042";
const STAFF_NAME: &str = "Morwenna Staffwise";
/// A second student alert, so the deputy's queue is not just the one case.
const OTHER_ALERT: &str = "E2E-STU-2";

/// How long a decision may take to reach another user's screen (a push over a local socket and a redraw)
/// before the test calls it lost: a deadline against a hang, generous because the whole suite shares two
/// cores with it. How fast it really is, is printed below and measured by the benchmarks.
const PROPAGATION: Duration = Duration::from_secs(20);

/// Whether this machine can run the test: root (to start the service and `runuser`), the users and group of
/// `scripts/test-users`, and tmux. Under CI anything missing is a failure; elsewhere the test says it is
/// skipped.
fn can_run() -> bool {
    let root = nix::unistd::Uid::effective().is_root();
    let users = [DSL, DDSL, NO_ROLE].iter().all(|u| matches!(nix::unistd::User::from_name(u), Ok(Some(_))));
    let group = matches!(nix::unistd::Group::from_name(GROUP), Ok(Some(_)));
    let runuser = Command::new("runuser").arg("--version").output().is_ok_and(|o| o.status.success());
    if root && users && group && runuser && tmux_available() {
        return true;
    }
    let why = format!(
        "root: {root}, users {DSL}/{DDSL}/{NO_ROLE}: {users}, group {GROUP}: {group}, runuser: {runuser}, tmux: {}",
        tmux_available()
    );
    assert!(
        std::env::var_os("CI").is_none(),
        "the shared service's end-to-end test needs root, runuser, tmux and the test users: run scripts/test-users as root first ({why})"
    );
    eprintln!("skipped: needs root and scripts/test-users ({why})");
    false
}

/// `vigil serve` as root over a loopback feed, with its own data dir, key file and socket, all in a temp
/// dir the test users can reach. Dropped, it stops the service and the feed.
struct Service {
    child: Child,
    /// The binary, linked where the test users can run it (the build dir may be closed to them).
    bin: PathBuf,
    sock: PathBuf,
    /// An empty config the clients can read, so no other config (root's, the machine's) is read.
    client_config: PathBuf,
    /// The feed server's runtime: dropping it stops the feed.
    _feed: tokio::runtime::Runtime,
    tmp: tempfile::TempDir,
}

impl Service {
    fn start() -> Service {
        Service::start_with("", "")
    }

    /// [`Service::start`] with more lines in its config's `[roles]` (`roles`) and after it (`rest`).
    fn start_with(roles: &str, rest: &str) -> Service {
        let tmp = tempfile::tempdir().expect("tmp");
        // tempfile makes it 0700: the test users must be able to pass through it to the socket and binary.
        chmod(tmp.path(), 0o755);
        let bin = tmp.path().join("vigil");
        if std::fs::hard_link(env!("CARGO_BIN_EXE_vigil"), &bin).is_err() {
            std::fs::copy(env!("CARGO_BIN_EXE_vigil"), &bin).expect("copy the binary");
            chmod(&bin, 0o755);
        }
        // The socket's directory: the group may enter, nobody may write but root (the service checks).
        let sock_dir = tmp.path().join("sock");
        std::fs::create_dir(&sock_dir).expect("mkdir sock");
        chmod(&sock_dir, 0o750);
        let group = nix::unistd::Group::from_name(GROUP).expect("group database").expect("the group exists");
        nix::unistd::chown(&sock_dir, None, Some(group.gid)).expect("chgrp the socket's directory");
        let sock = sock_dir.join("vigil.sock");
        let client_config = tmp.path().join("client.toml");
        std::fs::write(&client_config, "").expect("write the client config");
        chmod(&client_config, 0o644);

        let feed = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().expect("rt");
        let body = page(&feed_alerts(), Some("c-1"), false);
        let url = feed.block_on(raw_server(move |sock| {
            let body = body.clone();
            async move { write_chunked(sock, body.as_bytes()).await }
        }));
        let config = tmp.path().join("service.toml");
        let key = tmp.path().join("store.key");
        std::fs::write(
            &config,
            format!(
                "[roles]\ndsl = [{DSL:?}]\nddsl = [{DDSL:?}]\n{roles}\n[service]\ngroup = {GROUP:?}\n\n\
                 [feed]\nurl = {url:?}\n\n[storage]\nkey_file = {key:?}\n\n{rest}"
            ),
        )
        .expect("write the service config");
        let data = tmp.path().join("data");
        let mut child = without_vigil_env(Command::new(&bin))
            .arg("--config")
            .arg(&config)
            .arg("--data-dir")
            .arg(&data)
            .arg("--socket")
            .arg(&sock)
            .arg("serve")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("vigil serve starts");
        let stderr = child.stderr.take().expect("stderr");
        let service = Service { child, bin, sock, client_config, _feed: feed, tmp };
        // Its readiness is the line it prints once the socket is bound; the rest of stderr is drained so
        // the service never blocks on a full pipe.
        let (lines, said) = mpsc::channel();
        std::thread::spawn(move || {
            for line in std::io::BufReader::new(stderr).lines().map_while(Result::ok) {
                let _ = lines.send(line);
            }
        });
        let deadline = Instant::now() + Duration::from_secs(30);
        let mut seen = Vec::new();
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match said.recv_timeout(left) {
                Ok(line) if line.starts_with("vigil serve: listening on ") => break,
                Ok(line) => seen.push(line),
                Err(e) => panic!("vigil serve did not say it was listening ({e}); its stderr: {seen:?}"),
            }
        }
        service.wait_for_the_feed();
        service
    }

    /// The feed is read by the service's poller at start: waits until the DSL's list holds every alert.
    fn wait_for_the_feed(&self) {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let out = self.run_as(DSL, &["list", "--json"]);
            let text = common::stdout(&out);
            if out.status.success() && [STUDENT_ALERT, STAFF_ALERT, OTHER_ALERT].iter().all(|id| text.contains(id)) {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "the feed's alerts did not reach the service: {}\n{text}",
                common::stderr(&out)
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// A headless vigil as `user`, a client of this service.
    fn run_as(&self, user: &str, args: &[&str]) -> Output {
        let mut cmd = without_vigil_env(Command::new("runuser"));
        cmd.args(["-u", user, "--"]).arg(&self.bin).arg("--config").arg(&self.client_config).arg("--socket");
        cmd.arg(&self.sock).args(args).stdin(Stdio::null()).output().expect("runuser runs")
    }

    /// The TUI as `user`, a client of this service, in a 120x35 tmux terminal (queue above, case and
    /// checklist side by side).
    fn terminal_as(&self, user: &str) -> Session {
        // `; echo EXITED $?` leaves the exit code on screen if vigil ends.
        let cmd = format!(
            "runuser -u {user} -- {} --config {} --socket {} ; echo EXITED $? ; sleep 60",
            self.bin.display(),
            self.client_config.display(),
            self.sock.display()
        );
        Session::start(&cmd, 120, 35)
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        // SIGTERM is the service's clean stop; SIGKILL if it does not stop within a few seconds.
        let _ = Command::new("kill").args(["-TERM", &self.child.id().to_string()]).status();
        let deadline = Instant::now() + Duration::from_secs(10);
        while matches!(self.child.try_wait(), Ok(None)) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn chmod(path: &Path, mode: u32) {
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).expect("chmod");
}

fn without_vigil_env(mut cmd: Command) -> Command {
    for (k, _) in std::env::vars() {
        if k.starts_with("VIGIL_") || k == "NO_COLOR" {
            cmd.env_remove(k);
        }
    }
    cmd
}

/// A High student alert, a Medium staff alert and a Low student alert.
fn feed_alerts() -> Vec<serde_json::Value> {
    vec![
        alert(
            STUDENT_ALERT,
            json!({"risk": 5, "category": "self-harm",
                   "subject": {"kind": "student", "id": STUDENT_ID, "name": STUDENT_NAME}}),
        ),
        alert(
            STAFF_ALERT,
            json!({"risk": 3, "category": "drugs", "summary": "staff member searched for something worrying",
                   "subject": {"kind": "staff", "id": STAFF_ID, "name": STAFF_NAME}}),
        ),
        alert(
            OTHER_ALERT,
            json!({"risk": 1, "category": "gambling",
                   "subject": {"kind": "student", "id": "HPC9002", "name": "Jory Trelawny"}}),
        ),
    ]
}

/// Every process whose command line names `dir` (the service and clients run the binary linked there).
fn processes_under(dir: &Path) -> Vec<String> {
    let dir = dir.to_string_lossy().into_owned();
    let Ok(entries) = std::fs::read_dir("/proc") else { return Vec::new() };
    entries
        .filter_map(Result::ok)
        .filter(|e| e.file_name().to_string_lossy().bytes().all(|b| b.is_ascii_digit()))
        .filter_map(|e| std::fs::read(e.path().join("cmdline")).ok())
        .map(|c| String::from_utf8_lossy(&c).replace('\0', " "))
        .filter(|c| c.contains(&dir))
        .collect()
}

/// The checklist's title: how many required items are still open on the case shown.
fn required_open(screen: &str) -> usize {
    let (_, after) = screen.split_once("Checklist: ").unwrap_or_else(|| panic!("no checklist on screen:\n{screen}"));
    let n = after.split_whitespace().next().and_then(|n| n.parse().ok());
    n.unwrap_or_else(|| panic!("no count in the checklist's title:\n{screen}"))
}

fn assert_no_staff(screen: &str, whose: &str) {
    for text in [STAFF_ALERT, STAFF_ID, STAFF_NAME, "Morwenna", "STAFF"] {
        assert!(!screen.contains(text), "{whose} screen shows `{text}` of the staff alert:\n{screen}");
    }
}

/// Two real users at two terminals on one service: each sees the other is here, a staff alert is on the
/// DSL's screen and nowhere on the deputy's (not even through the filter), each sees who else has the same
/// case open, and the DSL's tick reaches the deputy's screen within seconds. Nothing is left running.
#[test]
fn two_users_at_two_terminals_share_one_service() {
    if !can_run() {
        return;
    }
    let service = Service::start();
    let dsl = service.terminal_as(DSL);
    let ddsl = service.terminal_as(DDSL);

    // Each status bar names the other user.
    let dsl_screen = dsl.wait_for("the DSL's queue, with the deputy here", |t| {
        t.contains(STUDENT_NAME) && t.contains("also here: vigil-ddsl (ddsl)")
    });
    let ddsl_screen = ddsl.wait_for("the deputy's queue, with the DSL here", |t| {
        t.contains(STUDENT_NAME) && t.contains("also here: vigil-dsl (dsl)")
    });
    assert!(dsl_screen.contains("vigil-dsl (dsl)"), "{dsl_screen}");
    assert!(ddsl_screen.contains("vigil-ddsl (ddsl)"), "{ddsl_screen}");

    // The staff alert: on the DSL's screen, nowhere on the deputy's.
    assert!(dsl_screen.contains(STAFF_NAME) && dsl_screen.contains("STAFF"), "{dsl_screen}");
    assert!(ddsl_screen.contains("Jory Trelawny"), "the deputy's queue is not empty:\n{ddsl_screen}");
    assert_no_staff(&ddsl_screen, "the deputy's");
    // Nor does the filter find it for the deputy; it does for the DSL.
    ddsl.keys(&["/"]);
    ddsl.literal("Morwenna");
    ddsl.keys(&["Enter"]);
    // The filter applies as it is typed: wait for the prompt ("/Morwenna") to close, so the screen read is
    // the one after Enter, where nothing but the filter's own label may say "Morwenna".
    let filtered =
        ddsl.wait_for("the deputy's filter", |t| t.contains("FILTER: \"Morwenna\"") && !t.contains("/Morwenna"));
    assert!(filtered.contains("0 shown") && filtered.contains("No case matches the filter"), "{filtered}");
    assert_no_staff(&filtered.replace("FILTER: \"Morwenna\"", ""), "the deputy's filtered");
    dsl.keys(&["/"]);
    dsl.literal("Morwenna");
    dsl.keys(&["Enter"]);
    let filtered = dsl.wait_for("the DSL's filter", |t| t.contains("FILTER: \"Morwenna\"") && !t.contains("/Morwenna"));
    assert!(filtered.contains("1 shown") && filtered.contains(STAFF_ID), "{filtered}");
    for (s, whose) in [(&dsl, "DSL"), (&ddsl, "deputy")] {
        s.keys(&["Escape"]);
        s.keys(&["g"]);
        s.wait_for(&format!("the {whose}'s whole queue, the High student case selected"), |t| {
            !t.contains("FILTER:") && t.contains(&format!("HIGH self-harm {STUDENT_ID}"))
        });
    }

    // The DSL opens the student case, then the deputy: each is told the other has it open.
    dsl.keys(&["Enter"]);
    dsl.wait_for("the case on the DSL's screen", |t| t.contains(&format!("Subject: student {STUDENT_ID}")));
    ddsl.keys(&["Enter"]);
    ddsl.wait_for("the case on the deputy's screen", |t| t.contains(&format!("Subject: student {STUDENT_ID}")));
    dsl.wait_within(PROPAGATION, "the deputy named on the DSL's case", |t| {
        t.contains("vigil-ddsl (DDSL) is viewing this case")
    });
    let ddsl_screen = ddsl.wait_within(PROPAGATION, "the DSL named on the deputy's case", |t| {
        t.contains("vigil-dsl (DSL) is viewing this case")
    });
    assert!(!ddsl_screen.contains("[vigil-dsl "), "nothing is ticked yet:\n{ddsl_screen}");
    let open_before = required_open(&ddsl_screen);

    // The DSL ticks the first item with a note; the deputy's checklist shows it, by whom.
    dsl.keys(&[":"]);
    dsl.literal("tick review-alert --note read with the deputy");
    let sent = Instant::now();
    dsl.keys(&["Enter"]);
    let ddsl_screen =
        ddsl.wait_within(PROPAGATION, "the DSL's tick on the deputy's checklist", |t| t.contains("[vigil-dsl "));
    let took = sent.elapsed();
    eprintln!(
        "service_users: the DSL's tick reached the deputy's screen in {} ms (send-keys to capture-pane)",
        took.as_millis()
    );
    // ASCII only: a terminal without a UTF-8 locale (CI's, say) shows the tick mark differently.
    assert_eq!(required_open(&ddsl_screen), open_before - 1, "one item fewer to do:\n{ddsl_screen}");
    dsl.wait_for("the DSL's own record of it", |t| t.contains("recorded: done: review-alert"));

    // Both quit cleanly, and nothing is left running: the terminals, then the service.
    for (s, whose) in [(&dsl, "DSL"), (&ddsl, "deputy")] {
        s.keys(&["q"]);
        let screen = s.wait_for(&format!("the {whose}'s vigil to exit"), |t| t.contains("EXITED"));
        assert!(screen.contains("EXITED 0"), "the {whose}'s vigil ended badly:\n{screen}");
    }
    let tmp = service.tmp.path().to_path_buf();
    drop(dsl);
    drop(ddsl);
    drop(service);
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let left = processes_under(&tmp);
        if left.is_empty() {
            break;
        }
        assert!(Instant::now() < deadline, "still running after the test: {left:?}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The headless commands as the same users: the DSL's `list --json` has the staff alert, the deputy's has
/// no trace of it, and a user with no role is refused (exit 3) with a message naming them.
#[test]
fn headless_clients_see_what_their_role_allows_and_no_role_is_refused() {
    if !can_run() {
        return;
    }
    let service = Service::start();

    let out = service.run_as(DSL, &["list", "--json"]);
    assert!(out.status.success(), "{}", common::stderr(&out));
    let dsl: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    let ids: Vec<&str> = dsl.as_array().expect("a list").iter().filter_map(|c| c["id"].as_str()).collect();
    assert!(ids.contains(&STAFF_ALERT) && ids.contains(&STUDENT_ALERT), "{ids:?}");

    let out = service.run_as(DDSL, &["list", "--json"]);
    assert!(out.status.success(), "{}", common::stderr(&out));
    let text = common::stdout(&out);
    let ddsl: serde_json::Value = serde_json::from_str(&text).expect("json");
    let ids: Vec<&str> = ddsl.as_array().expect("a list").iter().filter_map(|c| c["id"].as_str()).collect();
    assert_eq!(ids.len(), 2, "the deputy's list: {ids:?}");
    assert!(ids.contains(&STUDENT_ALERT) && ids.contains(&OTHER_ALERT), "{ids:?}");
    for staff in [STAFF_ALERT, STAFF_ID, STAFF_NAME] {
        assert!(!text.contains(staff), "the deputy's list --json holds `{staff}`:\n{text}");
    }
    let out = service.run_as(DDSL, &["show", STAFF_ALERT]);
    assert!(!out.status.success(), "the deputy was shown the staff case:\n{}", common::stdout(&out));
    assert!(!common::stdout(&out).contains(STAFF_NAME) && !common::stderr(&out).contains(STAFF_NAME));

    let out = service.run_as(NO_ROLE, &["list"]);
    assert_eq!(out.status.code(), Some(3), "{}", common::stderr(&out));
    assert!(out.stdout.is_empty(), "nothing is shown to a user with no role: {}", common::stdout(&out));
    let message = common::stderr(&out);
    assert!(message.contains(NO_ROLE) && message.contains("has no role"), "{message}");
    assert_eq!(message.trim_end().lines().count(), 1, "one plain line: {message}");
}

/// Issue 16 with real users: who takes a case is who the kernel says ran the command; the deputy sees who has
/// it, by the name `[people]` gives; an officer (here `vigil-norole`, given that role) sees nothing until the
/// DSL shares a student case with them, and a staff alert cannot be shared with them; the trail keeps the
/// user name beside the name.
#[test]
fn ownership_and_sharing_follow_the_kernels_identity() {
    if !can_run() {
        return;
    }
    let service = Service::start_with(
        &format!("officer = [{NO_ROLE:?}]\n"),
        &format!("[people]\n{DSL:?} = {{ name = \"A. Example\", title = \"DSL\" }}\n"),
    );
    let ok = |user: &str, args: &[&str]| {
        let out = service.run_as(user, args);
        assert!(out.status.success(), "{user} {args:?}: {}", common::stderr(&out));
        out
    };
    let list = |user: &str| -> Vec<serde_json::Value> {
        serde_json::from_slice(&ok(user, &["list", "--json"]).stdout).expect("json")
    };
    ok(DSL, &["case", STUDENT_ALERT, "take"]);
    let row = list(DDSL).into_iter().find(|c| c["id"] == STUDENT_ALERT).expect("the deputy's row");
    assert_eq!((row["owner"].as_str(), row["owner_name"].as_str()), (Some(DSL), Some("A. Example (DSL)")));
    let out = ok(DDSL, &["case", STUDENT_ALERT, "tick", "review-alert"]);
    assert!(
        common::stderr(&out).contains("this case is A. Example (DSL)'s"),
        "the deputy is told whose case it is: {}",
        common::stderr(&out)
    );

    assert!(list(NO_ROLE).is_empty(), "the officer sees nothing shared yet");
    ok(DSL, &["case", STUDENT_ALERT, "share", NO_ROLE, "--reason", "pastoral support agreed"]);
    let shared = list(NO_ROLE);
    assert_eq!(shared.iter().map(|c| c["id"].as_str()).collect::<Vec<_>>(), [Some(STUDENT_ALERT)]);
    let out = service.run_as(DSL, &["case", STAFF_ALERT, "share", NO_ROLE, "--reason", "x"]);
    assert_eq!(out.status.code(), Some(1), "{}", common::stderr(&out));
    assert!(common::stderr(&out).contains("a staff alert is never shared"), "{}", common::stderr(&out));
    let out = service.run_as(NO_ROLE, &["show", STAFF_ALERT]);
    assert!(!out.status.success() && !common::stdout(&out).contains(STAFF_NAME));

    let trail = common::stdout(&ok(DSL, &["audit", "show"]));
    assert!(trail.contains(&format!("{DSL} (A. Example (DSL))")), "{trail}");
    assert!(trail.lines().any(|l| l.contains(DSL) && l.contains("assigned the case to vigil-dsl")), "{trail}");
}
