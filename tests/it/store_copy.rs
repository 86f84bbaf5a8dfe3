//! `vigil store copy` (issue 18, "Moving in"), with the real binary and a real PostgreSQL (the tests'
//! cluster): a college's sled store, built through the service (decisions, notes, a closed case, a staff
//! alert, a screenshot, a handover note, the feed's cursor), copied into a school of the trust's database and
//! back into a new sled store, verified each way; a school that holds data refused and left as it was; a
//! role other than the DSL's refused.

use std::path::{Path, PathBuf};

use vigil::audit::{Trail, Verdict};
use vigil::domain::case::CaseCommand;
use vigil::domain::{AlertKey, Case};
use vigil::feed::protocol::Rejected;
use vigil::store::backend::CaseStore;
use vigil::store::copy::{Copyable, read_contents};
use vigil::store::postgres::{PgSettings, PgStore};
use vigil::store::{MailboxMark, Store, StoreKey};

use crate::backend_support::fresh_school;
use crate::common::{
    config_with_role, dsl, fixed_now, fixture_service, key_file_for, stderr, stdout, tick_all_required, vigil,
};

const MAILBOX: &str = "imap://alerts@imap.college.example:993/INBOX";

/// A college's data dir, its key beside it, and configs naming a school of a fresh database.
struct College {
    tmp: tempfile::TempDir,
    data: PathBuf,
    settings: PgSettings,
}

impl College {
    fn new() -> College {
        let tmp = tempfile::tempdir().expect("tmp");
        let data = tmp.path().join("data");
        College { settings: fresh_school("north"), tmp, data }
    }

    fn key(&self) -> StoreKey {
        StoreKey::file(key_file_for(&self.data))
    }

    /// A config giving the OS user `role`, the college's key, and `[storage]` naming the school.
    fn config(&self, role: &str) -> String {
        let dir = self.tmp.path().join(format!("config-{role}"));
        std::fs::create_dir_all(&dir).expect("dir");
        let base = std::fs::read_to_string(config_with_role(&dir, role)).expect("config");
        // The key is the college's, beside its data dir.
        let base = base.replace(&format!("{:?}", dir.join("store.key")), &format!("{:?}", key_file_for(&self.data)));
        let path = dir.join("config.toml");
        let (url, school) = (&self.settings.url, &self.settings.school);
        // The college reads an IMAP mailbox: its mark comes across by the name the config gives it.
        let text = format!(
            "{base}backend = \"postgres\"\nurl = {url:?}\nschool = {school:?}\n\n[mail]\nhost = \"imap.college.example\"\nuser = \"alerts\"\npassword_file = \"/nowhere/never-read\"\n"
        );
        std::fs::write(&path, text).expect("write");
        path.to_string_lossy().into_owned()
    }

    fn run(&self, role: &str, args: &[&str]) -> std::process::Output {
        let config = self.config(role);
        let data = self.data.to_string_lossy().into_owned();
        let mut all = vec!["--config", config.as_str(), "--data-dir", data.as_str()];
        all.extend_from_slice(args);
        vigil(&all)
    }

    fn school(&self) -> PgStore {
        PgStore::open(&self.settings, &self.key()).expect("open the school")
    }
}

/// The demo data through the service, then a morning's work on it: notes, a regrade, a closed case, a
/// staff alert's note, a screenshot, a handover note and its acknowledgement, a last look, a quarantined
/// alert and a mailbox's mark. Returns a case closed and one with a note.
fn a_mornings_work(dir: &Path) -> (AlertKey, AlertKey) {
    let svc = fixture_service(dir, dsl());
    let now = fixed_now();
    let queue = svc.queue(now).expect("queue");
    let key = |i: usize| queue[i].key.clone();
    let (closed, noted) = (key(0), key(1));
    svc.act(&noted, &CaseCommand::Note { text: "rang home: no answer".into() }, now).expect("note");
    svc.act(&noted, &CaseCommand::Take, now).expect("take");
    tick_all_required(&svc, &closed);
    svc.act(&closed, &CaseCommand::Close { outcome: "false-positive".into() }, now).expect("close");
    svc.act(&key(2), &CaseCommand::Note { text: "second look".into() }, now).expect("note");
    let staff = queue.iter().find(|c| c.staff).expect("a staff alert in the demo data").key.clone();
    svc.act(&staff, &CaseCommand::Note { text: "spoke to HR".into() }, now).expect("staff note");
    svc.open(&noted, now).expect("opened: a view recorded");
    svc.handover_note("HPC0001's mum rings back at 4pm", now).expect("handover note");
    svc.acknowledge_handover(None, None, now).expect("acknowledged");
    svc.since_last_look(now).expect("a last look");
    let store = svc.store();
    store.put_blob("mail-origin-1", b"a raw message").expect("blob");
    // A screenshot as the service caches it once fetched and checked (the feed's fetch is feed_screenshots').
    store.cache_blob("shot-1", b"\x89PNG a screenshot", 1 << 20).expect("screenshot");
    let bad = Rejected { source: None, id: None, raw: "{\"id\": 7".into(), reason: "not JSON".into() };
    store.ingest_page(&[], &[bad], 0, None, 1, now).expect("a quarantined alert");
    store.set_mailbox_mark(MAILBOX, &MailboxMark { uid_validity: 9, last_uid: 41 }).expect("mark");
    (closed, noted)
}

fn head_of(trail: &dyn Trail) -> vigil::audit::HeadMark {
    match trail.verify_against(None).expect("verify") {
        Verdict::Intact { head, .. } => head,
        other => panic!("the trail should verify: {other:?}"),
    }
}

/// Every case's fold, by case.
fn folds(store: &dyn CaseStore) -> Vec<(AlertKey, Option<Case>)> {
    let mut events: std::collections::BTreeMap<AlertKey, Vec<vigil::domain::CaseEvent>> = Default::default();
    for item in store.all_events() {
        let (key, event) = item.expect("event");
        events.entry(key).or_default().push(event);
    }
    events.into_iter().map(|(key, evs)| (key.clone(), Case::fold(key, &evs))).collect()
}

#[test]
fn the_copy_from_sled_and_back_verified() {
    let college = College::new();
    let (closed, noted) = a_mornings_work(&college.data);
    let original = Store::open(&college.data, &college.key()).expect("open");
    let (head, original_folds) = (head_of(&original), folds(&original));
    let original_contents = read_contents(&original, &[MAILBOX.to_string()]).expect("read");
    drop(original);

    let copied = college.run("dsl", &["store", "copy", "--to", "postgres"]);
    assert!(copied.status.success(), "{}{}", stdout(&copied), stderr(&copied));
    let said = stdout(&copied);
    assert!(said.contains(&format!("its head is the source's: {head}")), "{said}");
    let alerts = original_contents.alerts.len();
    assert!(said.contains(&format!("every case's fold ({alerts} cases)")), "{said}");
    let counts = format!("{alerts} alerts, {} events and {} audit records", original_contents.event_count(), head.seq);
    assert!(said.contains(&counts), "{said}");

    let verified = college.run("dsl", &["audit", "verify", "--expect", &head.to_string()]);
    assert!(verified.status.success(), "{}{}", stdout(&verified), stderr(&verified));
    let school = college.school();
    assert_eq!(head_of(&school), head);
    assert_eq!(folds(&school), original_folds);
    let closed_case = school.index_entry(&closed).expect("index").expect("indexed");
    assert!(!closed_case.case.status().is_open(), "the closed case is closed in the queue index too");
    assert_eq!(school.events(&noted).expect("events").len(), original_contents.events[&noted].len());
    assert_eq!(school.feed_state().expect("state").cursor.as_deref(), Some("c-all"));
    assert_eq!(school.handover_notes(fixed_now()).expect("notes")[0].text, "HPC0001's mum rings back at 4pm");
    assert_eq!(school.mailbox_mark(MAILBOX).expect("mark"), Some(MailboxMark { uid_validity: 9, last_uid: 41 }));
    assert_eq!(school.quarantined().expect("quarantine").len(), 1);
    // `vigil audit verify` ran a service on the school, whose retention pass worked out its hint.
    let hint = school.settled_since().expect("hint");
    drop(school);

    let back = college.tmp.path().join("back");
    let back_arg = back.to_string_lossy().into_owned();
    let returned = college.run("dsl", &["store", "copy", "--to", "sled", "--into", &back_arg]);
    assert!(returned.status.success(), "{}{}", stdout(&returned), stderr(&returned));
    let returned = Store::open(&back, &college.key()).expect("open the copy back");
    assert_eq!(head_of(&returned), head);
    assert_eq!(folds(&returned), original_folds);
    let mut again = read_contents(&returned, &[MAILBOX.to_string()]).expect("read");
    // Each store numbers handover notes by its own counter; everything else comes back as it was.
    assert_eq!(again.notes.len(), original_contents.notes.len());
    assert_eq!(again.notes[0].text, original_contents.notes[0].text);
    let numbering = |c: &mut vigil::store::copy::Contents| {
        for n in &mut c.notes {
            n.id = 0;
        }
        for a in &mut c.acks {
            a.up_to_note = a.up_to_note.map(|_| 0);
        }
    };
    let mut original_contents = original_contents;
    numbering(&mut again);
    numbering(&mut original_contents);
    assert_eq!(again.alerts, original_contents.alerts, "alerts");
    assert_eq!(again.events, original_contents.events, "events");
    assert_eq!(again.trail, original_contents.trail, "the audit trail, byte for byte");
    assert_eq!(
        (&again.notes, &again.acks, &again.looks),
        (&original_contents.notes, &original_contents.acks, &original_contents.looks),
        "handover notes and marks"
    );
    assert_eq!((&again.blobs, &again.cached_blobs), (&original_contents.blobs, &original_contents.cached_blobs));
    assert_eq!(again.mailbox_marks, original_contents.mailbox_marks, "the mailbox's mark");
    assert_eq!(again.feed_state, original_contents.feed_state, "the feed state");
    assert_eq!(again.quarantined, original_contents.quarantined, "the quarantine");
    assert_eq!(again.settled_since, hint, "retention's hint, as the school had it");
    original_contents.settled_since = hint;
    assert!(again == original_contents, "nothing else differs");
    let unread = returned.index_entry(&noted).expect("index").expect("indexed");
    assert!(unread.case.status().is_open());
    let again = college.run("dsl", &["store", "copy", "--to", "sled", "--into", &back_arg]);
    assert!(!again.status.success() && stderr(&again).contains("name a new directory"), "{}", stderr(&again));
}

#[test]
fn a_school_that_holds_data_is_refused_and_left_as_it_was() {
    let college = College::new();
    a_mornings_work(&college.data);
    let school = college.school();
    let alert = school.alerts().next();
    assert!(alert.is_none(), "a fresh school");
    school
        .audit_append(&vigil::audit::Entry::new(fixed_now(), "dsl", None, "listed the queue"))
        .expect("another service's record");
    let before = school.stored_trail().expect("trail");
    let refused = college.run("dsl", &["store", "copy", "--to", "postgres"]);
    assert!(!refused.status.success());
    let said = stderr(&refused);
    assert!(said.contains("already holds 1 audit records") && said.contains("nothing was written"), "{said}");
    assert!(said.contains("school the database does not hold yet"), "{said}");
    assert_eq!(school.stored_trail().expect("trail"), before, "the school is as it was");
    assert!(school.alerts().next().is_none(), "no alert went in");
}

#[test]
fn only_the_dsl_may_copy_the_store() {
    let college = College::new();
    a_mornings_work(&college.data);
    let refused = college.run("ddsl", &["store", "copy", "--to", "postgres"]);
    assert!(!refused.status.success());
    assert!(stderr(&refused).contains("may not copy the store"), "{}", stderr(&refused));
    assert_eq!(college.school().holds().expect("holds"), None, "nothing was written");
}
