//! Load generator for Have Your Say (`cargo bench --bench load`, `harness = false`).
//!
//! Starts the real server binary on 127.0.0.1 with the demo data, then
//!  1. submission phase: `--clients` concurrent clients POST random valid responses to the demo
//!     consultation for `--seconds` seconds (latency and throughput),
//!  2. journey phase: `--journey-clients` residents answer through the HTML pages for `--journey-seconds`
//!     (complete responses per second; see `journey.rs`),
//!  3. preload phase: keeps submitting until the consultation holds `--preload` responses
//!     (at most `--preload-seconds`, default 180),
//!  4. results-read phase: measures `GET .../results` with that many stored responses
//!     (2000 sequential requests after 50 warm-ups, then 8 concurrent clients for 3 s), and with
//!     `--read-at N,N,…` the dashboard, its cross-tab and the API's at each of those sizes on the way,
//!  5. with `--export`, the export phase: downloads every response of the consultation as CSV, JSON and
//!     Excel through `GET .../responses?format=` (timed, reading the body as it arrives),
//!
//! following the results' event stream during the submission phase (how long each acknowledged response
//! takes to show there), sampling the server's resident memory (VmRSS) during the submission, journey and
//! export phases, and prints a Markdown summary for BENCHMARKS.md.
//!
//! ```text
//! cargo bench --bench load -- --clients 64 --seconds 10
//! cargo bench --bench load -- --smoke
//! cargo bench --bench load -- --seconds 1 --journey-seconds 0 --preload 1000000 --preload-seconds 1800 --export
//! cargo bench --bench load -- --read-at 10000,100000,1000000 --preload 1000000 --preload-seconds 1800
//! cargo bench --bench load -- --backend postgres --database-url postgres://postgres@127.0.0.1:5432/postgres
//! ```
//!
//! Everything targets 127.0.0.1 only; every loop is bounded in time and in count. The server
//! child (and for postgres the scratch database `hys_bench_<random>`) is removed on exit, also
//! after an error or a panic. Exit status 1 when any request failed or the stored count is short.

use std::collections::BTreeMap;
use std::fs::File;
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, ExitCode, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::Value;

mod journey;
mod results;
#[path = "../support/mod.rs"]
mod support;
use support::{Backend, Res};

const SLUG: &str = "irmp-2027";
const DEFAULT_PG_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";
const HEALTH_TIMEOUT: Duration = Duration::from_secs(60);
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
const BODY_POOL_SIZE: usize = 2000;
/// Hard cap on requests per client task in any phase (the time bound normally ends it first).
const MAX_REQUESTS_PER_CLIENT: usize = 5_000_000;
const MAX_PRINTED_ERRORS: usize = 5;

// ---------------------------------------------------------------------------------------------
// Options

#[derive(Debug)]
struct Options {
    backend: Backend,
    database_url: String,
    clients: usize,
    seconds: u64,
    preload: u64,
    /// Time limit of the preload phase.
    preload_seconds: u64,
    journey_clients: usize,
    /// Duration of the HTML journey phase; 0 skips it.
    journey_seconds: u64,
    smoke: bool,
    /// Sequential results reads (after 50 warm-ups).
    read_requests: usize,
    /// Duration of the 8-client concurrent results reads.
    read_concurrent_seconds: u64,
    /// Stored responses at which the decision-makers' reads are measured, on the way to `preload`.
    read_at: Vec<u64>,
    /// Time the response exports after the results reads.
    export: bool,
    /// Before the exports, write responses straight into the tables until the consultation has this many.
    export_rows: u64,
}

const USAGE: &str = "\
usage: cargo bench --bench load -- [options]
  --backend sqlite|postgres   database backend (default sqlite)
  --database-url URL          postgres admin URL on 127.0.0.1; a scratch database is created
                              and dropped (default postgres://postgres@127.0.0.1:5432/postgres)
  --clients N                 concurrent submitting clients (default 64)
  --seconds S                 submission phase duration, at most 120 (default 10)
  --preload N                 stored responses before the results-read phase (default 100000)
  --preload-seconds S         time limit of the preload phase, at most 1800 (default 180)
  --journey-clients N         residents answering through the HTML pages at once (default 64)
  --journey-seconds S         HTML journey phase duration, at most 120; 0 skips it (default 10)
  --read-at N,N,…             also measure the dashboard, cross-tab and results reads when the
                              consultation holds each of these many responses (preloading to each)
  --export                    after the results reads, download every response as CSV, JSON and
                              Excel, timing each and sampling the server's memory
  --export-rows N             before the exports, write random valid responses straight into the
                              tables (not through the server, and so not into the running totals,
                              which exports do not read) until the consultation has N (default 0)
  --smoke                     tiny run: 8 clients, 2 s, 8 journey clients for 2 s, preload 2000
                              (explicit flags still win)";

fn parse_args() -> Res<Options> {
    let mut backend = Backend::Sqlite;
    let mut database_url: Option<String> = None;
    let mut clients: Option<usize> = None;
    let mut seconds: Option<u64> = None;
    let mut preload: Option<u64> = None;
    let mut preload_seconds: u64 = 180;
    let mut journey_clients: Option<usize> = None;
    let mut journey_seconds: Option<u64> = None;
    let mut smoke = false;
    let mut export = false;
    let mut read_at: Vec<u64> = Vec::new();
    let mut export_rows: u64 = 0;

    let mut flags = support::Flags::from_env(USAGE);
    while let Some((flag, inline)) = flags.next_flag() {
        match flag.as_str() {
            "--backend" => backend = flags.backend(&flag, inline)?,
            "--database-url" => database_url = Some(flags.value(&flag, inline)?),
            "--clients" => clients = Some(flags.number(&flag, inline)?),
            "--seconds" => seconds = Some(flags.number(&flag, inline)?),
            "--preload" => preload = Some(flags.number(&flag, inline)?),
            "--preload-seconds" => preload_seconds = flags.number(&flag, inline)?,
            "--journey-clients" => journey_clients = Some(flags.number(&flag, inline)?),
            "--journey-seconds" => journey_seconds = Some(flags.number(&flag, inline)?),
            "--smoke" => smoke = true,
            "--export" => export = true,
            "--read-at" => {
                let list = flags.value(&flag, inline)?;
                read_at = list
                    .split(',')
                    .map(|n| n.trim().parse::<u64>().map(|n| n.min(10_000_000)))
                    .collect::<Result<_, _>>()
                    .map_err(|_| format!("--read-at takes numbers separated by commas, got {list:?}"))?;
                read_at.sort_unstable();
            }
            "--export-rows" => export_rows = flags.number(&flag, inline)?,
            other => eprintln!("load: ignoring unknown argument {other:?}"),
        }
    }

    if backend == Backend::Sqlite && database_url.is_some() {
        eprintln!("load: --database-url is only used with --backend postgres; ignoring it");
    }
    let (d_clients, d_seconds, d_preload) = if smoke { (8, 2, 2000) } else { (64, 10, 100_000) };
    let seconds = seconds.unwrap_or(d_seconds);
    if seconds > 120 {
        eprintln!("load: --seconds {seconds} capped to 120");
    }
    Ok(Options {
        backend,
        database_url: database_url.unwrap_or_else(|| DEFAULT_PG_URL.to_owned()),
        clients: clients.unwrap_or(d_clients).clamp(1, 1024),
        seconds: seconds.clamp(1, 120),
        preload: preload.unwrap_or(d_preload).min(10_000_000),
        preload_seconds: preload_seconds.clamp(1, 1800),
        journey_clients: journey_clients.unwrap_or(if smoke { 8 } else { 64 }).clamp(1, 1024),
        journey_seconds: journey_seconds.unwrap_or(if smoke { 2 } else { 10 }).min(120),
        smoke,
        read_requests: if smoke { 200 } else { 2000 },
        read_concurrent_seconds: if smoke { 1 } else { 3 },
        read_at,
        export,
        export_rows: export_rows.min(10_000_000),
    })
}

// ---------------------------------------------------------------------------------------------
// Scratch postgres database (created with psql, dropped on Drop)

struct PgDatabase {
    admin_url: String,
    name: String,
    /// URL of the scratch database, for the server.
    url: String,
}

fn psql(admin_url: &str, sql: &str) -> Res<()> {
    let output = Command::new("psql")
        .args(["-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", admin_url, "-c", sql])
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("cannot run psql (is it installed?): {e}"))?;
    if output.status.success() {
        Ok(())
    } else {
        Err(format!("psql -c {sql:?} failed: {}", String::from_utf8_lossy(&output.stderr).trim()).into())
    }
}

/// `scheme://userinfo@host:port/db?query` -> (`scheme://userinfo@host:port`, host, `?query`).
fn split_pg_url(url: &str) -> Res<(String, String, String)> {
    let (scheme, rest) = url.split_once("://").ok_or_else(|| format!("--database-url {url:?} is not a URL"))?;
    if scheme != "postgres" && scheme != "postgresql" {
        return Err(format!("--database-url must be postgres://…, got {url:?}").into());
    }
    let (rest, query) = match rest.find('?') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, ""),
    };
    let authority = rest.split('/').next().unwrap_or("");
    let hostport = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let host = if let Some(v6) = hostport.strip_prefix('[') {
        format!("[{}]", v6.split(']').next().unwrap_or(""))
    } else {
        hostport.split(':').next().unwrap_or("").to_owned()
    };
    Ok((format!("{scheme}://{authority}"), host, query.to_owned()))
}

impl PgDatabase {
    fn create(admin_url: &str) -> Res<PgDatabase> {
        let (base, host, query) = split_pg_url(admin_url)?;
        if !matches!(host.as_str(), "127.0.0.1" | "localhost" | "[::1]") || query.contains("host=") {
            return Err(format!("refusing non-loopback database URL {admin_url:?}").into());
        }
        let name = format!("hys_bench_{:08x}", rand::rng().random::<u32>());
        psql(admin_url, &format!("CREATE DATABASE {name}"))?;
        eprintln!("load: created postgres database {name}");
        Ok(PgDatabase { admin_url: admin_url.to_owned(), url: format!("{base}/{name}{query}"), name })
    }
}

impl Drop for PgDatabase {
    fn drop(&mut self) {
        let forced = psql(&self.admin_url, &format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name));
        // WITH (FORCE) needs PostgreSQL 13+; retry plainly on older servers.
        let result = forced.or_else(|_| psql(&self.admin_url, &format!("DROP DATABASE IF EXISTS {}", self.name)));
        match result {
            Ok(()) => eprintln!("load: dropped postgres database {}", self.name),
            Err(e) => eprintln!("load: WARNING: could not drop database {}: {e}", self.name),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Server child process (stopped on Drop)

struct Server {
    child: Child,
    base: String,
    log_path: PathBuf,
    // Dropped after `child` is stopped (Drop::drop runs before the fields are dropped).
    _dir: tempfile::TempDir,
}

impl Server {
    fn spawn(dir: tempfile::TempDir, database_url: &str) -> Res<Server> {
        let port = {
            let listener = TcpListener::bind("127.0.0.1:0")?;
            listener.local_addr()?.port()
        };
        let bind = format!("127.0.0.1:{port}");
        let log_path = dir.path().join("server.log");
        let log = File::create(&log_path)?;
        let child = Command::new(env!("CARGO_BIN_EXE_haveyoursay"))
            .args(["serve", "--bind", &bind, "--database-url", database_url, "--demo"])
            .env("RUST_LOG", "warn")
            // The load comes from 127.0.0.1, which the per-address limits would otherwise count as one client.
            .env("RATE_LIMIT_EXEMPT", "127.0.0.1,::1")
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .spawn()
            .map_err(|e| format!("cannot start the server binary: {e}"))?;
        eprintln!("load: started server pid {} on http://{bind} ({database_url})", child.id());
        Ok(Server { child, base: format!("http://{bind}"), log_path, _dir: dir })
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    fn log_tail(&self, lines: usize) -> String {
        support::tail(&self.log_path, lines)
    }

    fn exited(&mut self) -> Option<std::process::ExitStatus> {
        self.child.try_wait().ok().flatten()
    }

    async fn wait_healthy(&mut self, client: &reqwest::Client) -> Res<()> {
        let started = Instant::now();
        let url = self.url("/healthz");
        while started.elapsed() < HEALTH_TIMEOUT {
            if let Some(status) = self.exited() {
                return Err(format!("server exited early ({status}); log:\n{}", self.log_tail(40)).into());
            }
            let probe = client.get(&url).timeout(Duration::from_secs(2)).send().await;
            if matches!(probe, Ok(ref r) if r.status() == reqwest::StatusCode::OK) {
                eprintln!("load: server healthy after {:.1} s", started.elapsed().as_secs_f64());
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Err(format!("GET /healthz not 200 within {HEALTH_TIMEOUT:?}; log:\n{}", self.log_tail(40)).into())
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        support::stop(&mut self.child);
    }
}

// ---------------------------------------------------------------------------------------------
// Measurements

#[derive(Default)]
struct Stats {
    latencies_us: Vec<u32>,
    ok: u64,
    errors: u64,
    /// "201", "422", "transport", … -> count
    outcomes: BTreeMap<String, u64>,
}

impl Stats {
    fn merge(&mut self, other: Stats) {
        self.latencies_us.extend(other.latencies_us);
        self.ok += other.ok;
        self.errors += other.errors;
        for (k, v) in other.outcomes {
            *self.outcomes.entry(k).or_default() += v;
        }
    }

    fn record(&mut self, started: Instant, outcome: String, ok: bool) {
        let us = started.elapsed().as_micros().min(u128::from(u32::MAX)) as u32;
        self.latencies_us.push(us);
        if ok {
            self.ok += 1;
        } else {
            self.errors += 1;
        }
        *self.outcomes.entry(outcome).or_default() += 1;
    }

    fn summary(mut self, elapsed: Duration) -> Summary {
        self.latencies_us.sort_unstable();
        let pct = |p: f64| percentile_ms(&self.latencies_us, p);
        Summary {
            total: self.ok + self.errors,
            ok: self.ok,
            errors: self.errors,
            per_second: self.ok as f64 / elapsed.as_secs_f64().max(1e-9),
            elapsed,
            p50: pct(50.0),
            p95: pct(95.0),
            p99: pct(99.0),
            max: pct(100.0),
            outcomes: self.outcomes,
        }
    }
}

/// Nearest-rank percentile of sorted microsecond latencies, in milliseconds.
fn percentile_ms(sorted_us: &[u32], p: f64) -> f64 {
    if sorted_us.is_empty() {
        return f64::NAN;
    }
    let rank = ((p / 100.0) * sorted_us.len() as f64).ceil() as usize;
    sorted_us[rank.clamp(1, sorted_us.len()) - 1] as f64 / 1000.0
}

struct Summary {
    total: u64,
    ok: u64,
    errors: u64,
    per_second: f64,
    elapsed: Duration,
    p50: f64,
    p95: f64,
    p99: f64,
    max: f64,
    outcomes: BTreeMap<String, u64>,
}

impl Summary {
    fn print(&self, what: &str) {
        eprintln!(
            "load: {what}: {} requests in {:.2} s, {} ok, {} errors, {:.1}/s ok; latency ms p50 {:.2} p95 {:.2} p99 {:.2} max {:.2}; outcomes {:?}",
            self.total,
            self.elapsed.as_secs_f64(),
            self.ok,
            self.errors,
            self.per_second,
            self.p50,
            self.p95,
            self.p99,
            self.max,
            self.outcomes
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Submissions

struct Submitter {
    client: reqwest::Client,
    url: String,
    /// Pre-serialised `{"answers": …}` bodies.
    bodies: Vec<String>,
    run_id: String,
    printed_errors: AtomicUsize,
    /// When each response of the timed submission phase was acknowledged, to find it in the event stream.
    acks: std::sync::Mutex<Vec<Instant>>,
    /// Counts the runs, so that each run's idempotency keys are its own (the preload runs once per size).
    runs: AtomicUsize,
}

impl Submitter {
    fn print_error(&self, what: &str) {
        if self.printed_errors.fetch_add(1, Ordering::Relaxed) < MAX_PRINTED_ERRORS {
            let what: String = what.chars().take(600).collect();
            eprintln!("load: submission error: {what}");
        }
    }

    /// One client: submit until `deadline`, or until `ok_counter` reaches `stop_at`.
    async fn client_loop(
        self: Arc<Self>,
        phase: &'static str,
        run: usize,
        client_id: usize,
        deadline: Instant,
        ok_counter: Arc<AtomicU64>,
        stop_at: u64,
    ) -> Stats {
        let mut stats = Stats::default();
        for seq in 0..MAX_REQUESTS_PER_CLIENT {
            if Instant::now() >= deadline || ok_counter.load(Ordering::Relaxed) >= stop_at {
                break;
            }
            let body = self.bodies[(client_id * 7919 + seq) % self.bodies.len()].clone();
            let key = format!("bench-{}-{phase}{run}-{client_id}-{seq}", self.run_id);
            let started = Instant::now();
            let sent = self
                .client
                .post(&self.url)
                .header(reqwest::header::CONTENT_TYPE, "application/json")
                .header("Idempotency-Key", key)
                .body(body)
                .send()
                .await;
            match sent {
                Ok(response) => {
                    let status = response.status();
                    let text = response.text().await;
                    let ok = status == reqwest::StatusCode::CREATED && text.is_ok();
                    stats.record(started, status.as_u16().to_string(), ok);
                    if ok {
                        ok_counter.fetch_add(1, Ordering::Relaxed);
                        if phase == "submit" {
                            self.acks.lock().unwrap().push(Instant::now());
                        }
                    } else {
                        self.print_error(&format!("{status}: {}", text.unwrap_or_else(|e| e.to_string())));
                    }
                }
                Err(e) => {
                    stats.record(started, "transport".to_owned(), false);
                    self.print_error(&format!("transport: {e}"));
                    // Do not spin hot on a dead server.
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
            }
        }
        stats
    }

    /// `clients` concurrent client loops; returns the merged stats and the wall time.
    async fn run(
        self: &Arc<Self>,
        phase: &'static str,
        clients: usize,
        deadline: Instant,
        ok_counter: Arc<AtomicU64>,
        stop_at: u64,
    ) -> Res<(Stats, Duration)> {
        let started = Instant::now();
        let run = self.runs.fetch_add(1, Ordering::Relaxed);
        let tasks: Vec<_> = (0..clients)
            .map(|id| {
                tokio::spawn(Arc::clone(self).client_loop(phase, run, id, deadline, Arc::clone(&ok_counter), stop_at))
            })
            .collect();
        let mut stats = Stats::default();
        for task in tasks {
            stats.merge(task.await?);
        }
        Ok((stats, started.elapsed()))
    }
}

// ---------------------------------------------------------------------------------------------
// Results reads

async fn get_results(client: &reqwest::Client, url: &str) -> Res<Value> {
    let response = client.get(url).send().await?;
    let status = response.status();
    let text = response.text().await?;
    if status != reqwest::StatusCode::OK {
        return Err(format!("GET {url}: {status}: {}", text.chars().take(600).collect::<String>()).into());
    }
    Ok(serde_json::from_str(&text)?)
}

fn stored_responses(results: &Value) -> Res<u64> {
    results["responses"].as_u64().ok_or_else(|| {
        let snippet: String = results.to_string().chars().take(300).collect();
        format!("results JSON has no integer `responses` field: {snippet}").into()
    })
}

async fn read_loop(client: reqwest::Client, url: String, deadline: Instant, max_requests: usize) -> Stats {
    let mut stats = Stats::default();
    for _ in 0..max_requests {
        if Instant::now() >= deadline {
            break;
        }
        let started = Instant::now();
        match client.get(&url).send().await {
            Ok(response) => {
                let status = response.status();
                let ok = response.bytes().await.is_ok() && status == reqwest::StatusCode::OK;
                stats.record(started, status.as_u16().to_string(), ok);
            }
            Err(_) => {
                stats.record(started, "transport".to_owned(), false);
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        }
    }
    stats
}

/// The server's resident memory (VmRSS), sampled every 50 ms until `stop` is set: the most seen, in kB.
fn sample_rss(pid: u32, stop: Arc<AtomicBool>) -> tokio::task::JoinHandle<u64> {
    tokio::spawn(async move {
        let mut most = 0;
        // Bounded: the phases it watches end within minutes.
        for _ in 0..(20 * 3600) {
            most = most.max(support::rss_kb(pid));
            if stop.load(Ordering::Relaxed) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        most
    })
}

/// Runs `phase` while sampling the server's memory; returns its result and the most memory seen, in kB.
async fn watching_memory<T>(pid: u32, phase: impl std::future::Future<Output = T>) -> (T, u64) {
    let stop = Arc::new(AtomicBool::new(false));
    let sampler = sample_rss(pid, Arc::clone(&stop));
    let result = phase.await;
    stop.store(true, Ordering::Relaxed);
    (result, sampler.await.unwrap_or(0))
}

// ---------------------------------------------------------------------------------------------
// Orchestration

struct JourneyOutcome {
    journeys: Summary,
    requests: Summary,
    rss_kb: u64,
}

struct Outcome {
    submit: Summary,
    submit_rss_kb: u64,
    journey: Option<JourneyOutcome>,
    /// (responses submitted, rate per second); None when enough were stored already.
    preload: Option<(u64, f64)>,
    stored: u64,
    read_sequential: Summary,
    read_concurrent: Summary,
    exports: Vec<Export>,
    /// From each acknowledgement of the submission phase to the event stream.
    live: results::Live,
    /// The decision-makers' reads at each `--read-at` size.
    decisions: Vec<results::Reads>,
    failed: bool,
}

/// One timed download of every response.
struct Export {
    format: &'static str,
    /// The responses in the file, as the server counted them (X-Response-Count).
    responses: u64,
    bytes: u64,
    seconds: f64,
    /// The server's memory just before, and the most seen during, in kB.
    rss_before_kb: u64,
    rss_max_kb: u64,
}

async fn bench(opts: &Options, server: &mut Server, database_url: &str) -> Res<Outcome> {
    let pool_size = opts.clients.max(32) + 8;
    let client =
        reqwest::Client::builder().no_proxy().pool_max_idle_per_host(pool_size).timeout(REQUEST_TIMEOUT).build()?;
    server.wait_healthy(&client).await?;
    let mut failed = false;

    // b. questionnaire and a pool of random valid bodies
    let consultation_url = server.url(&format!("/api/v1/consultations/{SLUG}"));
    let response = client.get(&consultation_url).send().await?;
    if response.status() != reqwest::StatusCode::OK {
        return Err(format!("GET {consultation_url}: {}", response.status()).into());
    }
    let questionnaire: Value = response.json().await?;
    if questionnaire["status"] != "open" {
        eprintln!("load: WARNING: consultation status is {}, submissions will fail", questionnaire["status"]);
    }
    let seed: u64 = rand::rng().random();
    eprintln!("load: body pool seed {seed}");
    let mut rng = StdRng::seed_from_u64(seed);
    let parsed: haveyoursay::domain::questionnaire::Questionnaire = serde_json::from_value(questionnaire.clone())?;
    let bodies: Vec<String> = (0..BODY_POOL_SIZE)
        .map(|_| {
            let answers = haveyoursay::demo::random_answers(&parsed, &mut rng, "", &[]);
            format!("{{\"answers\":{}}}", haveyoursay::domain::answers::canonical_json(&answers))
        })
        .collect();
    let submitter = Arc::new(Submitter {
        client: client.clone(),
        url: format!("{consultation_url}/responses"),
        bodies,
        run_id: format!("{:08x}", rng.random::<u32>()),
        printed_errors: AtomicUsize::new(0),
        acks: std::sync::Mutex::default(),
        runs: AtomicUsize::new(0),
    });
    let results_url = format!("{consultation_url}/results");

    // c. timed submission phase
    eprintln!("load: submission phase: {} clients for {} s", opts.clients, opts.seconds);
    let deadline = Instant::now() + Duration::from_secs(opts.seconds);
    let pid = server.child.id();
    // A live dashboard follows the event stream meanwhile: how long each acknowledged response takes to show.
    let shown_before = stored_responses(&get_results(&client, &results_url).await?)?;
    let stream = tokio::spawn(results::follow(
        client.clone(),
        format!("{results_url}/stream"),
        deadline + results::LIVE_TARGET * 2,
    ));
    let (result, submit_rss_kb) =
        watching_memory(pid, submitter.run("submit", opts.clients, deadline, Arc::new(AtomicU64::new(0)), u64::MAX))
            .await;
    let (stats, elapsed) = result?;
    let submit = stats.summary(elapsed);
    submit.print("submissions");
    eprintln!("load: server memory during submissions: at most {:.1} MB", submit_rss_kb as f64 / 1024.0);
    failed |= submit.errors > 0;
    let events = stream.await??;
    let mut acks = std::mem::take(&mut *submitter.acks.lock().unwrap());
    let live = results::Live::measure(&mut acks, &events, shown_before);
    live.print();
    failed |= live.unseen > 0;

    // c2. the HTML journey
    let journey = if opts.journey_seconds == 0 {
        None
    } else {
        let outcome = journeys(opts, server, pid).await?;
        failed |= outcome.journeys.errors > 0 || outcome.requests.errors > 0;
        Some(outcome)
    };

    // d. preload until the consultation holds --preload responses, stopping at each --read-at size on the way
    //    for the decision-makers' reads
    let mut preload_result: Option<(u64, f64)> = None;
    let (mut preloaded, mut preload_time) = (0u64, Duration::ZERO);
    let mut decisions = Vec::new();
    let officer = if opts.read_at.is_empty() {
        None
    } else {
        let (email, password) =
            results::demo_officer(&server.log_tail(400)).ok_or("the server printed no demo officer account")?;
        Some(results::sign_in(&server.base, &email, &password).await?)
    };
    for target in opts.read_at.iter().copied().filter(|n| *n < opts.preload).chain([opts.preload]) {
        if let Some(preload) = preload_to(&submitter, &client, &results_url, target, opts).await? {
            preloaded += preload.ok;
            preload_time += preload.elapsed;
            preload_result = Some((preloaded, preloaded as f64 / preload_time.as_secs_f64().max(1e-9)));
            failed |= preload.errors > 0;
        }
        if let Some(cookie) = officer.as_ref().filter(|_| opts.read_at.contains(&target)) {
            let reads = results::Reads::measure(&client, server, cookie, opts.read_requests / 4).await?;
            reads.print();
            failed |= reads.failed;
            decisions.push(reads);
        }
    }

    // e. results reads
    for _ in 0..50 {
        get_results(&client, &results_url).await?;
    }
    eprintln!("load: results-read phase: {} sequential requests", opts.read_requests);
    let started = Instant::now();
    let far = started + Duration::from_secs(600);
    let read_sequential =
        read_loop(client.clone(), results_url.clone(), far, opts.read_requests).await.summary(started.elapsed());
    read_sequential.print("results reads, sequential");
    failed |= read_sequential.errors > 0;

    eprintln!("load: results-read phase: 8 concurrent clients for {} s", opts.read_concurrent_seconds);
    let started = Instant::now();
    let deadline = started + Duration::from_secs(opts.read_concurrent_seconds);
    let tasks: Vec<_> =
        (0..8).map(|_| tokio::spawn(read_loop(client.clone(), results_url.clone(), deadline, 1_000_000))).collect();
    let mut stats = Stats::default();
    for task in tasks {
        stats.merge(task.await?);
    }
    let read_concurrent = stats.summary(started.elapsed());
    read_concurrent.print("results reads, 8 clients");
    failed |= read_concurrent.errors > 0;

    let stored = stored_responses(&get_results(&client, &results_url).await?)?;
    if stored < opts.preload {
        eprintln!("load: WARNING: results report {stored} responses, fewer than --preload {}", opts.preload);
        failed = true;
    } else {
        eprintln!("load: verified: results report {stored} responses (>= {})", opts.preload);
    }
    let exports = if opts.export {
        if opts.export_rows > 0 {
            let questionnaire = parsed.clone();
            let (url, rows) = (database_url.to_string(), opts.export_rows);
            tokio::task::spawn_blocking(move || write_rows(&url, &questionnaire, rows)).await??;
        }
        export_phase(server, database_url, pid).await?
    } else {
        Vec::new()
    };

    if let Some(status) = server.exited() {
        eprintln!("load: WARNING: server exited during the run ({status})");
        failed = true;
    }
    if failed {
        eprintln!("load: server log tail:\n{}", server.log_tail(30));
    }

    Ok(Outcome {
        submit,
        submit_rss_kb,
        journey,
        preload: preload_result,
        stored,
        read_sequential,
        read_concurrent,
        exports,
        live,
        decisions,
        failed,
    })
}

/// Writes random valid responses to the demo consultation straight into the tables, 5,000 to a transaction,
/// until it has `rows`: a quick way to a million responses for the exports, which read only the responses and
/// their answers.
fn write_rows(database_url: &str, q: &haveyoursay::domain::questionnaire::Questionnaire, rows: u64) -> Res<()> {
    use haveyoursay::models::{consultation, response, version};
    let pool = haveyoursay::db::connect(database_url, 2)?;
    let mut conn = pool.get()?;
    let c = consultation::find_by_slug(&mut conn, SLUG)?.ok_or("no demo consultation")?;
    let version_id = *version::published_ids(&mut conn, c.id)?.last().ok_or("no published version")?;
    let have = response::count(&mut conn, c.id)? as u64;
    let mut rng = StdRng::seed_from_u64(7);
    let started = Instant::now();
    let mut written = have;
    while written < rows {
        let n = (rows - written).min(5000);
        let keys: Vec<(String, String)> =
            (written..written + n).map(|i| (format!("HYS-BULK-{i:08}"), format!("bulk-{i}"))).collect();
        let answers: Vec<haveyoursay::domain::answers::Answers> =
            (0..n).map(|_| haveyoursay::demo::random_answers(q, &mut rng, "", &[])).collect();
        let now = haveyoursay::models::now();
        let new: Vec<response::NewResponse> = keys
            .iter()
            .map(|(reference, key)| response::NewResponse {
                consultation_id: c.id,
                version_id,
                reference,
                channel: "paper",
                entered_by: None,
                idempotency_key: key,
                fingerprint: "bulk",
                submitted_at: now,
                respondent: None,
            })
            .collect();
        let given: Vec<&haveyoursay::domain::answers::Answers> = answers.iter().collect();
        haveyoursay::db::write(&mut conn, |conn| response::insert_many(conn, &new, &given))?;
        written += n;
        if written % 100_000 < 5000 {
            eprintln!("load:   written {written}/{rows}");
        }
    }
    eprintln!(
        "load: wrote {} responses straight into the tables in {:.0} s",
        rows.saturating_sub(have),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// The export phase: an admin and a token made with the binary's own commands, then every response of the
/// consultation downloaded in each format, the body read as it arrives and dropped.
async fn export_phase(server: &Server, database_url: &str, pid: u32) -> Res<Vec<Export>> {
    let binary = env!("CARGO_BIN_EXE_haveyoursay");
    let email = "bench-exports@example.org";
    let mut add = Command::new(binary)
        .args(["user", "add", "--email", email, "--name", "Bench", "--role", "admin", "--password-stdin"])
        .env("DATABASE_URL", database_url)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()?;
    {
        use std::io::Write;
        let mut stdin = add.stdin.take().ok_or("no stdin")?;
        writeln!(stdin, "bench-exports-{}", rand::random::<u64>())?;
    }
    if !add.wait()?.success() {
        return Err("haveyoursay user add failed".into());
    }
    let token =
        Command::new(binary).args(["token", "add", "--email", email]).env("DATABASE_URL", database_url).output()?;
    if !token.status.success() {
        return Err(format!("haveyoursay token add failed: {}", String::from_utf8_lossy(&token.stderr)).into());
    }
    let token = String::from_utf8(token.stdout)?.trim().to_string();
    let client = reqwest::Client::builder().no_proxy().build()?;
    let mut out = Vec::new();
    for format in ["csv", "json", "xlsx"] {
        let url = server.url(&format!("/api/v1/consultations/{SLUG}/responses?format={format}"));
        let rss_before_kb = support::rss_kb(pid);
        eprintln!("load: export phase: {format}");
        let started = Instant::now();
        let (answered, rss_max_kb) = watching_memory(pid, async {
            let mut r = client.get(&url).bearer_auth(&token).send().await?;
            if r.status() != reqwest::StatusCode::OK {
                return Err(format!("GET {url}: {}", r.status()).into());
            }
            let responses = r
                .headers()
                .get("x-response-count")
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.parse().ok())
                .unwrap_or(0);
            let mut bytes = 0u64;
            while let Some(chunk) = r.chunk().await? {
                bytes += chunk.len() as u64;
            }
            Ok::<(u64, u64), Box<dyn std::error::Error + Send + Sync>>((responses, bytes))
        })
        .await;
        let (responses, bytes) = answered?;
        let seconds = started.elapsed().as_secs_f64();
        eprintln!(
            "load:   {format}: {bytes} bytes in {seconds:.1} s; memory {:.1} MB before, at most {:.1} MB",
            rss_before_kb as f64 / 1024.0,
            rss_max_kb as f64 / 1024.0
        );
        out.push(Export { format, responses, bytes, seconds, rss_before_kb, rss_max_kb });
    }
    Ok(out)
}

/// Submits until the consultation holds `target` responses (within `--preload-seconds`); None when it already
/// does.
async fn preload_to(
    submitter: &Arc<Submitter>,
    client: &reqwest::Client,
    results_url: &str,
    target: u64,
    opts: &Options,
) -> Res<Option<Summary>> {
    let before = stored_responses(&get_results(client, results_url).await?)?;
    if before >= target {
        return Ok(None);
    }
    let needed = target - before;
    let clients = opts.clients.max(32);
    let limit = Duration::from_secs(opts.preload_seconds);
    eprintln!(
        "load: preload phase: {before} stored, submitting {needed} more with {clients} clients (limit {limit:?})"
    );
    let counter = Arc::new(AtomicU64::new(0));
    let done = Arc::new(AtomicBool::new(false));
    let progress = {
        let (counter, done) = (Arc::clone(&counter), Arc::clone(&done));
        tokio::spawn(async move {
            // Prints every 10 s; bounded by the time limit (plus slack) in case `done` is never set.
            let started = Instant::now();
            let mut last_print = started;
            while !done.load(Ordering::Relaxed) && started.elapsed() < limit + Duration::from_secs(60) {
                tokio::time::sleep(Duration::from_millis(200)).await;
                if last_print.elapsed() >= Duration::from_secs(10) {
                    last_print = Instant::now();
                    eprintln!("load:   preload {}/{needed}", counter.load(Ordering::Relaxed));
                }
            }
        })
    };
    let deadline = Instant::now() + limit;
    let result = submitter.run("preload", clients, deadline, Arc::clone(&counter), needed).await;
    done.store(true, Ordering::Relaxed);
    let _ = progress.await;
    let (stats, elapsed) = result?;
    let preload = stats.summary(elapsed);
    preload.print("preload");
    Ok(Some(preload))
}

/// The journey phase: `--journey-clients` residents through the pages for `--journey-seconds`.
async fn journeys(opts: &Options, server: &Server, pid: u32) -> Res<JourneyOutcome> {
    eprintln!("load: journey phase: {} residents for {} s", opts.journey_clients, opts.journey_seconds);
    // A browser's own view of redirects: every page is asked for, and counted, by itself.
    let client = reqwest::Client::builder()
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .pool_max_idle_per_host(opts.journey_clients + 8)
        .timeout(REQUEST_TIMEOUT)
        .build()?;
    let started = Instant::now();
    let deadline = started + Duration::from_secs(opts.journey_seconds);
    let printed = Arc::new(AtomicUsize::new(0));
    let tasks: Vec<_> = (0..opts.journey_clients)
        .map(|_| {
            tokio::spawn(journey::client_loop(client.clone(), server.base.clone(), deadline, Arc::clone(&printed)))
        })
        .collect();
    let (results, rss_kb) = watching_memory(pid, async {
        let mut all = Vec::with_capacity(tasks.len());
        for task in tasks {
            all.push(task.await);
        }
        all
    })
    .await;
    let elapsed = started.elapsed();
    let (mut journeys, mut requests) = (Stats::default(), Stats::default());
    for result in results {
        let stats = result?;
        journeys.merge(stats.journeys);
        requests.merge(stats.requests);
    }
    let (journeys, requests) = (journeys.summary(elapsed), requests.summary(elapsed));
    journeys.print("HTML journeys (complete responses)");
    requests.print("HTML journey requests");
    eprintln!("load: server memory during journeys: at most {:.1} MB", rss_kb as f64 / 1024.0);
    Ok(JourneyOutcome { journeys, requests, rss_kb })
}

fn print_summary(opts: &Options, o: &Outcome) {
    let (nproc, model) = support::machine();
    let mode = if opts.smoke { " (smoke)" } else { "" };
    println!();
    println!("### Load benchmark{mode}: {}", opts.backend.name());
    println!();
    println!(
        "Machine: {model}, {nproc} CPUs (`nproc`). Server: `haveyoursay serve --demo`, `RUST_LOG=warn`, on 127.0.0.1."
    );
    println!();
    println!("| Backend | Clients | Duration (s) | Submissions/s | Submit p50 / p95 / p99 (ms) | Results read p50 / p95 / p99 (ms) | Results reads/s (8 clients) | Responses stored |");
    println!("|---|---:|---:|---:|---:|---:|---:|---:|");
    println!(
        "| {} | {} | {:.1} | {:.0} | {:.2} / {:.2} / {:.2} | {:.2} / {:.2} / {:.2} | {:.0} | {} |",
        opts.backend.name(),
        opts.clients,
        o.submit.elapsed.as_secs_f64(),
        o.submit.per_second,
        o.submit.p50,
        o.submit.p95,
        o.submit.p99,
        o.read_sequential.p50,
        o.read_sequential.p95,
        o.read_sequential.p99,
        o.read_concurrent.per_second,
        o.stored,
    );
    println!();
    let preload = match o.preload {
        Some((count, rate)) => format!("{count} more responses at {rate:.0}/s"),
        None => "not needed".to_owned(),
    };
    println!(
        "Submissions: {} ok, {} errors, max latency {:.2} ms. Preload: {preload}. \
         Results reads: {} sequential at {:.0}/s (max {:.2} ms); 8 clients p50 / p95 / p99 {:.2} / {:.2} / {:.2} ms.",
        o.submit.ok,
        o.submit.errors,
        o.submit.max,
        o.read_sequential.total,
        o.read_sequential.per_second,
        o.read_sequential.max,
        o.read_concurrent.p50,
        o.read_concurrent.p95,
        o.read_concurrent.p99,
    );
    println!();
    println!(
        "Server resident memory (VmRSS, sampled every 50 ms): at most {:.1} MB during the submissions.",
        o.submit_rss_kb as f64 / 1024.0
    );
    if let Some(j) = &o.journey {
        println!();
        println!("| Backend | Residents | Duration (s) | Complete HTML responses/s | Journey p50 / p99 (ms) | Page requests/s | Request p50 / p95 / p99 (ms) | Server memory (MB) |");
        println!("|---|---:|---:|---:|---:|---:|---:|---:|");
        println!(
            "| {} | {} | {:.1} | {:.0} | {:.1} / {:.1} | {:.0} | {:.2} / {:.2} / {:.2} | {:.1} |",
            opts.backend.name(),
            opts.journey_clients,
            j.journeys.elapsed.as_secs_f64(),
            j.journeys.per_second,
            j.journeys.p50,
            j.journeys.p99,
            j.requests.per_second,
            j.requests.p50,
            j.requests.p95,
            j.requests.p99,
            j.rss_kb as f64 / 1024.0,
        );
    }
    println!();
    o.live.markdown(opts.backend.name());
    results::Reads::markdown(opts.backend.name(), &o.decisions);
    if !o.exports.is_empty() {
        println!();
        println!("| Backend | Responses | Format | Size (MB) | Seconds | Server memory before / at most (MB) |");
        println!("|---|---:|---|---:|---:|---:|");
        for e in &o.exports {
            println!(
                "| {} | {} | {} | {:.1} | {:.1} | {:.1} / {:.1} |",
                opts.backend.name(),
                e.responses,
                e.format,
                e.bytes as f64 / 1e6,
                e.seconds,
                e.rss_before_kb as f64 / 1024.0,
                e.rss_max_kb as f64 / 1024.0
            );
        }
    }
    if o.failed {
        println!();
        println!("**Run had errors or a short response count: see the log above.**");
    }
}

fn run(opts: &Options) -> Res<Outcome> {
    // Declaration order matters: `server` is dropped (stopped) before `pg` (database dropped).
    let pg = match opts.backend {
        Backend::Postgres => Some(PgDatabase::create(&opts.database_url)?),
        Backend::Sqlite => None,
    };
    let dir = tempfile::Builder::new().prefix("hys-bench-").tempdir()?;
    let database_url = match &pg {
        Some(pg) => pg.url.clone(),
        None => format!("sqlite://{}", dir.path().join("bench.db").display()),
    };
    let mut server = Server::spawn(dir, &database_url)?;
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    let outcome = runtime.block_on(bench(opts, &mut server, &database_url));
    drop(runtime);
    drop(server);
    drop(pg);
    outcome
}

fn main() -> ExitCode {
    let opts = match parse_args() {
        Ok(opts) => opts,
        Err(e) => {
            eprintln!("load: {e}");
            return ExitCode::from(2);
        }
    };
    eprintln!("load: {opts:?}");
    match run(&opts) {
        Ok(outcome) => {
            print_summary(&opts, &outcome);
            if outcome.failed {
                ExitCode::FAILURE
            } else {
                ExitCode::SUCCESS
            }
        }
        Err(e) => {
            eprintln!("load: FAILED: {e}");
            ExitCode::FAILURE
        }
    }
}
