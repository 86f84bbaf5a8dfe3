//! The shared service's half of `scripts/bench`: what needs a client of `vigil serve` other than the TUI.
//!
//! ```sh
//! cargo run --release --example bench_service -- decisions SOCKET DECISIONS SERVE_PID
//! cargo run --release --example bench_service -- idle SOCKET SECONDS SERVE_PID
//! cargo run --release --example bench_service -- encode CASES [RUNS]
//! ```
//!
//! `decisions`: two clients (two [`Session`]s, each its own connection) load the open queue, as the TUI does
//! at start; the serve process's peak and current RSS are read then, with both connected; then client A
//! adds a note to DECISIONS open cases, one after another, and each is timed from A sending it, and from A's
//! act returning, to client B's event stream yielding that case's change.
//!
//! `idle`: a raw connection (the wire's frames, every byte counted) says hello and loads the open queue,
//! timing the reply (the service's work to its first byte, the transfer, the client's decode), waits until
//! nothing has arrived for 2 s, then counts the bytes that arrive in SECONDS more, and the CPU clock ticks
//! the serve process used meanwhile.
//!
//! `encode`: in this process, on the cached bench store, what the service does for a client's queue and what
//! the client does with the answer, each timed on its own: read the open queue, encode the reply as the
//! service sends it (JSON, then frames), join and decode it as the client does; and this process's RSS after
//! each step, which is what one queue call costs the service's memory.
//!
//! Each prints `name value` lines for the script to read. Run against a copy of the bench store: the notes
//! are written to it.

#[path = "../benches/support/fixture.rs"]
mod fixture;

/// The allocator of the vigil binary (src/main.rs), so the figures are the binary's.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use chrono::Utc;
use futures_util::SinkExt;
use tokio::io::AsyncReadExt;
use tokio_util::bytes::BytesMut;
use tokio_util::codec::{Decoder, FramedWrite};
use vigil::domain::AlertKey;
use vigil::domain::case::CaseCommand;
use vigil::service::Session;
use vigil::service::api::{EventKind, Reply, Request, Scope};
use vigil::service::wire::{
    Answer, Ask, Assembler, FEATURES, FromService, MAX_MESSAGE, PROTOCOL_VERSION, ToService, codec, frames,
};

fn usage() -> ! {
    eprintln!(
        "usage: bench_service decisions SOCKET DECISIONS SERVE_PID | idle SOCKET SECONDS SERVE_PID | encode CASES [RUNS]"
    );
    std::process::exit(2)
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let socket = args.get(1).map(PathBuf::from).unwrap_or_else(|| usage());
    let number = |i: usize| args.get(i).and_then(|s| s.replace('_', "").parse::<u64>().ok()).unwrap_or_else(|| usage());
    match args.first().map(String::as_str) {
        Some("decisions") => decisions(&socket, number(2) as usize, number(3)),
        Some("idle") => idle(&socket, Duration::from_secs(number(2)), number(3)),
        Some("encode") => encode(number(1) as usize, args.get(2).and_then(|s| s.parse().ok()).unwrap_or(3)),
        _ => usage(),
    }
}

fn connect(socket: &Path) -> Session {
    Session::connect(socket).unwrap_or_else(|e| {
        eprintln!("cannot connect to the service at {}: {e}", socket.display());
        std::process::exit(1)
    })
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// The median and p95 of `v` (sorted here).
fn median_p95(v: &mut [f64]) -> (f64, f64) {
    v.sort_by(f64::total_cmp);
    let at = |q: f64| v[((v.len() - 1) as f64 * q).round() as usize];
    (at(0.5), at(0.95))
}

/// `VmHWM` and `VmRSS` of process `pid`, in kB.
fn memory_kb(pid: u64) -> (u64, u64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_else(|e| {
        eprintln!("cannot read /proc/{pid}/status: {e}");
        std::process::exit(1)
    });
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|rest| rest.split_whitespace().next())
            .and_then(|n| n.parse().ok())
            .unwrap_or(0)
    };
    (field("VmHWM:"), field("VmRSS:"))
}

/// The user and system CPU clock ticks process `pid` has used (`/proc/PID/stat`, fields 14 and 15).
fn cpu_ticks(pid: u64) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // The command name (field 2) may hold spaces: count from after its closing parenthesis.
    let after_name = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    let field = |n: usize| fields.get(n - 3).and_then(|f| f.parse::<u64>().ok()).unwrap_or(0);
    field(14) + field(15)
}

/// This process's `VmRSS`, in MB.
fn own_rss_mb() -> f64 {
    memory_kb(u64::from(std::process::id())).1 as f64 / 1024.0
}

fn encode(cases: usize, runs: usize) {
    let (data, key) = fixture::cached_paths(cases);
    let store = vigil::store::Store::open(&data, &vigil::store::StoreKey::file(key)).unwrap_or_else(|e| {
        eprintln!("cannot open the bench store of {cases} cases (run `bench_store build {cases}` first): {e}");
        std::process::exit(1)
    });
    let session = fixture::service(store);
    println!("encode-rss-open-mb {:.1}", own_rss_mb());
    let (mut reads, mut encodes, mut decodes) = (Vec::new(), Vec::new(), Vec::new());
    for run in 0..runs.max(1) {
        let t = Instant::now();
        let rows = session.queue_open(Utc::now()).expect("the queue");
        reads.push(ms(t.elapsed()));
        let rows_rss = own_rss_mb();
        let n = rows.len();
        let t = Instant::now();
        let reply = FromService::Reply { id: 1, result: Ok(Answer::Service(Box::new(Reply::Rows(rows)))) };
        let sent = frames(&reply).expect("frames");
        encodes.push(ms(t.elapsed()));
        let framed_rss = own_rss_mb();
        drop(reply);
        let t = Instant::now();
        let mut joiner = Assembler::new(MAX_MESSAGE);
        let mut got = None;
        for frame in &sent {
            got = joiner.push::<FromService>(frame).expect("decodes");
        }
        decodes.push(ms(t.elapsed()));
        assert!(matches!(got, Some(FromService::Reply { id: 1, .. })), "the reply came back");
        if run == 0 {
            println!("encode-rows {n}");
            println!("encode-bytes {}", sent.iter().map(|f| f.len() + 4).sum::<usize>());
            println!("encode-rss-rows-mb {rows_rss:.1}");
            println!("encode-rss-framed-mb {framed_rss:.1}");
            println!("encode-rss-decoded-mb {:.1}", own_rss_mb());
        }
    }
    println!("encode-read-ms {:.1}", median_p95(&mut reads).0);
    println!("encode-encode-ms {:.1}", median_p95(&mut encodes).0);
    println!("encode-decode-ms {:.1}", median_p95(&mut decodes).0);
}

fn decisions(socket: &Path, count: usize, serve_pid: u64) {
    let (a, b) = (connect(socket), connect(socket));
    let mut events = b.subscribe();
    let mut rows = Vec::new();
    for (name, client) in [("a", &a), ("b", &b)] {
        let t = Instant::now();
        rows = client.queue_open(Utc::now()).unwrap_or_else(|e| {
            eprintln!("client {name} could not load the queue: {e}");
            std::process::exit(1)
        });
        println!("queue-open-{name}-ms {:.1}", ms(t.elapsed()));
        println!("serve-vmhwm-kb-after-{name} {}", memory_kb(serve_pid).0);
    }
    println!("queue-open-rows {}", rows.len());
    let (hwm, rss) = memory_kb(serve_pid);
    println!("serve-vmhwm-kb-two-clients {hwm}");
    println!("serve-vmrss-kb-two-clients {rss}");
    if rows.is_empty() || count == 0 {
        eprintln!("no open cases to decide on");
        std::process::exit(1)
    }
    // Spread over the queue, each case once.
    let keys: Vec<AlertKey> = (0..count.min(rows.len()))
        .map(|i| &rows[i * rows.len() / count.min(rows.len())])
        .map(|r| AlertKey::new(&r.source, &r.id))
        .collect();
    drop(rows);
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().expect("runtime");
    let (mut from_send, mut from_return) = (Vec::new(), Vec::new());
    runtime.block_on(async {
        for (i, key) in keys.iter().enumerate() {
            // What B heard before this decision is not for it.
            let _ = events.read(Utc::now());
            let (a, case) = (a.clone(), key.clone());
            let sent = Instant::now();
            let acting = tokio::task::spawn_blocking(move || {
                let command = CaseCommand::Note { text: format!("bench note {i}") };
                let result = a.act(&case, &command, Utc::now());
                (result, Instant::now())
            });
            let seen = loop {
                let heard = events.read(Utc::now()).unwrap_or_default();
                if heard.iter().any(|e| matches!(&e.kind, EventKind::CaseChanged { case, .. } if case == key)) {
                    break Instant::now();
                }
                match tokio::time::timeout(Duration::from_secs(30), events.changed()).await {
                    Ok(true) => {}
                    Ok(false) => panic!("client B's event stream ended"),
                    Err(_) => panic!("client B did not hear of decision {i} within 30 s"),
                }
            };
            let (result, returned) = acting.await.expect("the act's thread");
            if let Err(e) = result {
                eprintln!("decision {i} failed: {e}");
                std::process::exit(1)
            }
            from_send.push(ms(seen - sent));
            // Negative when B heard of it before A had its reply.
            from_return.push(if seen >= returned { ms(seen - returned) } else { -ms(returned - seen) });
        }
    });
    let (send_median, send_p95) = median_p95(&mut from_send);
    let (return_median, return_p95) = median_p95(&mut from_return);
    println!("decisions {}", keys.len());
    println!("visible-from-send-median-ms {send_median:.2}");
    println!("visible-from-send-p95-ms {send_p95:.2}");
    println!("visible-from-send-max-ms {:.2}", from_send.last().copied().unwrap_or(0.0));
    println!("visible-after-return-median-ms {return_median:.2}");
    println!("visible-after-return-p95-ms {return_p95:.2}");
    let (hwm, rss) = memory_kb(serve_pid);
    println!("serve-vmhwm-kb-after-decisions {hwm}");
    println!("serve-vmrss-kb-after-decisions {rss}");
}

/// A connection that counts every byte the service sends (length prefixes included) and joins its frames
/// as vigil's client does.
struct Counted {
    read: tokio::net::unix::OwnedReadHalf,
    write: FramedWrite<tokio::net::unix::OwnedWriteHalf, tokio_util::codec::LengthDelimitedCodec>,
    buf: BytesMut,
    decoder: tokio_util::codec::LengthDelimitedCodec,
    joiner: Assembler,
    bytes: usize,
    /// When the first byte of the message being read arrived, and its frames' bytes so far.
    first_byte: Option<Instant>,
    message_bytes: usize,
}

/// One message as it arrived.
struct Received {
    message: FromService,
    first_byte: Instant,
    last_byte: Instant,
    /// How long joining and decoding its frames took, after the last byte.
    decode: Duration,
    bytes: usize,
}

impl Counted {
    async fn connect(socket: &Path) -> Counted {
        let stream = tokio::net::UnixStream::connect(socket).await.unwrap_or_else(|e| {
            eprintln!("cannot connect to the service at {}: {e}", socket.display());
            std::process::exit(1)
        });
        let (read, write) = stream.into_split();
        Counted {
            read,
            write: FramedWrite::new(write, codec()),
            buf: BytesMut::with_capacity(1 << 20),
            decoder: codec(),
            joiner: Assembler::new(MAX_MESSAGE),
            bytes: 0,
            first_byte: None,
            message_bytes: 0,
        }
    }

    async fn send(&mut self, message: &ToService) {
        for frame in frames(message).expect("frames") {
            self.write.send(frame).await.expect("sends");
        }
    }

    /// The next whole message, or `None` if none completes within `within` (or the connection closed).
    async fn next(&mut self, within: Duration) -> Option<Received> {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            while let Some(frame) = self.decoder.decode(&mut self.buf).expect("a frame") {
                let last_byte = Instant::now();
                self.message_bytes += 4 + frame.len();
                let done = self.joiner.push::<FromService>(&frame).expect("a message");
                if let Some(message) = done {
                    let decode = last_byte.elapsed();
                    let first_byte = self.first_byte.take().unwrap_or(last_byte);
                    let bytes = std::mem::take(&mut self.message_bytes);
                    return Some(Received { message, first_byte, last_byte, decode, bytes });
                }
            }
            let read = tokio::time::timeout_at(deadline, self.read.read_buf(&mut self.buf)).await;
            match read {
                Ok(Ok(0)) | Ok(Err(_)) | Err(_) => return None,
                Ok(Ok(n)) => {
                    self.first_byte.get_or_insert_with(Instant::now);
                    self.bytes += n;
                }
            }
        }
    }
}

fn idle(socket: &Path, seconds: Duration, serve_pid: u64) {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    runtime.block_on(async {
        let mut conn = Counted::connect(socket).await;
        let features = FEATURES.iter().map(|f| f.to_string()).collect();
        conn.send(&ToService::Hello { version: PROTOCOL_VERSION, features, resume: None }).await;
        match conn.next(Duration::from_secs(10)).await.map(|r| r.message) {
            Some(FromService::Welcome(_)) => {}
            Some(FromService::Refused { message, .. }) => {
                eprintln!("refused: {message}");
                std::process::exit(1)
            }
            _ => {
                eprintln!("no welcome");
                std::process::exit(1)
            }
        }
        // Load the open queue as the TUI does at start, timing its reply's parts.
        let sent = Instant::now();
        conn.send(&ToService::Call { id: 1, ask: Ask::Service(Request::Queue { scope: Scope::Open }) }).await;
        let reply = loop {
            let Some(got) = conn.next(Duration::from_secs(120)).await else {
                eprintln!("no answer to the queue call");
                std::process::exit(1)
            };
            if matches!(got.message, FromService::Reply { id: 1, .. }) {
                break got;
            }
        };
        let rows = match &reply.message {
            FromService::Reply { result: Ok(Answer::Service(r)), .. } => match &**r {
                Reply::Rows(rows) => rows.len(),
                _ => 0,
            },
            _ => 0,
        };
        println!("queue-rows {rows}");
        println!("queue-reply-bytes {}", reply.bytes);
        println!("queue-to-first-byte-ms {:.1}", ms(reply.first_byte - sent));
        println!("queue-transfer-ms {:.1}", ms(reply.last_byte - reply.first_byte));
        println!("queue-decode-ms {:.1}", ms(reply.decode));
        println!("queue-total-ms {:.1}", ms(reply.last_byte + reply.decode - sent));
        // Settled: nothing for 2 s in a row (presence and anything else the connection's start brings).
        while conn.next(Duration::from_secs(2)).await.is_some() {}
        let counted_from = conn.bytes - conn.buf.len();
        let ticks_before = cpu_ticks(serve_pid);
        let mut kinds = Vec::new();
        let deadline = tokio::time::Instant::now() + seconds;
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            if left.is_zero() {
                break;
            }
            match conn.next(left).await {
                Some(got) => kinds.push(format!("{:.30}", format!("{:?}", got.message))),
                None if tokio::time::Instant::now() < deadline => {
                    eprintln!("the service closed the connection while it was idle");
                    std::process::exit(1)
                }
                None => break,
            }
        }
        println!("serve-cpu-ticks-idle {}", cpu_ticks(serve_pid) - ticks_before);
        println!("idle-seconds {}", seconds.as_secs());
        println!("idle-bytes {}", conn.bytes - counted_from);
        println!("idle-messages {}", kinds.len());
        for kind in kinds {
            eprintln!("idle message: {kind}");
        }
    });
}
