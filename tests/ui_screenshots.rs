//! Screenshots in the terminal: fetched from the real demo feed over loopback, prepared off the UI task,
//! drawn in half-blocks (which work over SSH and in tmux); never for a suspected-illegal alert.

mod common;

use common::*;
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use tokio::sync::{Notify, mpsc};
use vigil::app::keymap::Command;
use vigil::app::{Action, Effect, ShotStatus, State, update};
use vigil::feed::client::FeedClient;
use vigil::tui::{Workers, run_effects_with};
use vigil::ui::theme::ThemeName;
use vigil::ui::{Theme, render};

async fn open_case(id: &str) -> (State, Option<Action>, tempfile::TempDir) {
    let tmp = tempfile::tempdir().expect("tmp");
    let service = fixture_service(&tmp.path().join("data"), dsl());
    let (addr, _server) =
        vigil::feed::demo::spawn(([127, 0, 0, 1], 0).into(), demo_data(), None, None).await.expect("demo feed");
    let timeouts = vigil::config::Config::default().timeouts();
    let client = FeedClient::new(&format!("http://{addr}"), None, None, timeouts).expect("client");
    let picker = ratatui_image::picker::Picker::halfblocks();
    let (tx, mut rx) = mpsc::unbounded_channel();
    let retry = Notify::new();
    let workers = Workers { retry: &retry, client: Some(&client), picker: Some(&picker), results: Some(&tx) };
    let mut state = State::new(service.viewer().clone(), fixed_now());
    state.tz = service.calendar().time_zone();
    run_effects_with(&mut state, &service, &workers, &fixed_now, vec![Effect::LoadQueue]);
    let row = state.visible().position(|c| c.id == id).expect("case listed");
    state.selected = row;
    let effects = update(&mut state, Action::Command(Command::Open));
    run_effects_with(&mut state, &service, &workers, &fixed_now, effects);
    drop(tx);
    let loaded = match &state.screenshot {
        Some(v) if matches!(v.status, ShotStatus::Loading) => rx.recv().await,
        _ => None,
    };
    (state, loaded, tmp)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_screenshot_is_fetched_and_drawn_in_half_blocks() {
    let (mut state, loaded, _tmp) = open_case("SW-2026-004506").await;
    let loaded = loaded.expect("a result comes back from the worker");
    let _ = update(&mut state, loaded);
    let view = state.screenshot.as_ref().expect("a screenshot for this case");
    assert!(matches!(view.status, ShotStatus::Ready(_)), "{:?}", view.status);
    let mut t = Terminal::new(TestBackend::new(160, 48)).expect("terminal");
    t.draw(|f| render(&state, &Theme::new(ThemeName::Dark, false), f)).expect("draw");
    let buf = t.backend().buffer();
    let half_blocks = (0..160u16)
        .flat_map(|x| (0..48u16).map(move |y| (x, y)))
        .filter(|&(x, y)| matches!(buf[(x, y)].symbol(), "▀" | "▄"))
        .count();
    assert!(half_blocks > 100, "the picture is drawn ({half_blocks} half-block cells)");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_suspected_illegal_alert_never_asks_for_its_screenshot() {
    let (state, loaded, _tmp) = open_case("SW-2026-004538").await;
    assert!(state.screenshot.is_none(), "no screenshot view at all");
    assert!(loaded.is_none(), "no fetch was started");
    let d = state.detail.as_ref().expect("open");
    assert!(d.alert.suspected_illegal);
    let mut t = Terminal::new(TestBackend::new(160, 48)).expect("terminal");
    t.draw(|f| render(&state, &Theme::new(ThemeName::Dark, false), f)).expect("draw");
    let text: String = {
        let buf = t.backend().buffer();
        (0..48u16).map(|y| (0..160u16).map(|x| buf[(x, y)].symbol().to_string()).collect::<String>() + "\n").collect()
    };
    assert!(text.contains("screenshot withheld: suspected illegal content"), "{text}");
    assert!(!text.contains("never-fetch"), "not even the reference is shown");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_case_on_the_illegal_content_path_never_asks_for_its_screenshot_either() {
    // Grooming at High takes the illegal-content path although the vendor did not flag it.
    let (state, loaded, tmp) = open_case("SW-2026-004517").await;
    let d = state.detail.as_ref().expect("open");
    assert!(!d.alert.suspected_illegal && d.case.illegal_path);
    assert!(state.screenshot.is_none() && loaded.is_none(), "no fetch was started");
    // And the fetch itself refuses it, whoever asks.
    let store_dir = tmp.path().join("data");
    drop(state);
    let key = vigil::store::StoreKey::file(key_file_for(&store_dir));
    let store = vigil::store::Store::open(&store_dir, &key).expect("store");
    let alert = store.alert(&d_key()).expect("read").expect("stored");
    let (addr, _server) =
        vigil::feed::demo::spawn(([127, 0, 0, 1], 0).into(), demo_data(), None, None).await.expect("demo feed");
    let client = FeedClient::new(&format!("http://{addr}"), None, None, vigil::config::Config::default().timeouts())
        .expect("client");
    let got = vigil::feed::screenshots::fetch_screenshot(&client, &store, &alert, 0).await;
    assert!(matches!(got, Err(vigil::feed::screenshots::ScreenshotError::IllegalPath)), "{got:?}");
}

fn d_key() -> vigil::domain::AlertKey {
    vigil::domain::AlertKey::new("smoothwall-monitor", "SW-2026-004517")
}
