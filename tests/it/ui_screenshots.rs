//! Screenshots in the terminal: fetched from the real demo feed over loopback, prepared off the UI task,
//! drawn in half-blocks (which work over SSH and in tmux); never for a suspected-illegal alert.

use crate::common;

use common::*;
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use tokio::sync::{Notify, mpsc};
use vigil::app::keymap::Command;
use vigil::app::{Action, Effect, Mode, ShotFit, ShotStatus, State, update};
use vigil::feed::client::FeedClient;
use vigil::tui::{Workers, run_effects_with};
use vigil::ui::theme::ThemeName;
use vigil::ui::{Theme, render};

async fn open_case(id: &str) -> (State, Option<Action>, tempfile::TempDir) {
    let tmp = tempfile::tempdir().expect("tmp");
    let service = fixture_service(&tmp.path().join("data"), dsl());
    let link = std::cell::RefCell::new(vigil::tui::Link::new(service.session.clone()));
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
    run_effects_with(&mut state, &mut link.borrow_mut(), &workers, &fixed_now, vec![Effect::LoadQueue]);
    let row = state.visible().position(|c| c.id == id).expect("case listed");
    state.selected = row;
    let effects = update(&mut state, Action::Command(Command::Open));
    run_effects_with(&mut state, &mut link.borrow_mut(), &workers, &fixed_now, effects);
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
    // And the service refuses it, whoever asks.
    drop(state);
    let service = crate::common::empty_service(&tmp.path().join("data"), dsl());
    let got = service.screenshot(&d_key(), 0);
    assert!(
        matches!(
            got,
            Err(vigil::service::ServiceError::Screenshot(vigil::feed::screenshots::ScreenshotError::IllegalPath))
        ),
        "{got:?}"
    );
}

fn d_key() -> vigil::domain::AlertKey {
    vigil::domain::AlertKey::new("smoothwall-monitor", "SW-2026-004517")
}

fn half_block_cells(t: &Terminal<TestBackend>) -> usize {
    let buf = t.backend().buffer();
    let area = buf.area;
    (0..area.width)
        .flat_map(|x| (0..area.height).map(move |y| (x, y)))
        .filter(|&(x, y)| matches!(buf[(x, y)].symbol(), "▀" | "▄"))
        .count()
}

fn draw(state: &State, w: u16, h: u16) -> Terminal<TestBackend> {
    let mut t = Terminal::new(TestBackend::new(w, h)).expect("terminal");
    t.draw(|f| render(state, &Theme::new(ThemeName::Dark, false), f)).expect("draw");
    t
}

/// At 80x24 the case pane has no room for a picture; `v` shows the screenshot over the whole screen, scaled
/// to it, with its view on the audit trail like any other; Esc goes back. A resize prepares it again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_screenshot_can_be_seen_full_screen_and_the_view_is_recorded() {
    let tmp = tempfile::tempdir().expect("tmp");
    let service = fixture_service(&tmp.path().join("data"), dsl());
    let link = std::cell::RefCell::new(vigil::tui::Link::new(service.session.clone()));
    let (addr, _server) =
        vigil::feed::demo::spawn(([127, 0, 0, 1], 0).into(), demo_data(), None, None).await.expect("demo feed");
    let client = FeedClient::new(&format!("http://{addr}"), None, None, vigil::config::Config::default().timeouts())
        .expect("client");
    let picker = ratatui_image::picker::Picker::halfblocks();
    let (tx, mut rx) = mpsc::unbounded_channel();
    let retry = Notify::new();
    let workers = Workers { retry: &retry, client: Some(&client), picker: Some(&picker), results: Some(&tx) };
    let mut state = State::new(service.viewer().clone(), fixed_now());
    state.tz = service.calendar().time_zone();
    let act = |state: &mut State, action: Action| {
        let effects = update(state, action);
        run_effects_with(state, &mut link.borrow_mut(), &workers, &fixed_now, effects.clone());
        effects
    };
    act(&mut state, Action::Resized(ratatui::layout::Size { width: 80, height: 24 }));
    run_effects_with(&mut state, &mut link.borrow_mut(), &workers, &fixed_now, vec![Effect::LoadQueue]);
    let row = state.visible().position(|c| c.id == "SW-2026-004506").expect("listed");
    state.selected = row;
    act(&mut state, Action::Command(Command::Open));
    let pane = rx.recv().await.expect("the pane's picture");
    act(&mut state, pane);
    let t = draw(&state, 80, 24);
    assert_eq!(half_block_cells(&t), 0, "no room for the picture in the case pane at 80x24");
    let screen: String =
        (0..24u16).map(|y| (0..80u16).map(|x| t.backend().buffer()[(x, y)].symbol()).collect::<String>()).collect();
    assert!(screen.contains("v: see the screenshot full screen"), "the case says how to see it: {screen}");
    let views = |what: &str| {
        let records = service.store().audit_records().expect("audit");
        records
            .iter()
            .filter(|r| r.what == what && r.case.as_deref() == Some("smoothwall-monitor:SW-2026-004506"))
            .count()
    };
    assert_eq!(views("showed a screenshot full screen"), 0);

    let effects = act(&mut state, Action::Command(Command::ViewScreenshot));
    let fit = ShotFit::Screen { width: 80, height: 22 };
    assert!(effects.contains(&Effect::FetchScreenshot { key: key(), index: 0, fit }), "{effects:?}");
    assert!(matches!(&state.mode, Mode::Picture(v) if v.fit == fit));
    let loaded = rx.recv().await.expect("the full-screen picture");
    act(&mut state, loaded);
    assert!(matches!(&state.mode, Mode::Picture(v) if matches!(v.status, ShotStatus::Ready(_))));
    let t = draw(&state, 80, 24);
    let cells = half_block_cells(&t);
    assert!(cells > 1000, "the picture fills the screen ({cells} half-block cells)");
    assert_eq!(views("showed a screenshot full screen"), 1, "the view is on the audit trail");

    // A bigger window gets the picture prepared for it (and recorded again: it is shown again).
    let effects = act(&mut state, Action::Resized(ratatui::layout::Size { width: 120, height: 40 }));
    let fit = ShotFit::Screen { width: 120, height: 38 };
    assert!(effects.contains(&Effect::FetchScreenshot { key: key(), index: 0, fit }), "{effects:?}");
    let loaded = rx.recv().await.expect("prepared again");
    act(&mut state, loaded);
    assert!(half_block_cells(&draw(&state, 120, 40)) > cells, "bigger on the bigger screen");

    act(&mut state, Action::Command(Command::CloseHelp));
    assert_eq!(state.mode, Mode::Normal, "Esc goes back to the case");
}

/// No way round the illegal-content path: `v` on a suspected-illegal alert fetches nothing and says why.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_suspected_illegal_alert_has_no_full_screen_view_either() {
    let (mut state, _, _tmp) = open_case("SW-2026-004538").await;
    let effects = update(&mut state, Action::Command(Command::ViewScreenshot));
    assert!(effects.is_empty(), "{effects:?}");
    assert_eq!(state.mode, Mode::Normal);
    let toast = state.toast.clone().expect("says why");
    assert!(toast.text.contains("illegal-content path"), "{}", toast.text);
    let text: String = {
        let t = draw(&state, 160, 48);
        let buf = t.backend().buffer();
        (0..48u16).map(|y| (0..160u16).map(|x| buf[(x, y)].symbol()).collect::<String>()).collect()
    };
    assert!(!text.contains("see the screenshot full screen"), "no invitation to look");
}

fn key() -> vigil::domain::AlertKey {
    vigil::domain::AlertKey::new("smoothwall-monitor", "SW-2026-004506")
}
