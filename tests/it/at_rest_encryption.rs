//! At rest: the data dir is 0700 and its files 0600; vigil refuses a store others can read and says how to
//! fix it; alert content, case events, the index (names) and quarantined raw JSON are sealed with
//! XChaCha20-Poly1305, bound to their tree and key; the key comes from a key file outside the data dir
//! (created 0600 on first run) or a passphrase through argon2id; a wrong key gets a plain message.

use crate::access_support;
use crate::common;

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use access_support::{Env, alert_with_text, contains, feed, files_under, stderr, stdout};
use serde_json::json;
use vigil::config::Config;
use vigil::domain::AlertKey;
use vigil::domain::case::CaseCommand;
use vigil::feed::protocol::parse_page;
use vigil::store::{KeyError, Store, StoreError, StoreKey};

const MARK: &str = "RestMarkQ3-";

fn marked_page() -> vigil::feed::protocol::Page {
    let mut bad = alert_with_text("REST-3", "student", MARK, 3);
    bad["risk"] = json!(9);
    let alerts =
        vec![alert_with_text("REST-1", "student", MARK, 5), alert_with_text("REST-2", "student", MARK, 2), bad];
    let body = json!({"feed": "vigil.alert-feed/1", "alerts": alerts, "cursor": "c1", "more": false});
    parse_page(body.to_string().as_bytes()).expect("page")
}

fn service(store: Store) -> crate::common::Svc {
    let c = Config::default();
    crate::common::Svc::new(store, c.calendar(), c.due, c.levels.clone(), common::dsl())
}

fn mode(p: &Path) -> u32 {
    std::fs::symlink_metadata(p).expect("meta").permissions().mode() & 0o777
}

#[test]
fn content_is_sealed_on_disk_and_each_value_opens_only_in_its_place() {
    let tmp = tempfile::tempdir().expect("tmp");
    let data = tmp.path().join("data");
    let key = StoreKey::bytes([9; 32]);
    {
        let svc = service(Store::open(&data, &key).expect("open"));
        svc.ingest(&marked_page(), common::fixed_now()).expect("ingest");
        let k = AlertKey::new("smoothwall-monitor", "REST-1");
        svc.act(&k, &CaseCommand::Note { text: format!("{MARK}typed-note") }, common::fixed_now()).expect("note");
        svc.store().put_blob("shot", format!("{MARK}blob").as_bytes()).expect("blob");
        svc.store().cache_blob("sha256:00", format!("{MARK}cached").as_bytes(), 1 << 20).expect("cache");
        // A screenshot without a checksum, whose reference names the student: its cache key does not.
        let shot: vigil::domain::Screenshot =
            serde_json::from_value(json!({"url": format!("shots/{MARK}.png"), "media_type": "image/png"}))
                .expect("screenshot");
        let name = vigil::service::shots::cache_name(&k, &shot);
        svc.store().cache_blob(&name, b"png", 1 << 20).expect("cache");
        assert_eq!(svc.store().blob("shot").expect("blob"), Some(format!("{MARK}blob").into_bytes()));
        svc.store().flush().expect("flush");
    }
    for file in files_under(&data) {
        let bytes = std::fs::read(&file).expect("read");
        assert!(!contains(&bytes, MARK.as_bytes()), "plaintext content in {}", file.display());
        assert!(!contains(&bytes, b"subject-name"), "plaintext in {}", file.display());
    }
    {
        let db = access_support::open_sled(&data.join("db"));
        for name in ["alerts", "events", "index-open", "index-closed", "quarantine"] {
            let tree = db.open_tree(name).expect("tree");
            // No case here is closed or withdrawn.
            assert!(name == "index-closed" || !tree.is_empty(), "{name} has values");
            for kv in tree.iter() {
                let (_, v) = kv.expect("kv");
                assert_eq!(v.first(), Some(&0x01), "{name}: every value sealed");
            }
        }
        // Move REST-1's sealed alert over REST-2's: it must not open there.
        let alerts = db.open_tree("alerts").expect("alerts");
        let mut keys = alerts.iter().keys().map(|k| k.expect("k")).collect::<Vec<_>>();
        keys.sort();
        let one = alerts.get(&keys[0]).expect("get").expect("v");
        alerts.insert(&keys[1], one).expect("move");
        db.flush().expect("flush");
    }
    let store = Store::open(&data, &key).expect("reopen");
    let moved = store.alert(&AlertKey::new("smoothwall-monitor", "REST-2"));
    let err = moved.expect_err("a value moved to another key is refused, not read as the other case").to_string();
    assert!(err.contains("integrity check"), "{err}");
    assert!(store.alert(&AlertKey::new("smoothwall-monitor", "REST-1")).expect("read").is_some());
}

#[test]
fn a_wrong_key_gets_a_plain_message() {
    let tmp = tempfile::tempdir().expect("tmp");
    let data = tmp.path().join("data");
    drop(Store::open(&data, &StoreKey::bytes([1; 32])).expect("create"));
    let err = Store::open(&data, &StoreKey::bytes([2; 32])).err().expect("wrong key");
    assert!(matches!(err, StoreError::Key(KeyError::WrongKey { .. })), "{err:?}");
    assert!(err.to_string().starts_with("this store was encrypted with another key: check"), "{err}");
    drop(Store::open(&data, &StoreKey::bytes([1; 32])).expect("the right key still opens it"));

    // Through the binary: another key file in the config.
    let feed = feed(vec![alert_with_text("K-1", "student", MARK, 3)]);
    let env = Env::with_role(tmp.path(), "dsl");
    let env = Env { data: tmp.path().join("bin-data"), ..env };
    env.ok(&["--feed-url", &feed.url, "sync", "--once"]);
    let other = tmp.path().join("other.key");
    std::fs::write(&other, [5u8; 32]).expect("write");
    std::fs::set_permissions(&other, std::fs::Permissions::from_mode(0o600)).expect("chmod");
    let config = std::fs::read_to_string(&env.config).expect("config");
    std::fs::write(&env.config, config.replace("store.key", "other.key")).expect("config");
    let out = env.run(&["list"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains("this store was encrypted with another key: check [storage] key_file"), "{err}");
    assert!(err.contains("other.key"), "names the key file it used: {err}");
    assert_eq!(err.lines().count(), 1, "one line, no garbage: {err}");
    assert!(stdout(&out).is_empty());

    // A key file that has gone missing is not silently replaced by a new one.
    std::fs::remove_file(&other).expect("rm");
    let out = env.run(&["list"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("is missing, and this store was encrypted with it"), "{}", stderr(&out));
    assert!(!other.exists(), "no new key was made for an existing store");
    drop(feed);
}

#[test]
fn the_key_file_is_made_private_outside_the_data_dir_and_so_is_every_store_file() {
    let tmp = tempfile::tempdir().expect("tmp");
    let feed = feed(vec![alert_with_text("P-1", "student", MARK, 3)]);
    let env = Env::with_role(tmp.path(), "dsl");
    assert!(!env.key_file().exists());
    env.ok(&["--feed-url", &feed.url, "sync", "--once"]);
    env.ok(&["show", "P-1"]);
    let key = env.key_file();
    assert_eq!(mode(&key), 0o600, "the key file is created 0600");
    assert_eq!(std::fs::read(&key).expect("key").len(), 32, "32 random bytes");
    assert!(!key.starts_with(&env.data));
    assert_eq!(mode(&env.data), 0o700, "the data dir is 0700");
    let files = files_under(&env.data);
    assert!(files.len() >= 3, "sled's files, the lock and the log: {files:?}");
    for f in files {
        assert_eq!(mode(&f), 0o600, "{} is its owner's alone", f.display());
    }

    // A key file inside the data dir is refused: a copy of the data dir would carry its key.
    let config = std::fs::read_to_string(&env.config).expect("config");
    let inside = env.data.join("store.key");
    std::fs::write(&env.config, config.replace(&format!("{:?}", key), &format!("{inside:?}"))).expect("config");
    let out = env.run(&["list"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("is inside the data dir"), "{}", stderr(&out));
    assert!(!inside.exists());
    drop(feed);
}

#[test]
fn a_store_others_can_read_is_refused_with_the_fix() {
    let tmp = tempfile::tempdir().expect("tmp");
    let env = Env::with_role(tmp.path(), "dsl");
    env.ok(&["list"]);
    let data = env.data.display().to_string();

    std::fs::set_permissions(&env.data, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    let out = env.run(&["list"]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(err.contains("can be read by other users"), "{err}");
    assert!(err.contains(&format!("chmod -R go-rwx {data}")), "says how to fix it: {err}");
    assert!(stdout(&out).is_empty());

    std::fs::set_permissions(&env.data, std::fs::Permissions::from_mode(0o700)).expect("chmod");
    let conf = env.data.join("db").join("conf");
    assert!(conf.exists());
    std::fs::set_permissions(&conf, std::fs::Permissions::from_mode(0o644)).expect("chmod");
    let err = stderr(&env.run(&["list"]));
    assert!(err.contains(&format!("{} is mode 644", conf.display())), "names the file: {err}");

    let fix = std::process::Command::new("chmod").args(["-R", "go-rwx", &data]).status().expect("chmod runs");
    assert!(fix.success());
    env.ok(&["list"]);

    // The key file too.
    std::fs::set_permissions(env.key_file(), std::fs::Permissions::from_mode(0o640)).expect("chmod");
    let out = env.run(&["list"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains(&format!("fix it with `chmod 600 {}`", env.key_file().display())),
        "{}",
        stderr(&out)
    );
}

#[test]
fn a_passphrase_through_argon2id_instead_of_a_key_file() {
    let tmp = tempfile::tempdir().expect("tmp");
    let feed = feed(vec![alert_with_text("PW-1", "student", MARK, 3)]);
    let env = Env::with_role(tmp.path(), "dsl");
    let pass = [("VIGIL_PASSPHRASE", "correct horse battery staple")];
    let out = env.run_with(&["--feed-url", &feed.url, "sync", "--once"], &pass);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(!env.key_file().exists(), "no key file when a passphrase is given");
    let out = env.run_with(&["list"], &pass);
    assert!(stdout(&out).contains("PW-1"), "{}", stderr(&out));

    let out = env.run_with(&["list"], &[("VIGIL_PASSPHRASE", "wrong horse")]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out)
            .contains("this store was encrypted with another key: check VIGIL_PASSPHRASE or [storage] passphrase_file"),
        "{}",
        stderr(&out)
    );
    let out = env.run(&["list"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("this store is encrypted with a passphrase"), "{}", stderr(&out));
    assert!(!env.key_file().exists());

    // The same passphrase from a file (0600 only).
    let file = tmp.path().join("passphrase");
    std::fs::write(&file, "correct horse battery staple\n").expect("write");
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600)).expect("chmod");
    let config = std::fs::read_to_string(&env.config).expect("config");
    let key_line = config.lines().find(|l| l.starts_with("key_file")).expect("key line").to_string();
    std::fs::write(&env.config, config.replace(&key_line, &format!("passphrase_file = {file:?}"))).expect("config");
    let out = env.run(&["list"]);
    assert!(stdout(&out).contains("PW-1"), "{}", stderr(&out));
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).expect("chmod");
    let out = env.run(&["list"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("chmod 600"), "{}", stderr(&out));

    // The salt is in the store's meta tree, the passphrase nowhere.
    for f in files_under(&env.data) {
        assert!(!contains(&std::fs::read(&f).expect("read"), b"correct horse"), "{}", f.display());
    }
    drop(feed);
}

#[test]
fn a_store_written_before_encryption_is_sealed_in_place() {
    let tmp = tempfile::tempdir().expect("tmp");
    let data = tmp.path().join("data");
    std::fs::create_dir(&data).expect("mkdir");
    std::fs::set_permissions(&data, std::fs::Permissions::from_mode(0o700)).expect("chmod");
    let page = marked_page();
    let alert = &page.alerts[0];
    {
        let db = access_support::open_sled(&data.join("db"));
        let k = common::case_key(&alert.key.source, &alert.key.id);
        let envelope = json!({"v": 1, "data": alert});
        db.open_tree("alerts").expect("t").insert(&k, serde_json::to_vec(&envelope).expect("json")).expect("put");
        let event = vigil::domain::CaseEvent::new(
            common::fixed_now(),
            "feed",
            vigil::domain::EventKind::Raised {
                revision: 1,
                level: vigil::domain::Level::High,
                illegal_path: false,
                template_version: 1,
            },
        );
        let mut ek = k.clone();
        ek.extend_from_slice(&1u64.to_be_bytes());
        let envelope = json!({"v": 1, "data": event});
        db.open_tree("events").expect("t").insert(ek, serde_json::to_vec(&envelope).expect("json")).expect("put");
        db.flush().expect("flush");
    }
    // An old store written under a 022 umask: vigil would refuse it until this (its message says so).
    let data_s = data.to_str().expect("utf8");
    assert!(std::process::Command::new("chmod").args(["-R", "go-rwx", data_s]).status().expect("chmod").success());
    let svc = service(Store::open(&data, &StoreKey::bytes([4; 32])).expect("open seals it"));
    let queue = svc.queue(common::fixed_now()).expect("queue");
    assert_eq!(queue.len(), 1);
    assert_eq!(queue[0].id, "REST-1");
    assert_eq!(svc.store().alert(&alert.key).expect("read").as_ref(), Some(alert));
    drop(svc);
    // (sled is log-structured: the old plaintext may stay in its file until sled reuses that space.)
    let db = access_support::open_sled(&data.join("db"));
    for name in ["alerts", "events", "index-open"] {
        let tree = db.open_tree(name).expect("t");
        assert!(!tree.is_empty(), "{name} has values");
        for kv in tree.iter() {
            let (_, v) = kv.expect("kv");
            assert_eq!(v.first(), Some(&0x01), "{name}: sealed in place");
        }
    }
}
