//! The queue at 100,000 cases: case fold, queue load, sort and filter, one rendered frame, and the parse of
//! a 500-alert feed page.
//!
//! The store is built once through the real path (`Session::ingest` of pages parsed by `parse_page`,
//! then `mark_viewed`, `detail` and `act`; see `benches/support/fixture.rs`) and cached under
//! `target/bench-store/100000/`; it is rebuilt when missing. `VIGIL_BENCH_CASES` picks another size.
//!
//! `cargo bench --bench queue` (criterion options after `--`, e.g. `-- --quick` or `-- frame`).

#[path = "support/fixture.rs"]
mod fixture;

/// The allocator of the vigil binary (src/main.rs), so the figures are the binary's.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::collections::HashMap;
use std::hint::black_box;
use std::time::Duration;

use chrono::Utc;
use criterion::{BatchSize, Criterion, Throughput};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use vigil::app::filter::Filter;
use vigil::app::keymap::Command;
use vigil::app::{Action, State, update};
use vigil::domain::{AlertKey, Case, CaseEvent, Level};
use vigil::feed::protocol::parse_page;
use vigil::service::CaseSummary;
use vigil::ui::{Theme, render};

fn cases() -> usize {
    std::env::var("VIGIL_BENCH_CASES").ok().and_then(|s| s.replace('_', "").parse().ok()).unwrap_or(100_000)
}

/// A fixed permutation (the store's key order is already close to the queue's, which would flatter the sort).
fn shuffled(mut v: Vec<CaseSummary>) -> Vec<CaseSummary> {
    let mut rng = fixture::Rng::new(42);
    for i in (1..v.len()).rev() {
        v.swap(i, rng.below(i as u64 + 1) as usize);
    }
    v
}

fn main() {
    let n = cases();
    let store = fixture::open_cached(n);
    let service = fixture::service(store.clone());
    let now = Utc::now();
    let queue = service.queue(now).expect("queue");
    let mut events: HashMap<AlertKey, Vec<CaseEvent>> = HashMap::new();
    for item in store.all_events() {
        let (key, event) = item.expect("event");
        events.entry(key).or_default().push(event);
    }
    let events: Vec<(AlertKey, Vec<CaseEvent>)> = events.into_iter().collect();
    let total_events: usize = events.iter().map(|(_, e)| e.len()).sum();
    eprintln!(
        "bench store: {} cases, {} open, {total_events} events",
        queue.len(),
        queue.iter().filter(|c| c.open).count()
    );

    let mut c = Criterion::default()
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .configure_from_args();
    let label = format!("{}k", n / 1000);

    let mut g = c.benchmark_group(format!("fold-{label}"));
    g.throughput(Throughput::Elements(events.len() as u64));
    g.bench_function("Case::fold every case", |b| {
        b.iter(|| {
            events.iter().filter_map(|(k, evs)| Case::fold(k.clone(), black_box(evs))).map(|c| c.events).sum::<usize>()
        })
    });
    g.finish();

    let mut g = c.benchmark_group(format!("queue-{label}"));
    g.throughput(Throughput::Elements(queue.len() as u64));
    g.bench_function("Session::queue (scan, decode, summarize, sort)", |b| {
        b.iter(|| service.queue(now).expect("queue").len())
    });
    g.bench_function("Session::queue_open (the first frame's read)", |b| {
        b.iter(|| service.queue_open(now).expect("queue").len())
    });
    let mixed = shuffled(queue.clone());
    g.bench_function("sort by CaseSummary::sort_key", |b| {
        b.iter_batched(
            || mixed.clone(),
            |mut v| {
                v.sort_by(|a, b| a.sort_key().cmp(&b.sort_key()));
                v
            },
            BatchSize::LargeInput,
        )
    });
    let filters = [
        ("default (open only)", Filter::default()),
        ("text, 2 words, +closed", Filter { text: "self harm".into(), closed: true, ..Filter::default() }),
        ("High + overdue", Filter { level: Some(Level::High), overdue: true, ..Filter::default() }),
    ];
    for (name, f) in &filters {
        g.bench_function(format!("Filter::matcher: {name}"), |b| {
            b.iter(|| {
                let matches = black_box(f).matcher();
                queue.iter().filter(|c| matches(c)).count()
            })
        });
    }
    g.finish();

    let mut g = c.benchmark_group(format!("frame-{label}"));
    let mut state = State::new(service.viewer().clone(), now);
    state.tz = service.calendar().time_zone();
    let _ = update(&mut state, Action::QueueLoaded(queue.clone()));
    let theme = Theme::new(vigil::ui::theme::ThemeName::Dark, false);
    let mut terminal = Terminal::new(TestBackend::new(120, 40)).expect("terminal");
    g.bench_function("ui::render, 120x40", |b| {
        b.iter(|| {
            terminal.draw(|f| render(&state, &theme, f)).expect("draw");
        })
    });
    g.bench_function("selection move (update) + ui::render, 120x40", |b| {
        b.iter(|| {
            let down = if state.selected + 1 >= state.rows.len() { Command::Top } else { Command::Down };
            let _ = update(&mut state, Action::Command(down));
            terminal.draw(|f| render(&state, &theme, f)).expect("draw");
        })
    });
    g.finish();

    let page = fixture::one_page();
    let mut g = c.benchmark_group("parse");
    g.throughput(Throughput::Elements(fixture::PAGE as u64));
    g.bench_function(format!("parse_page, {} alerts ({} KiB)", fixture::PAGE, page.len() / 1024), |b| {
        b.iter(|| parse_page(black_box(&page)).expect("page").alerts.len())
    });
    g.finish();

    c.final_summary();
}
