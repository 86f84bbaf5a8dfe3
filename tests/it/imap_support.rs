//! A real Dovecot for the IMAP tests: started from a temp dir with its own config (its own base and state
//! dirs, its log in the temp dir, TLS required with a certificate signed by a CA the test makes, one
//! password user, maildirs under the temp dir), listening on a loopback port the test picked, and stopped
//! on drop. Also: appending, listing and renaming over IMAP with the same crate vigil uses, and a TCP proxy
//! that cuts the connection after a number of the server's bytes.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use futures_util::TryStreamExt;
use vigil::mail::imap::{BATCH, Login, Mailbox};
use zeroize::Zeroizing;

pub const USER: &str = "alerts";
pub const PASSWORD: &str = "correct-horse-for-tests";

/// The server's binary, or a failure that says what to install (never a silent skip).
fn dovecot_binary() -> PathBuf {
    for candidate in ["/usr/sbin/dovecot", "/usr/local/sbin/dovecot"] {
        if Path::new(candidate).exists() {
            return PathBuf::from(candidate);
        }
    }
    panic!(
        "the IMAP tests need a real Dovecot: install it with `apt-get install dovecot-imapd` (then `service dovecot stop`: \
         the tests start their own); .ci/run installs it"
    );
}

fn run(cmd: &mut Command) {
    let out = cmd.output().unwrap_or_else(|e| panic!("{cmd:?} does not run: {e}"));
    assert!(out.status.success(), "{cmd:?} failed: {}", String::from_utf8_lossy(&out.stderr));
}

/// A running Dovecot.
pub struct Dovecot {
    pub dir: tempfile::TempDir,
    pub port: u16,
    /// The CA that signed the server's certificate (what `[mail] ca_file` names).
    pub ca: PathBuf,
    conf: PathBuf,
    child: Option<Child>,
}

impl Dovecot {
    pub fn start() -> Dovecot {
        Dovecot::start_with(None)
    }

    /// A server that also takes an XOAUTH2 login, checking each token at `introspection` (an OAuth2 token
    /// introspection endpoint, RFC 7662: Dovecot POSTs `token=...` and reads `active` and `username`).
    pub fn start_oauth(introspection: &str) -> Dovecot {
        Dovecot::start_with(Some(introspection))
    }

    fn start_with(introspection: Option<&str>) -> Dovecot {
        let binary = dovecot_binary();
        let dir = tempfile::tempdir().expect("tempdir");
        let d = dir.path();
        // Dovecot's own processes (not root) read the passwd file and the mail homes under it.
        std::fs::set_permissions(d, std::os::unix::fs::PermissionsExt::from_mode(0o755)).expect("chmod");
        crate::common::tls::make_ca(d);
        for sub in ["run", "state", "home"] {
            std::fs::create_dir(d.join(sub)).expect("mkdir");
        }
        // The mail user is `nobody`: Dovecot does not deliver mail as root.
        run(Command::new("chown").arg("65534:65534").arg(d.join("home")));
        std::fs::write(d.join("passwd"), format!("{USER}:{{PLAIN}}{PASSWORD}\n")).expect("passwd");
        // Read by Dovecot's auth process (its own user); the store's umask would make it the test's alone.
        std::fs::set_permissions(d.join("passwd"), std::os::unix::fs::PermissionsExt::from_mode(0o644)).expect("chmod");
        let port = {
            let probe = TcpListener::bind("127.0.0.1:0").expect("a free port");
            probe.local_addr().expect("addr").port()
        };
        let p = |name: &str| d.join(name).display().to_string();
        let (mechanisms, oauth_passdb) = match introspection {
            None => ("plain login", String::new()),
            Some(url) => {
                std::fs::write(
                    d.join("oauth2.conf"),
                    format!(
                        "introspection_mode = post\nintrospection_url = {url}\nusername_attribute = username\n\
                         active_attribute = active\nactive_value = true\n"
                    ),
                )
                .expect("oauth2.conf");
                std::fs::set_permissions(d.join("oauth2.conf"), std::os::unix::fs::PermissionsExt::from_mode(0o644))
                    .expect("chmod");
                ("plain login xoauth2", format!("passdb {{\n  driver = oauth2\n  args = {}\n}}\n", p("oauth2.conf")))
            }
        };
        let conf = d.join("dovecot.conf");
        std::fs::write(
            &conf,
            format!(
                "base_dir = {run}\nstate_dir = {state}\nlog_path = {log}\nprotocols = imap\nlisten = 127.0.0.1\n\
                 ssl = required\nssl_cert = <{cert}\nssl_key = <{key}\nauth_failure_delay = 0\n\
                 auth_mechanisms = {mechanisms}\nmail_location = maildir:~/Maildir\n\
                 service imap-login {{\n  inet_listener imap {{\n    port = 0\n  }}\n  inet_listener imaps {{\n    port = {port}\n    ssl = yes\n  }}\n}}\n\
                 passdb {{\n  driver = passwd-file\n  args = scheme=PLAIN {passwd}\n}}\n{oauth_passdb}\
                 userdb {{\n  driver = static\n  args = uid=65534 gid=65534 home={home}/%u\n}}\n",
                run = p("run"),
                state = p("state"),
                log = p("dovecot.log"),
                cert = p("server.pem"),
                key = p("server.key"),
                passwd = p("passwd"),
                home = p("home"),
            ),
        )
        .expect("dovecot.conf");
        let child = Command::new(binary)
            .arg("-F")
            .arg("-c")
            .arg(&conf)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("dovecot starts");
        let mut dovecot = Dovecot { ca: d.join("ca.pem"), conf, port, child: Some(child), dir };
        dovecot.wait_listening();
        dovecot
    }

    /// A bounded retry on connecting: Dovecot is up once its port accepts.
    fn wait_listening(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if std::net::TcpStream::connect(("127.0.0.1", self.port)).is_ok() {
                return;
            }
            if let Some(child) = self.child.as_mut()
                && let Ok(Some(status)) = child.try_wait()
            {
                panic!("dovecot stopped ({status}) before listening:\n{}", self.log());
            }
            assert!(Instant::now() < deadline, "dovecot did not listen within 20 s:\n{}", self.log());
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("dovecot.log")).unwrap_or_default()
    }

    /// The mailbox on this server, through `port` (this server's, or a proxy's in front of it).
    pub fn mailbox_via(&self, port: u16, password: &str, folder: &str, move_to: Option<&str>) -> Mailbox {
        Mailbox {
            host: "127.0.0.1".into(),
            port,
            ca_file: Some(self.ca.clone()),
            login: Login::Password { user: USER.into(), password: Zeroizing::new(password.into()) },
            folder: folder.into(),
            move_to: move_to.map(str::to_string),
            batch: BATCH,
        }
    }

    pub fn mailbox(&self, folder: &str, move_to: Option<&str>) -> Mailbox {
        self.mailbox_via(self.port, PASSWORD, folder, move_to)
    }

    /// `[mail]` for a config, its password in `dir/imap-password` (mode 0600).
    pub fn config(&self, dir: &Path, move_to: Option<&str>) -> String {
        let secret = dir.join("imap-password");
        std::fs::write(&secret, format!("{PASSWORD}\n")).expect("password file");
        std::fs::set_permissions(&secret, std::os::unix::fs::PermissionsExt::from_mode(0o600)).expect("chmod");
        // A copy: the config outlives this server in a test that stops it.
        let ca = dir.join("imap-ca.pem");
        std::fs::copy(&self.ca, &ca).expect("copy the CA");
        let move_to = move_to.map(|m| format!("move_to = {m:?}\n")).unwrap_or_default();
        format!(
            "\n[mail]\nhost = \"127.0.0.1\"\nport = {}\nca_file = {ca:?}\nuser = {USER:?}\npassword_file = {secret:?}\n{move_to}",
            self.port
        )
    }

    async fn session(&self) -> vigil::mail::imap::ImapSession {
        match vigil::mail::imap::connect(&self.mailbox("INBOX", None)).await {
            Ok(s) => s,
            Err(e) => panic!("the test cannot log in: {e:?}\n{}", self.log()),
        }
    }

    /// Appends `messages` to `folder` over IMAP.
    pub async fn append(&self, folder: &str, messages: &[Vec<u8>]) {
        let mut s = self.session().await;
        for m in messages {
            s.append(folder, None, None, m).await.expect("APPEND");
        }
        s.logout().await.expect("LOGOUT");
    }

    /// The UIDs in `folder`, and its UIDVALIDITY.
    pub async fn uids(&self, folder: &str) -> (Vec<u32>, u32) {
        let mut s = self.session().await;
        let mailbox = s.examine(folder).await.expect("EXAMINE");
        let mut uids: Vec<u32> = s.uid_search("ALL").await.expect("SEARCH").into_iter().collect();
        uids.sort_unstable();
        s.logout().await.expect("LOGOUT");
        (uids, mailbox.uid_validity.unwrap_or(0))
    }

    pub async fn create(&self, folder: &str) {
        let mut s = self.session().await;
        s.create(folder).await.expect("CREATE");
        s.logout().await.expect("LOGOUT");
    }

    pub async fn delete(&self, folder: &str) {
        let mut s = self.session().await;
        s.delete(folder).await.expect("DELETE");
        s.logout().await.expect("LOGOUT");
    }

    /// Every message's bytes in `folder` (to check what was moved).
    pub async fn count(&self, folder: &str) -> usize {
        let mut s = self.session().await;
        s.examine(folder).await.expect("EXAMINE");
        let n = s.uid_fetch("1:*", "UID").await.expect("FETCH").try_collect::<Vec<_>>().await.map(|v| v.len());
        s.logout().await.expect("LOGOUT");
        n.unwrap_or(0)
    }
}

impl Drop for Dovecot {
    fn drop(&mut self) {
        let _ = Command::new("doveadm").arg("-c").arg(&self.conf).arg("stop").output();
        if let Some(mut child) = self.child.take() {
            let deadline = Instant::now() + Duration::from_secs(5);
            while Instant::now() < deadline {
                if let Ok(Some(_)) = child.try_wait() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// A fixture, its line ends made CRLF as IMAP carries them.
pub fn fixture(name: &str) -> Vec<u8> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/mail").join(name);
    crlf(&std::fs::read_to_string(path).expect("fixture"))
}

pub fn crlf(text: &str) -> Vec<u8> {
    text.replace("\r\n", "\n").replace('\n', "\r\n").into_bytes()
}

/// A loopback TCP proxy to `upstream` that closes a connection once it has passed `cut_after` of the
/// server's bytes (`usize::MAX`: never). Runs until the test's runtime ends.
pub struct CuttingProxy {
    pub port: u16,
    pub cut_after: Arc<AtomicUsize>,
}

impl CuttingProxy {
    pub async fn start(upstream: u16) -> CuttingProxy {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let cut_after = Arc::new(AtomicUsize::new(usize::MAX));
        let cut = cut_after.clone();
        tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let Ok(server) = tokio::net::TcpStream::connect(("127.0.0.1", upstream)).await else { continue };
                let limit = cut.load(Ordering::SeqCst);
                let (mut client_read, mut client_write) = client.into_split();
                let (mut server_read, mut server_write) = server.into_split();
                let up = tokio::spawn(async move {
                    let _ = tokio::io::copy(&mut client_read, &mut server_write).await;
                });
                tokio::spawn(async move {
                    let mut passed = 0usize;
                    let mut buf = vec![0u8; 16 << 10];
                    loop {
                        let n = match server_read.read(&mut buf).await {
                            Ok(0) | Err(_) => break,
                            Ok(n) => n,
                        };
                        let n = n.min(limit.saturating_sub(passed));
                        if client_write.write_all(&buf[..n]).await.is_err() {
                            break;
                        }
                        passed += n;
                        if passed >= limit {
                            break; // the cut: both halves are dropped
                        }
                    }
                    up.abort();
                });
            }
        });
        CuttingProxy { port, cut_after }
    }
}
