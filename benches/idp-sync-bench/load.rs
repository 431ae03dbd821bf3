//! A small closed-loop load generator: `connections` keep-alive HTTP/1.1 connections (hyper's
//! low-level client, one task each), each sending its next request as soon as the previous
//! answer is read. Every request gets a unique sequence number, so bodies and paths can be
//! unique (userNames), and every latency is recorded.

use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper::{Request, StatusCode};
use hyper_util::rt::TokioIo;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};
use tokio::net::TcpStream;

pub type Body = Full<Bytes>;

/// Builds request number `i`, or `None` when there is nothing more to send.
pub type MakeRequest = Arc<dyn Fn(u64) -> Option<Request<Body>> + Send + Sync>;

/// When a run stops: after a number of requests or after a time.
#[derive(Clone, Copy, Debug)]
pub enum Until {
    Requests(u64),
    Elapsed(Duration),
}

#[derive(Debug, Default)]
pub struct Stats {
    pub ok: u64,
    pub errors: u64,
    pub elapsed: Duration,
    /// Microseconds, sorted.
    pub latencies: Vec<u32>,
    pub first_error: Option<String>,
}

impl Stats {
    pub fn per_second(&self) -> f64 {
        self.ok as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }
    /// Adds another run's requests to these (its time too).
    pub fn merge(&mut self, other: Stats) {
        self.ok += other.ok;
        self.errors += other.errors;
        self.elapsed += other.elapsed;
        self.latencies.extend(other.latencies);
        self.latencies.sort_unstable();
        if self.first_error.is_none() {
            self.first_error = other.first_error;
        }
    }

    pub fn percentile_ms(&self, p: f64) -> f64 {
        if self.latencies.is_empty() {
            return f64::NAN;
        }
        let i = ((self.latencies.len() as f64 - 1.0) * p).round() as usize;
        f64::from(self.latencies[i]) / 1000.0
    }
}

/// A request with the usual headers of a SCIM client.
pub fn request(
    method: &str,
    path: &str,
    token: Option<&str>,
    body: Option<String>,
) -> Request<Body> {
    let mut b = Request::builder()
        .method(method)
        .uri(path)
        .header("host", "127.0.0.1");
    if let Some(t) = token {
        b = b.header("authorization", format!("Bearer {t}"));
    }
    let body = match body {
        Some(text) => {
            b = b.header("content-type", "application/scim+json");
            Full::new(Bytes::from(text))
        }
        None => Full::new(Bytes::new()),
    };
    b.body(body).unwrap_or_else(|e| panic!("request: {e}"))
}

pub async fn run(addr: SocketAddr, connections: usize, until: Until, make: MakeRequest) -> Stats {
    let next = Arc::new(AtomicU64::new(0));
    let start = Instant::now();
    let deadline = match until {
        Until::Elapsed(d) => Some(start + d),
        Until::Requests(_) => None,
    };
    let limit = match until {
        Until::Requests(n) => n,
        Until::Elapsed(_) => u64::MAX,
    };
    let mut tasks = Vec::with_capacity(connections);
    for _ in 0..connections {
        let (next, make) = (next.clone(), make.clone());
        tasks.push(tokio::spawn(async move {
            worker(addr, next, limit, deadline, make).await
        }));
    }
    let mut stats = Stats::default();
    for t in tasks {
        let w = t.await.unwrap_or_else(|e| panic!("load worker: {e}"));
        stats.ok += w.ok;
        stats.errors += w.errors;
        stats.latencies.extend(w.latencies);
        if stats.first_error.is_none() {
            stats.first_error = w.first_error;
        }
    }
    stats.elapsed = start.elapsed();
    stats.latencies.sort_unstable();
    stats
}

async fn worker(
    addr: SocketAddr,
    next: Arc<AtomicU64>,
    limit: u64,
    deadline: Option<Instant>,
    make: MakeRequest,
) -> Stats {
    let mut stats = Stats::default();
    let stream = TcpStream::connect(addr)
        .await
        .unwrap_or_else(|e| panic!("connect {addr}: {e}"));
    let _ = stream.set_nodelay(true);
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .unwrap_or_else(|e| panic!("handshake: {e}"));
    tokio::spawn(conn);
    loop {
        if deadline.is_some_and(|d| Instant::now() >= d) {
            break;
        }
        let i = next.fetch_add(1, Ordering::Relaxed);
        if i >= limit {
            break;
        }
        let Some(req) = make(i) else { break };
        if sender.ready().await.is_err() {
            stats.errors += 1;
            break;
        }
        let t = Instant::now();
        let res = match sender.send_request(req).await {
            Ok(r) => r,
            Err(e) => {
                stats.errors += 1;
                stats.first_error.get_or_insert(e.to_string());
                break;
            }
        };
        let status = res.status();
        let body = res.into_body().collect().await.map(|b| b.to_bytes());
        let micros = u32::try_from(t.elapsed().as_micros()).unwrap_or(u32::MAX);
        match body {
            Ok(body) if status.is_success() || status == StatusCode::NOT_MODIFIED => {
                stats.ok += 1;
                stats.latencies.push(micros);
                let _ = body;
            }
            Ok(body) => {
                stats.errors += 1;
                stats
                    .first_error
                    .get_or_insert_with(|| format!("{status}: {}", String::from_utf8_lossy(&body)));
            }
            Err(e) => {
                stats.errors += 1;
                stats.first_error.get_or_insert(e.to_string());
            }
        }
    }
    stats
}
