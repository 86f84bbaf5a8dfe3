//! The terminal runtime: one UI task that `select!`s over key events, the service's events, the feed's
//! health and a deadline, and redraws only when something changed. An idle vigil writes nothing to the
//! terminal.
//!
//! The UI speaks to the service through a [`Link`]: its session for requests, and its place in the
//! service's numbered stream of changes, which it applies to its model (a row changed, a case gone, new
//! alerts) instead of reading the queue again.
//!
//! The terminal is restored on every way out: a normal quit, an error (the guard's `Drop`), and a panic on
//! the UI thread (the panic hook). A panic in a background task does not restore the terminal under a live
//! UI; tokio catches it and the UI goes on, showing the feed as failed.

use std::io::{Stdout, Write, stdout};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use chrono::{DateTime, Timelike, Utc};
use crossterm::event::{Event, EventStream, KeyCode, KeyEvent, KeyEventKind, KeyModifiers};
use crossterm::terminal::{
    self, BeginSynchronizedUpdate, EndSynchronizedUpdate, EnterAlternateScreen, LeaveAlternateScreen,
};
use crossterm::{cursor, execute, queue};
use futures_util::StreamExt;
use ratatui::Terminal;
use ratatui::backend::{Backend, CrosstermBackend};
use tokio::sync::{Notify, mpsc};

use crate::app::{Action, Effect, Mode, ShotFit, State, keymap, update};
use crate::intake::PollerEvent;
use crate::service::Session;
use crate::service::api::EventKind;
use crate::service::session::Events;
use crate::ui::{self, Theme};

/// An OSC 52 sequence that asks the terminal (even over SSH) to put `text` on the clipboard.
pub fn osc52(text: &str) -> String {
    use base64::Engine;
    format!("\u{1b}]52;c;{}\u{7}", base64::engine::general_purpose::STANDARD.encode(text))
}

/// The UI's line to the service: a session to ask through, and a subscription to what changes.
pub struct Link {
    pub session: Session,
    events: Events,
    /// The case the shared service was last told this screen has open.
    told_viewing: Option<crate::domain::AlertKey>,
}

impl Link {
    /// A link that hears of every change from now on.
    pub fn new(session: Session) -> Link {
        let events = session.subscribe();
        Link { session, events, told_viewing: None }
    }

    /// Tells the shared service which case this screen has open, when that changed.
    fn tell_viewing(&mut self, open: Option<&crate::domain::AlertKey>) {
        if self.told_viewing.as_ref() != open {
            self.told_viewing = open.cloned();
            self.session.viewing(open);
        }
    }

    /// The actions for the changes published since the last call, as of `now`, and whether the queue must be
    /// read again (the UI fell too far behind the stream).
    fn pending(&mut self, now: DateTime<Utc>) -> (Vec<Action>, bool) {
        let mut news: Vec<Action> = Vec::new();
        if let Some(link) = self.events.link() {
            news.push(Action::Link(link));
        }
        if let Some(others) = self.events.presence() {
            news.push(Action::Presence(others));
        }
        let events = match self.events.read(now) {
            Ok(events) => events,
            Err(e) => return (vec![Action::Failed(e.to_string())], false),
        };
        let mut reload = false;
        let mut escalated = Vec::new();
        let mut actions: Vec<Action> = news
            .into_iter()
            .chain(events.into_iter().filter_map(|event| match event.kind {
                EventKind::CaseChanged { case, row } => {
                    Some(Action::CaseChanged { key: case, summary: Some(row), seq: Some(event.seq) })
                }
                EventKind::CaseRemoved { case } => {
                    Some(Action::CaseChanged { key: case, summary: None, seq: Some(event.seq) })
                }
                EventKind::Arrived { new, high_new } => Some(Action::Arrived { new, high_new }),
                EventKind::Escalated { case, level, round, unopened_minutes } => {
                    escalated.push(crate::app::Escalated { key: case, level, round, unopened_minutes });
                    None
                }
                EventKind::Rejected { count } => Some(Action::Quarantined(count)),
                EventKind::Feed => None,
                EventKind::Reload => {
                    reload = true;
                    None
                }
            }))
            .collect();
        // Heard together, rung once: after the rows they name.
        if !escalated.is_empty() {
            actions.push(Action::Escalated(escalated));
        }
        (actions, reload)
    }
}

/// Restores the terminal when dropped, whatever happened.
pub struct TerminalGuard {
    restored: Arc<AtomicBool>,
}

/// Puts the terminal back: raw mode off, mouse released, main screen, cursor visible. Safe to call more
/// than once.
pub fn restore_terminal() {
    let _ = terminal::disable_raw_mode();
    let mut out = stdout();
    let _ =
        execute!(out, EndSynchronizedUpdate, crossterm::event::DisableMouseCapture, LeaveAlternateScreen, cursor::Show);
    // Pop the window title pushed at start (xterm's title stack), so the alarm's title does not outlive vigil.
    let _ = out.write_all(TITLE_POP);
    let _ = out.flush();
}

/// Save and restore the window title (XTWINOPS 22/23); terminals without a title stack ignore them.
const TITLE_PUSH: &[u8] = b"\x1b[22;0t";
const TITLE_POP: &[u8] = b"\x1b[23;0t";

impl TerminalGuard {
    pub fn enter() -> std::io::Result<(TerminalGuard, Terminal<CrosstermBackend<Stdout>>)> {
        terminal::enable_raw_mode()?;
        let guard = TerminalGuard { restored: Arc::new(AtomicBool::new(false)) };
        let mut out = stdout();
        out.write_all(TITLE_PUSH)?;
        execute!(out, EnterAlternateScreen, cursor::Hide)?;
        install_panic_hook(std::thread::current().id(), restore_terminal);
        let terminal = Terminal::new(CrosstermBackend::new(stdout()))?;
        Ok((guard, terminal))
    }
}

impl Drop for TerminalGuard {
    fn drop(&mut self) {
        if !self.restored.swap(true, Ordering::SeqCst) {
            restore_terminal();
        }
    }
}

/// Chains a panic hook that restores the terminal, but only for a panic on the UI thread: a panic in a
/// worker thread must not tear the screen out from under a UI that is still running.
pub fn install_panic_hook(ui_thread: std::thread::ThreadId, restore: fn()) {
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        if std::thread::current().id() == ui_thread {
            restore();
        }
        previous(info);
    }));
}

/// Translates a key into an action for the current mode, through the keymap. Keys the keymap does not
/// bind are text where text is being typed.
pub fn key_action(state: &State, key: &KeyEvent) -> Option<Action> {
    if key.kind == KeyEventKind::Release {
        return None;
    }
    if key.code == KeyCode::Char('c') && key.modifiers.contains(KeyModifiers::CONTROL) {
        return Some(Action::Command(keymap::Command::Quit));
    }
    if let Some(c) = state.keymap.lookup(key, state.key_mode()) {
        return Some(Action::Command(c));
    }
    match &state.mode {
        // A key that does nothing in a pane (or on the dashboard) says so in the hint line.
        Mode::Normal => keymap::key_name(key).map(Action::Unbound),
        Mode::Confirm { .. }
        | Mode::Help
        | Mode::Text { .. }
        | Mode::Records(_)
        | Mode::Handover(_)
        | Mode::Picture(_)
        | Mode::History(_) => None,
        Mode::Editor(_) => Some(Action::EditorKey(ratatui_textarea::Input::from(*key))),
        Mode::Command(_) | Mode::Prompt(_) | Mode::Search { .. } => match key.code {
            KeyCode::Backspace => Some(Action::Backspace),
            KeyCode::Char(c) if !key.modifiers.contains(KeyModifiers::CONTROL) => Some(Action::Type(c)),
            _ => None,
        },
    }
}

/// Mouse: the wheel scrolls the focused pane, a left click selects a queue row.
pub fn mouse_action(state: &State, area: ratatui::layout::Rect, m: &crossterm::event::MouseEvent) -> Option<Action> {
    use crossterm::event::{MouseButton, MouseEventKind};
    match m.kind {
        MouseEventKind::ScrollDown => Some(Action::Command(keymap::Command::Down)),
        MouseEventKind::ScrollUp => Some(Action::Command(keymap::Command::Up)),
        MouseEventKind::Down(MouseButton::Left) => ui::queue_row_at(state, area, m.column, m.row).map(Action::Select),
        _ => None,
    }
}

/// What the runtime lends to effects that do work off the UI task.
pub struct Workers<'a> {
    pub retry: &'a Notify,
    /// The feed, for screenshots; `None` when vigil runs on its cache alone.
    pub client: Option<&'a crate::feed::client::FeedClient>,
    /// How images are drawn in this terminal.
    pub picker: Option<&'a ratatui_image::picker::Picker>,
    /// Where worker results come back as actions.
    pub results: Option<&'a mpsc::UnboundedSender<Action>>,
}

/// Carries out effects through the service, feeding each result back into `update`, and then the changes
/// the service published meanwhile. `clock` stamps the decisions (tests pass a fixed one). Effects that
/// need a worker (screenshots) fail plainly here.
pub fn run_effects(
    state: &mut State,
    link: &mut Link,
    retry: &Notify,
    clock: &dyn Fn() -> DateTime<Utc>,
    effects: Vec<Effect>,
) {
    let workers = Workers { retry, client: None, picker: None, results: None };
    run_effects_with(state, link, &workers, clock, effects);
}

/// [`run_effects`] with the runtime's workers.
pub fn run_effects_with(
    state: &mut State,
    link: &mut Link,
    workers: &Workers<'_>,
    clock: &dyn Fn() -> DateTime<Utc>,
    effects: Vec<Effect>,
) {
    let retry = workers.retry;
    let mut pending: std::collections::VecDeque<Effect> = effects.into();
    loop {
        let Some(effect) = pending.pop_front() else {
            link.tell_viewing(state.open_case());
            // Every effect is done: now what the service says changed, which may ask for more.
            let (actions, reload) = link.pending(clock());
            if actions.is_empty() && !reload {
                break;
            }
            if reload {
                pending.push_back(Effect::LoadQueue);
            }
            for action in actions {
                pending.extend(update(state, action));
            }
            continue;
        };
        let service = &link.session;
        let now = clock();
        let action = match effect {
            Effect::Quit => None,
            Effect::FetchScreenshot { key, index, fit } => fetch_screenshot(service, workers, key, index, fit),
            Effect::Alarm { high_new } => {
                // The bell, and a window title with no alert content in it.
                let mut out = stdout();
                let _ = execute!(out, crossterm::terminal::SetTitle(format!("vigil: {high_new} new HIGH")));
                let _ = out.write_all(b"\x07");
                let _ = out.flush();
                None
            }
            Effect::Escalation { title } => {
                let mut out = stdout();
                let _ = execute!(out, crossterm::terminal::SetTitle(title));
                let _ = out.write_all(b"\x07");
                let _ = out.flush();
                None
            }
            Effect::Title(title) => {
                let _ = execute!(stdout(), crossterm::terminal::SetTitle(title));
                None
            }
            Effect::Copy(text) => {
                let mut out = stdout();
                let _ = out.write_all(osc52(&text).as_bytes());
                let _ = out.flush();
                None
            }
            Effect::LoadHandover => Some(match service.handover(None, now) {
                Ok(h) => Action::HandoverLoaded(Box::new(h)),
                Err(e) => Action::Failed(e.to_string()),
            }),
            Effect::AcknowledgeHandover { until, up_to_note } => {
                Some(match service.acknowledge_handover(Some(until), up_to_note, now) {
                    Ok(ack) => Action::HandoverAcknowledged(ack.until),
                    Err(e) => Action::Failed(e.to_string()),
                })
            }
            // One read of every case's log: off the UI task, so the first frame does not wait for it.
            Effect::LookBack => in_background(
                workers,
                service,
                move |s| s.since_last_look(now).map_err(|e| e.to_string()),
                Action::LookedBack,
            ),
            Effect::LoadRecords(key) => Some(match service.records(&key, clock()) {
                Ok(r) => Action::RecordsLoaded(r),
                Err(e) => Action::Failed(e.to_string()),
            }),
            Effect::LoadHistory(key) => {
                let of = crate::service::subjects::HistoryOf::Case(key);
                Some(match service.history(&of, now) {
                    Ok(h) => Action::HistoryLoaded(Box::new(h)),
                    Err(e) => Action::Failed(e.to_string()),
                })
            }
            Effect::WarmTrends => in_background(
                workers,
                service,
                move |s| s.warm_trends(now).map_err(|e| e.to_string()),
                Action::TrendsWarmed,
            ),
            Effect::Link { key, other, reason } => Some(
                match service.find(&other).and_then(|other| {
                    let command = match reason {
                        None => crate::domain::case::CaseCommand::Link { other },
                        Some(reason) => crate::domain::case::CaseCommand::Unlink { other, reason },
                    };
                    let seen = state.detail.as_ref().filter(|d| d.summary.key == key).map(|d| d.events.len());
                    service.act_seen(&key, &command, seen, now)
                }) {
                    Ok(events) => Action::Decided {
                        key,
                        message: format!("recorded: {}", crate::domain::case::describe_decision(&events)),
                    },
                    Err(e) => Action::Failed(e.to_string()),
                },
            ),
            Effect::ListRejected => Some(match service.rejected(clock()) {
                Ok(items) if items.is_empty() => {
                    Action::ShowText { title: "Rejected alerts".into(), lines: vec!["No rejected alerts.".into()] }
                }
                Ok(items) => Action::ShowText {
                    title: format!("Rejected alerts ({})", items.len()),
                    lines: items
                        .iter()
                        .flat_map(|q| {
                            let r = &q.rejected;
                            [
                                format!(
                                    "{}  {}:{}",
                                    q.received_at.format("%Y-%m-%d %H:%M"),
                                    r.source.as_deref().unwrap_or("?"),
                                    r.id.as_deref().unwrap_or("?")
                                ),
                                format!("  reason: {}", r.reason),
                                format!("  raw: {}", r.raw),
                                String::new(),
                            ]
                        })
                        .collect(),
                },
                Err(e) => Action::Failed(e.to_string()),
            }),
            Effect::RetryFeed => {
                retry.notify_one();
                None
            }
            Effect::LoadQueue => {
                if let Ok(status) = service.store_status(false) {
                    let _ = update(state, Action::Quarantined(status.rejected));
                }
                // The team changes only with the service's config: read once, for completing names.
                if state.team.is_empty()
                    && let Ok(team) = service.team()
                {
                    let _ = update(state, Action::TeamLoaded(team));
                }
                Some(match service.queue_open(now) {
                    Ok(q) => Action::OpenLoaded(q),
                    Err(e) => Action::Failed(e.to_string()),
                })
            }
            Effect::LoadClosed { epoch } => in_background(
                workers,
                service,
                move |s| s.queue_closed(now).map_err(|e| e.to_string()),
                move |result| Action::ClosedLoaded { epoch, result },
            ),
            Effect::LoadNotOpen { epoch } => in_background(
                workers,
                service,
                |s| s.raised_not_open().map_err(|e| e.to_string()),
                move |result| Action::NotOpenLoaded { epoch, result },
            ),
            Effect::OpenCase(key) => Some(match service.open(&key, now) {
                Ok(d) => Action::DetailLoaded(Box::new(d)),
                Err(e) => Action::Failed(e.to_string()),
            }),
            Effect::AddAlert(form) => Some(match service.add_alert(*form, now) {
                Ok(added) => Action::Decided {
                    message: format!(
                        "recorded: case {} at {}; it is in the queue",
                        crate::domain::inert::line(&added.key.to_string()),
                        added.level
                    ),
                    key: added.key,
                },
                Err(e) => Action::Failed(e.to_string()),
            }),
            Effect::Act(key, command) => {
                // How much of the case this screen showed: a decision others' actions since have overtaken is
                // refused naming them.
                let seen = state.detail.as_ref().filter(|d| d.summary.key == key).map(|d| d.events.len());
                Some(match service.act_seen(&key, &command, seen, now) {
                    Ok(events) => Action::Decided {
                        key,
                        message: format!("recorded: {}", crate::domain::case::describe_decision(&events)),
                    },
                    Err(e) => Action::Failed(e.to_string()),
                })
            }
        };
        if let Some(a) = action {
            pending.extend(update(state, a));
        }
    }
}

fn draw<B: Backend>(terminal: &mut Terminal<B>, state: &State, theme: &Theme) -> std::io::Result<()>
where
    B::Error: Into<std::io::Error>,
{
    terminal.draw(|f| ui::render(state, theme, f)).map_err(Into::into)?;
    Ok(())
}

/// CPU time this process has used so far, user and system, every thread (the bench tools use it too).
pub fn process_cpu() -> Duration {
    use nix::sys::resource::{UsageWho, getrusage};
    use nix::sys::time::{TimeVal, TimeValLike};
    let Ok(usage) = getrusage(UsageWho::RUSAGE_SELF) else { return Duration::ZERO };
    let us = |t: TimeVal| Duration::from_micros(u64::try_from(t.num_microseconds()).unwrap_or(0));
    us(usage.user_time()) + us(usage.system_time())
}

/// The next moment the screen must change on its own: a toast expiring, or the minute turning.
fn next_deadline(state: &State, now: DateTime<Utc>) -> Duration {
    let to_minute = 60 - u64::from(now.second()).min(59);
    let mut wait = Duration::from_secs(to_minute);
    if let Some(t) = &state.toast {
        let until = (t.until - now).to_std().unwrap_or(Duration::ZERO);
        wait = wait.min(until + Duration::from_millis(50));
    }
    wait
}

/// Runs a read of the store on a blocking worker when the runtime has one (its result, made an action by
/// `done`, comes back through `workers.results`), or here and now (tests, the bench tool). A read that
/// panics comes back as an error, so that nothing waits for it for ever.
fn in_background<T: Send + 'static>(
    workers: &Workers<'_>,
    service: &Session,
    read: impl FnOnce(&Session) -> Result<T, String> + Send + 'static,
    done: impl FnOnce(Result<T, String>) -> Action + Send + 'static,
) -> Option<Action> {
    match workers.results {
        Some(results) => {
            let (results, service) = (results.clone(), service.clone());
            tokio::task::spawn_blocking(move || {
                let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| read(&service)))
                    .unwrap_or_else(|_| Err("the read stopped with an internal error".into()));
                let _ = results.send(done(result));
            });
            None
        }
        None => Some(done(read(service))),
    }
}

/// Size, in cells, that a screenshot is prepared for in the case pane.
const SHOT_SIZE: ratatui::layout::Size = ratatui::layout::Size { width: 64, height: 14 };

/// Starts fetching a screenshot on a worker; the result comes back as `Action::ScreenshotLoaded`. The view is
/// audited when the picture is ready, each time it is prepared to be shown.
fn fetch_screenshot(
    service: &Session,
    workers: &Workers<'_>,
    key: crate::domain::AlertKey,
    index: usize,
    fit: ShotFit,
) -> Option<Action> {
    let failed = |e: String| Some(Action::ScreenshotLoaded { key: key.clone(), index, fit, result: Err(e) });
    let (Some(picker), Some(results)) = (workers.picker, workers.results) else {
        return failed("no feed connection to fetch it from".into());
    };
    // The trust's view has no feed of its own: a screenshot a school's service cached is still shown.
    if workers.client.is_none() && service.local().is_some() {
        return failed("no feed connection to fetch it from".into());
    }
    let (client, picker, results, service) =
        (workers.client.cloned(), picker.clone(), results.clone(), service.clone());
    tokio::spawn(async move {
        let prepared = async {
            // The service refuses a case on the illegal-content path, whatever asked for it.
            let bytes = crate::intake::screenshots::fetch(client.as_ref(), &service, &key, index)
                .await
                .map_err(|e| e.to_string())?;
            tokio::task::spawn_blocking(move || prepare_image(&picker, &bytes, fit)).await.map_err(|e| e.to_string())?
        }
        .await;
        let what = match fit {
            ShotFit::Pane => "showed a screenshot",
            ShotFit::Screen { .. } => "showed a screenshot full screen",
        };
        // The picture is shown only once its view is on the record.
        let prepared = prepared
            .and_then(|img| service.audit(Some(&key), what, Utc::now()).map(|()| img).map_err(|e| e.to_string()));
        let _ = results.send(Action::ScreenshotLoaded { key, index, fit, result: prepared });
    });
    None
}

/// Decodes (under the strict limits) and prepares an image for the terminal: to fit the case pane, or scaled
/// up to fill the screen. CPU work: run it off the UI.
pub fn prepare_image(
    picker: &ratatui_image::picker::Picker,
    bytes: &[u8],
    fit: ShotFit,
) -> Result<crate::app::ShotImage, String> {
    let mut reader =
        image::ImageReader::new(std::io::Cursor::new(bytes)).with_guessed_format().map_err(|e| e.to_string())?;
    reader.limits(crate::feed::screenshots::limits());
    let img = reader.decode().map_err(|e| format!("not a readable image: {e}"))?;
    let (size, resize) = match fit {
        ShotFit::Pane => (SHOT_SIZE, ratatui_image::Resize::Fit(None)),
        ShotFit::Screen { width, height } => (
            ratatui::layout::Size { width, height },
            ratatui_image::Resize::Scale(Some(ratatui_image::FilterType::Triangle)),
        ),
    };
    let protocol = picker.new_protocol(img, size, resize).map_err(|e| e.to_string())?;
    Ok(crate::app::ShotImage(Arc::new(protocol)))
}

/// Whether the clock reaching `now` changes what the screen shows: the minute turned (ages, due times,
/// the clock) or a toast expired. Anything else and an idle vigil writes nothing.
pub fn tick_needs_redraw(state: &State, now: DateTime<Utc>) -> bool {
    let minute = |t: DateTime<Utc>| t.timestamp().div_euclid(60);
    minute(state.now) != minute(now) || state.toast.as_ref().is_some_and(|t| t.until <= now)
}

pub struct TuiOptions {
    /// How screenshots are drawn: `halfblocks` (works everywhere, over SSH and in tmux), `auto` (ask the
    /// terminal for kitty, sixel or iTerm2), or `off`.
    pub images: ImageMode,
    pub demo: bool,
    pub ascii: bool,
    /// The feed's poll interval: three missed polls make it stale.
    pub poll_seconds: u64,
    pub theme: crate::ui::theme::ThemeName,
    pub mouse: bool,
    /// Print the time from start to the first frame to stderr after exit (for the bench script).
    pub report_first_frame: Option<std::time::Instant>,
}

pub use crate::config::ImageMode;

/// The state of a screen on `session` before anything is read: its reader, their time zone, the schools of
/// the trust's view, and the keys this reader may use (no decision keys for one who decides nothing).
pub fn screen_state(session: &Session, keymap: crate::app::keymap::Keymap, now: DateTime<Utc>) -> State {
    let mut state = State::new(session.viewer().clone(), now);
    state.tz = session.calendar().time_zone();
    state.schools = session.schools();
    state.keymap = Arc::new(keymap.for_viewer(session.viewer().may_decide(), state.schools.len() > 1));
    state
}

/// Runs the full-screen UI until the user quits.
pub async fn run(
    service: Session,
    client: Option<crate::feed::client::FeedClient>,
    mut feed_events: mpsc::UnboundedReceiver<PollerEvent>,
    retry: Arc<Notify>,
    keymap: crate::app::keymap::Keymap,
    options: TuiOptions,
) -> anyhow::Result<()> {
    let theme = Theme::from_env(options.theme, options.ascii);
    let mut state = screen_state(&service, keymap, Utc::now());
    let stale_secs = i64::try_from(options.poll_seconds.saturating_mul(3)).unwrap_or(i64::MAX).max(60);
    state.stale_after = chrono::Duration::seconds(stale_secs);
    state.screenshot_preview = options.images != ImageMode::Off;
    state.demo = options.demo;
    state.ascii = options.ascii;
    if let Ok((fs, _)) = service.feed_status() {
        state.health.last_success = fs.last_success;
        state.health.last_error = fs.last_error;
    }
    let (guard, mut terminal) = TerminalGuard::enter()?;
    if options.mouse {
        execute!(stdout(), crossterm::event::EnableMouseCapture)?;
    }
    let picker = match options.images {
        // Asking the terminal needs its answer on stdin: do it before the event stream starts reading.
        ImageMode::Auto => ratatui_image::picker::Picker::from_query_stdio()
            .unwrap_or_else(|_| ratatui_image::picker::Picker::halfblocks()),
        _ => ratatui_image::picker::Picker::halfblocks(),
    };
    let (results_tx, mut results) = mpsc::unbounded_channel::<Action>();
    let mut link = Link::new(service);
    let workers = Workers { retry: &retry, client: client.as_ref(), picker: Some(&picker), results: Some(&results_tx) };
    // The first frame needs only the open cases (the default view). The closed and withdrawn ones are read
    // when a filter asks for them.
    // Keys act only on what the screen shows: the state knows its size, so when it shows only "too small".
    let mut effects = update(&mut state, Action::Resized(terminal.size()?));
    effects.push(Effect::LoadQueue);
    // What changed since this reviewer last looked, said with the queue (and their look marked, in the store).
    effects.push(Effect::LookBack);
    run_effects_with(&mut state, &mut link, &workers, &Utc::now, effects);
    let mut out = stdout();
    queue!(out, BeginSynchronizedUpdate)?;
    draw(&mut terminal, &state, &theme)?;
    execute!(out, EndSynchronizedUpdate)?;
    let first_frame = options.report_first_frame.map(|t| (t.elapsed(), process_cpu()));
    // Trend markers are counted from every case, open or closed: the first frame never waits for that pass
    // (nor shares the machine with it). It runs on a worker now, and the queue is read again once it is made.
    run_effects_with(&mut state, &mut link, &workers, &Utc::now, vec![Effect::WarmTrends]);
    let mut keys = EventStream::new();
    // A `kill` or a dropped SSH connection ends vigil cleanly, terminal restored, like `q`.
    let mut sigterm = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    let mut sighup = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup())?;
    let mut feed_open = true;
    let mut events_open = true;
    // VIGIL_REPORT_KEY_LATENCY: how long each key took from its arrival to its frame being written, for the
    // bench script (printed to stderr after exit).
    let mut key_times = std::env::var_os("VIGIL_REPORT_KEY_LATENCY").map(|_| Vec::new());
    while !state.quit {
        let wait = next_deadline(&state, Utc::now());
        let mut dirty = false;
        let mut key_at = None;
        tokio::select! {
            ev = keys.next() => match ev {
                Some(Ok(Event::Key(key))) => {
                    key_at = Some(std::time::Instant::now());
                    if let Some(action) = key_action(&state, &key) {
                        let effects = update(&mut state, action);
                        run_effects_with(&mut state, &mut link, &workers, &Utc::now, effects);
                        dirty = true;
                    }
                }
                Some(Ok(Event::Resize(width, height))) => {
                    let effects = update(&mut state, Action::Resized(ratatui::layout::Size { width, height }));
                    run_effects_with(&mut state, &mut link, &workers, &Utc::now, effects);
                    dirty = true;
                }
                Some(Ok(Event::Mouse(m))) => {
                    if let Some(action) = mouse_action(&state, terminal.size()?.into(), &m) {
                        let effects = update(&mut state, action);
                        run_effects_with(&mut state, &mut link, &workers, &Utc::now, effects);
                        dirty = true;
                    }
                }
                Some(Ok(_)) => {}
                Some(Err(e)) => return Err(e.into()),
                None => break,
            },
            _ = sigterm.recv() => state.quit = true,
            _ = sighup.recv() => state.quit = true,
            Some(action) = results.recv() => {
                let effects = update(&mut state, action);
                run_effects_with(&mut state, &mut link, &workers, &Utc::now, effects);
                dirty = true;
            }
            ev = feed_events.recv(), if feed_open => match ev {
                Some(ev) => {
                    let effects = update(&mut state, Action::Feed(ev));
                    run_effects_with(&mut state, &mut link, &workers, &Utc::now, effects);
                    dirty = true;
                }
                None => feed_open = false,
            },
            open = link.events.changed(), if events_open => {
                if open {
                    run_effects_with(&mut state, &mut link, &workers, &Utc::now, Vec::new());
                    dirty = true;
                } else {
                    events_open = false;
                }
            }
            _ = tokio::time::sleep(wait) => {
                let now = Utc::now();
                dirty = tick_needs_redraw(&state, now);
                let _ = update(&mut state, Action::Tick(now));
            }
        }
        if dirty && !state.quit {
            queue!(out, BeginSynchronizedUpdate)?;
            draw(&mut terminal, &state, &theme)?;
            execute!(out, EndSynchronizedUpdate)?;
            if let (Some(at), Some(times)) = (key_at, key_times.as_mut()) {
                times.push(at.elapsed());
            }
        }
    }
    drop(guard);
    let _ = out.flush();
    if let Some((t, cpu)) = first_frame {
        eprintln!("first-frame-ms {:.3}", t.as_secs_f64() * 1000.0);
        // CPU time (every thread) to that point: on a busy machine the wall time above is not all ours.
        eprintln!("first-frame-cpu-ms {:.3}", cpu.as_secs_f64() * 1000.0);
    }
    if let Some(mut times) = key_times.filter(|t| !t.is_empty()) {
        times.sort_unstable();
        let ms = |q: f64| times[((times.len() - 1) as f64 * q).round() as usize].as_secs_f64() * 1000.0;
        eprintln!("key-latency-ms median {:.3} p95 {:.3} max {:.3} n {}", ms(0.5), ms(0.95), ms(1.0), times.len());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;

    static RESTORES: AtomicUsize = AtomicUsize::new(0);
    fn count_restore() {
        RESTORES.fetch_add(1, Ordering::SeqCst);
    }

    #[test]
    fn osc52_is_base64_of_the_text() {
        assert_eq!(osc52("Hello"), "\u{1b}]52;c;SGVsbG8=\u{7}");
        assert_eq!(osc52("ab"), "\u{1b}]52;c;YWI=\u{7}");
        assert_eq!(osc52("abc"), "\u{1b}]52;c;YWJj\u{7}");
    }

    #[test]
    fn the_clock_redraws_once_a_minute_and_when_a_toast_expires() {
        use chrono::TimeZone;
        let t0 = Utc.with_ymd_and_hms(2026, 11, 16, 10, 0, 5).single().expect("lit");
        let viewer = crate::identity::Viewer { user: "u".into(), role: crate::identity::Role::Dsl, sees_staff: true };
        let mut state = State::new(viewer, t0);
        assert!(!tick_needs_redraw(&state, t0 + chrono::Duration::seconds(50)));
        assert!(tick_needs_redraw(&state, t0 + chrono::Duration::seconds(55)));
        state.toast =
            Some(crate::app::Toast { text: "x".into(), error: false, until: t0 + chrono::Duration::seconds(6) });
        assert!(!tick_needs_redraw(&state, t0 + chrono::Duration::seconds(5)));
        assert!(tick_needs_redraw(&state, t0 + chrono::Duration::seconds(6)));
    }

    #[test]
    fn a_panic_on_the_ui_thread_restores_the_terminal_but_a_worker_panic_does_not() {
        install_panic_hook(std::thread::current().id(), count_restore);
        let before = RESTORES.load(Ordering::SeqCst);
        let worker = std::thread::spawn(|| panic!("worker failed"));
        assert!(worker.join().is_err());
        assert_eq!(RESTORES.load(Ordering::SeqCst), before, "a worker panic must not restore the terminal");
        let ui = std::panic::catch_unwind(|| panic!("ui failed"));
        assert!(ui.is_err());
        assert_eq!(RESTORES.load(Ordering::SeqCst), before + 1, "a UI panic must restore the terminal");
        let _ = std::panic::take_hook();
    }
}
