//! Keymap overrides from real config files: a valid one applies; each invalid one is reported with the file
//! and the line, by the real binary at start (`vigil config check` runs the same check as the TUI).

use crate::common;

use std::path::PathBuf;

use vigil::app::keymap::{Command, KeyMode};
use vigil::config::Config;

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/keymaps").join(name)
}

#[test]
fn a_valid_override_rebinds_keys() {
    let (config, _) = Config::load(Some(&fixture("valid.toml"))).expect("config loads");
    let km = config.keymap().expect("valid keymap");
    let key =
        |c| crossterm::event::KeyEvent::new(crossterm::event::KeyCode::Char(c), crossterm::event::KeyModifiers::NONE);
    assert_eq!(km.lookup(&key('o'), KeyMode::Queue), Some(Command::Open));
    assert_eq!(km.lookup(&key('Q'), KeyMode::Detail), Some(Command::Quit));
    assert_eq!(km.lookup(&key('q'), KeyMode::Detail), None, "the override replaces the old keys");
}

#[test]
fn invalid_overrides_name_the_file_and_line() {
    for (name, line, want) in [
        ("unknown-action.toml", 5, "unknown action `opne` in [keys.queue]"),
        ("clash.toml", 5, "`j` is bound to both"),
        ("bad-key.toml", 5, "unknown key name `Hyper-Space`"),
        ("unknown-mode.toml", 5, "unknown mode [keys.qeueu]"),
    ] {
        let path = fixture(name);
        let (config, _) = Config::load(Some(&path)).expect("the TOML itself is valid");
        let err = config.keymap().expect_err(name);
        assert!(err.contains(&format!("{}:{line}: ", path.display())), "{name}: {err}");
        assert!(err.contains(want), "{name}: {err}");

        let out = common::vigil(&["--config", path.to_str().expect("utf8"), "--demo", "config", "check"]);
        assert_eq!(out.status.code(), Some(2), "{name}");
        assert!(common::stderr(&out).contains(want), "{name}: {}", common::stderr(&out));
    }
}
