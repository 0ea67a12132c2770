//! Crash-durability harness for Have Your Say (`cargo bench --bench crash`, `harness = false`).
//!
//! Puts the reliability bar to the test — an acknowledged response is never lost, a retry never stores one
//! twice — by killing the real release server with SIGKILL at random moments while many clients submit, and
//! on PostgreSQL also by stopping the database server itself in immediate mode mid-load. Each cycle:
//!  1. `--clients` concurrent clients POST responses to the demo consultation, each under its own
//!     `Idempotency-Key`; one in twenty is deliberately invalid (a required answer missing, an unknown option,
//!     an unknown question) and must be refused with a 4xx. A client that gets a 5xx retries the same key;
//!  2. after a random delay the server is killed — on PostgreSQL two cycles in five first stop the database
//!     (`pg_ctl -m immediate`): in one of them it is started again and the app must store responses again by
//!     itself before it is killed, in the other the app is killed while the database is down;
//!  3. the server is restarted on the same database and port (`serve --demo`: the demo is already there) — on
//!     PostgreSQL once the killed app's connections are gone, since a COMMIT it had sent may still complete;
//!  4. each response whose outcome its client never learnt is found stored at most once, then retried with the
//!     same key and body until the server answers: 200 with the stored reference if it was stored, 201 if not,
//!     a 4xx for an invalid one; and a few acknowledged ones are replayed (200, the same reference);
//!  5. the checks: every acknowledged response stored once under its key, with its reference and all its
//!     answers; no refused key stored; the stored count equals the demo's plus every acknowledged response; the
//!     public results equal the totals of what was acknowledged. Two checks read the whole database, so they
//!     run every `--integrity-every` and `--recount-every` cycles and after the last: on SQLite
//!     `PRAGMA integrity_check` is `ok`, and the results equal a full recount of the stored answers.
//!
//! ```text
//! cargo bench --bench crash -- --smoke
//! cargo bench --bench crash -- --cycles 1000
//! cargo bench --bench crash -- --backend postgres --cycles 300
//! ```
//!
//! PostgreSQL runs in a cluster of the harness's own (`initdb` into a scratch folder, a free port, as the
//! `postgres` OS user when run as root), never the system one. Everything targets 127.0.0.1; every loop is
//! bounded in time and in count; the server, the cluster and the scratch files are removed on exit, also after
//! an error or a panic. Prints a Markdown summary; exit status 1 when any check failed.

use std::collections::{BTreeMap, HashMap};
use std::fs::OpenOptions;
use std::io::Write as _;
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, ExitCode, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use diesel::prelude::*;
use haveyoursay::db::schema::{answers, responses};
use haveyoursay::db::{self, DbConnection};
use haveyoursay::domain::answers::{canonical_json, Answers};
use haveyoursay::domain::questionnaire::Questionnaire;
use haveyoursay::models::response::recount;
use haveyoursay::models::{consultation, response, totals, version};
use haveyoursay::results::report;
use haveyoursay::results::tally::{self, Tally};
use rand::rngs::StdRng;
use rand::seq::IndexedRandom;
use rand::{Rng, SeedableRng};
use serde_json::Value;

#[path = "../support/mod.rs"]
mod support;
use support::{tail, Backend, Res};

const SLUG: &str = "irmp-2027";
/// The API stores its keys under this prefix (src/web/api/responses.rs), apart from the HTML journey's.
const STORED_KEY_PREFIX: &str = "api:";
const HEALTH_TIMEOUT: Duration = Duration::from_secs(60);
/// Longer than the pool's wait for a connection (10 s), so that a request held up by a stopped database gets
/// the server's own answer rather than a client timeout.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(15);
/// How long the clients of a cycle may take to notice the stop and return.
const JOIN_TIMEOUT: Duration = Duration::from_secs(60);
/// How long the app has to store responses again after the database comes back, without a restart.
const RECOVERY_TIMEOUT: Duration = Duration::from_secs(30);
const VALID_BODIES: usize = 2000;
const INVALID_BODIES: usize = 300;
/// One request in this many is invalid.
const INVALID_ONE_IN: u32 = 20;
/// Caps a client's requests in one cycle (the stop normally ends it first), and its attempts at one key.
const MAX_REQUESTS_PER_CLIENT: usize = 100_000;
const MAX_ATTEMPTS_IN_LOAD: u32 = 2000;
const RETRY_PAUSE_IN_LOAD: Duration = Duration::from_millis(50);
/// After a restart, a response of unknown outcome is retried at most this often before the check fails.
const MAX_ATTEMPTS_AFTER_RESTART: u32 = 40;
const RETRY_PAUSE_AFTER_RESTART: Duration = Duration::from_millis(250);
const REPLAYS_PER_CYCLE: usize = 4;
/// Keys and response ids per `IN (…)` list.
const CHUNK: usize = 500;
const MAX_PRINTED_FAILURES: usize = 20;
const RESULTS_CHECK: &str = "results = the acknowledged responses' totals (and, when due, a full recount)";

// ---------------------------------------------------------------------------------------------
// Options

#[derive(Debug)]
struct Options {
    backend: Backend,
    cycles: u32,
    clients: usize,
    smoke: bool,
    seed: u64,
    /// The random load before each fault, in milliseconds (inclusive range).
    load_ms: (u64, u64),
    integrity_every: u32,
    recount_every: u32,
    max_minutes: u64,
}

const USAGE: &str = "\
usage: cargo bench --bench crash -- [options]
  --backend sqlite|postgres   database backend (default sqlite); postgres runs in a scratch cluster of its own
  --cycles N                  kill-and-restart cycles, at most 100000 (default 200; --smoke: 100 sqlite, 20 postgres)
  --clients N                 concurrent submitting clients (default 32)
  --integrity-every N         SQLite PRAGMA integrity_check every N cycles and after the last
                              (default 1 with --smoke, else 10: it reads the whole file)
  --recount-every N           full recount of the stored answers every N cycles and after the last (default 25)
  --seed N                    seed of the random bodies, delays and faults (default random)
  --max-minutes N             stop, failing, when the run takes longer (default 240)
  --smoke                     short cycles for CI: 50-400 ms of load before each kill instead of 50-800 ms";

fn parse_args() -> Res<Options> {
    let mut backend = Backend::Sqlite;
    let mut cycles: Option<u32> = None;
    let mut clients: usize = 32;
    let mut smoke = false;
    let mut seed: Option<u64> = None;
    let mut integrity_every: Option<u32> = None;
    let mut recount_every: u32 = 25;
    let mut max_minutes: u64 = 240;

    let mut flags = support::Flags::from_env(USAGE);
    while let Some((flag, inline)) = flags.next_flag() {
        match flag.as_str() {
            "--backend" => backend = flags.backend(&flag, inline)?,
            "--cycles" => cycles = Some(flags.number(&flag, inline)?),
            "--clients" => clients = flags.number(&flag, inline)?,
            "--integrity-every" => integrity_every = Some(flags.number(&flag, inline)?),
            "--recount-every" => recount_every = flags.number(&flag, inline)?,
            "--seed" => seed = Some(flags.number(&flag, inline)?),
            "--max-minutes" => max_minutes = flags.number(&flag, inline)?,
            "--smoke" => smoke = true,
            other => return Err(flags.error(format!("unknown argument {other:?}"))),
        }
    }
    let default_cycles = match (smoke, backend) {
        (true, Backend::Sqlite) => 100,
        (true, Backend::Postgres) => 20,
        (false, _) => 200,
    };
    Ok(Options {
        backend,
        cycles: cycles.unwrap_or(default_cycles).clamp(1, 100_000),
        clients: clients.clamp(1, 512),
        smoke,
        seed: seed.unwrap_or_else(|| rand::rng().random()),
        load_ms: if smoke { (50, 400) } else { (50, 800) },
        integrity_every: integrity_every.unwrap_or(if smoke { 1 } else { 10 }).max(1),
        recount_every: recount_every.max(1),
        max_minutes: max_minutes.clamp(1, 24 * 60),
    })
}

// ---------------------------------------------------------------------------------------------
// Small process helpers

fn free_port() -> Res<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// Runs a command to completion; its output goes into the error when it fails.
fn run_command(command: &mut Command) -> Res<String> {
    let output = command.stdin(Stdio::null()).output().map_err(|e| format!("cannot run {command:?}: {e}"))?;
    if output.status.success() {
        Ok(String::from_utf8_lossy(&output.stdout).trim().to_owned())
    } else {
        let said = format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
        Err(format!("{command:?} failed ({}): {}", output.status, said.trim()).into())
    }
}

fn truncated(text: &str, chars: usize) -> String {
    text.chars().take(chars).collect()
}

// ---------------------------------------------------------------------------------------------
// A PostgreSQL cluster of the harness's own (stopped and removed on Drop)

struct PgCluster {
    bin: PathBuf,
    /// Holds `data/`, the socket and `postgres.log`; owned by the `postgres` user when run as root.
    dir: tempfile::TempDir,
    port: u16,
    /// initdb and postgres refuse to run as root: as root they run as this user.
    run_as: Option<&'static str>,
    running: bool,
}

const PG_DATABASE: &str = "hys_crash";

fn pg_bin_dir() -> Res<PathBuf> {
    let from_pg_config = Command::new("pg_config")
        .arg("--bindir")
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| PathBuf::from(String::from_utf8_lossy(&o.stdout).trim()));
    from_pg_config
        .into_iter()
        .chain([PathBuf::from("/usr/lib/postgresql/15/bin")])
        .find(|dir| dir.join("initdb").is_file() && dir.join("pg_ctl").is_file())
        .ok_or_else(|| "no PostgreSQL server binaries (initdb, pg_ctl) found via pg_config --bindir".into())
}

fn is_root() -> bool {
    run_command(Command::new("id").arg("-u")).is_ok_and(|uid| uid == "0")
}

impl PgCluster {
    fn create() -> Res<PgCluster> {
        let bin = pg_bin_dir()?;
        let dir = tempfile::Builder::new().prefix("hys-crash-pg-").tempdir()?;
        let run_as = if is_root() { Some("postgres") } else { None };
        if let Some(user) = run_as {
            let id = |flag: &str| -> Res<u32> {
                let out = run_command(Command::new("id").args([flag, user]))
                    .map_err(|e| format!("running as root needs a `{user}` OS user for PostgreSQL: {e}"))?;
                Ok(out.parse()?)
            };
            std::os::unix::fs::chown(dir.path(), Some(id("-u")?), Some(id("-g")?))?;
        }
        let mut cluster = PgCluster { bin, dir, port: free_port()?, run_as, running: false };
        let data = cluster.data();
        // --no-sync only skips flushing the freshly made files: the server itself runs with fsync on.
        run_command(
            cluster
                .command("initdb")
                .args(["-U", "postgres", "-A", "trust", "-E", "UTF8", "--locale=C"])
                .args(["--no-sync", "--no-instructions", "-D"])
                .arg(&data),
        )?;
        cluster.start()?;
        run_command(
            Command::new(cluster.bin.join("psql"))
                .args(["-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", "127.0.0.1", "-U", "postgres", "-d", "postgres"])
                .args(["-p", &cluster.port.to_string(), "-c", &format!("CREATE DATABASE {PG_DATABASE}")]),
        )?;
        eprintln!("crash: PostgreSQL cluster of our own in {} on port {}", cluster.dir.path().display(), cluster.port);
        Ok(cluster)
    }

    fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{PG_DATABASE}", self.port)
    }

    fn command(&self, program: &str) -> Command {
        let program = self.bin.join(program);
        let mut command = match self.run_as {
            Some(user) => {
                let mut c = Command::new("runuser");
                c.args(["-u", user, "--"]).arg(program);
                c
            }
            None => Command::new(program),
        };
        // The postgres user may not be able to enter the folder the harness was started in.
        command.current_dir(self.dir.path());
        command
    }

    fn start(&mut self) -> Res<()> {
        // Even a failed start may leave a server behind: Drop stops whatever runs.
        self.running = true;
        let options = format!("-p {} -k {} -c listen_addresses=127.0.0.1", self.port, self.dir.path().display());
        let log = self.dir.path().join("postgres.log");
        let result = run_command(
            self.command("pg_ctl")
                .arg("-D")
                .arg(self.data())
                .arg("-l")
                .arg(&log)
                .args(["-w", "-t", "120", "-o", &options, "start"]),
        );
        result.map(|_| ()).map_err(|e| format!("{e}\npostgres.log:\n{}", tail(&log, 30)).into())
    }

    /// Waits until no client is connected. After the app is killed, a backend that had received its COMMIT
    /// still completes it; only once the backends are gone does the database hold all the dead app did.
    /// Returns how long that took, if there were any.
    fn wait_for_no_clients(&self) -> Res<Option<Duration>> {
        #[derive(QueryableByName)]
        struct Count {
            #[diesel(sql_type = diesel::sql_types::BigInt)]
            n: i64,
        }
        let mut conn = diesel::pg::PgConnection::establish(&self.url())?;
        let started = Instant::now();
        let deadline = started + Duration::from_secs(30);
        let mut first: Option<i64> = None;
        loop {
            let others: Count = diesel::sql_query(
                "SELECT count(*) AS n FROM pg_stat_activity \
                 WHERE backend_type = 'client backend' AND pid <> pg_backend_pid()",
            )
            .get_result(&mut conn)?;
            if others.n == 0 {
                return Ok(Some(started.elapsed()).filter(|_| first.is_some_and(|n| n > 0)));
            }
            first.get_or_insert(others.n);
            if Instant::now() >= deadline {
                return Err(format!("{} connections of the killed app still open after 30 s", others.n).into());
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Stops the server the way a crash would: no checkpoint, every backend killed at once.
    fn stop_immediate(&mut self) -> Res<()> {
        run_command(self.command("pg_ctl").arg("-D").arg(self.data()).args([
            "-m",
            "immediate",
            "-w",
            "-t",
            "60",
            "stop",
        ]))?;
        self.running = false;
        Ok(())
    }
}

impl Drop for PgCluster {
    fn drop(&mut self) {
        if self.running {
            if let Err(e) = self.stop_immediate() {
                eprintln!("crash: WARNING: could not stop the scratch PostgreSQL cluster: {e}");
            }
        }
        // The TempDir field then removes the folder, data and all.
    }
}

// ---------------------------------------------------------------------------------------------
// The server child process, killed and restarted on the same port (stopped on Drop)

struct Server {
    child: Option<Child>,
    port: u16,
    database_url: String,
    log_path: PathBuf,
    starts: u32,
}

impl Server {
    fn new(database_url: &str, log_path: PathBuf) -> Res<Server> {
        Ok(Server { child: None, port: free_port()?, database_url: database_url.to_owned(), log_path, starts: 0 })
    }

    fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    /// Starts the server on its port, once nothing listens there any more.
    fn start(&mut self) -> Res<()> {
        let bind = format!("127.0.0.1:{}", self.port);
        // A killed server's port is free once the process is reaped; allow the kernel a moment all the same.
        let deadline = Instant::now() + Duration::from_secs(10);
        while TcpListener::bind(&bind).is_err() {
            if Instant::now() >= deadline {
                return Err(format!("port {} still taken 10 s after the server stopped", self.port).into());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        self.starts += 1;
        let mut log = OpenOptions::new().create(true).append(true).open(&self.log_path)?;
        writeln!(log, "==== crash harness: start {}", self.starts)?;
        let child = Command::new(env!("CARGO_BIN_EXE_haveyoursay"))
            .args(["serve", "--bind", &bind, "--database-url", &self.database_url, "--demo"])
            .env("RUST_LOG", "warn")
            // The harness's clients are all on 127.0.0.1, which the per-address limits would count as one.
            .env("RATE_LIMIT_EXEMPT", "127.0.0.1")
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .spawn()
            .map_err(|e| format!("cannot start the server binary: {e}"))?;
        self.child = Some(child);
        Ok(())
    }

    /// SIGKILL (what `Child::kill` sends on Unix), then reap the process so that its port is released.
    fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    fn exited(&mut self) -> Option<std::process::ExitStatus> {
        self.child.as_mut().and_then(|c| c.try_wait().ok().flatten())
    }

    fn log_tail(&self, lines: usize) -> String {
        tail(&self.log_path, lines)
    }

    async fn wait_healthy(&mut self) -> Res<Duration> {
        let client = http_client(1)?;
        let started = Instant::now();
        let url = self.url("/healthz");
        while started.elapsed() < HEALTH_TIMEOUT {
            if let Some(status) = self.exited() {
                return Err(format!("the server exited on start ({status}); log:\n{}", self.log_tail(40)).into());
            }
            let probe = client.get(&url).timeout(Duration::from_secs(2)).send().await;
            if matches!(probe, Ok(ref r) if r.status() == reqwest::StatusCode::OK) {
                return Ok(started.elapsed());
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        Err(format!("GET /healthz not 200 within {HEALTH_TIMEOUT:?}; log:\n{}", self.log_tail(40)).into())
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(child) = self.child.as_mut() {
            support::stop(child);
        }
    }
}

fn http_client(connections: usize) -> Res<reqwest::Client> {
    Ok(reqwest::Client::builder().no_proxy().pool_max_idle_per_host(connections).timeout(REQUEST_TIMEOUT).build()?)
}

// ---------------------------------------------------------------------------------------------
// Request bodies and what became of each

/// A request body, and the answers it must be stored with; none for a body that must be refused.
struct Body {
    json: String,
    answers: Option<Answers>,
}

/// Random valid bodies, then invalid ones made from valid ones in three ways, each checked to be refused by the
/// library's own validation so that the harness cannot mistake a valid body for an invalid one.
fn make_bodies(q: &Questionnaire, rng: &mut StdRng) -> Res<Vec<Body>> {
    let mut bodies: Vec<Body> = (0..VALID_BODIES)
        .map(|_| {
            let answers = haveyoursay::demo::random_answers(q, rng, "", &[]);
            Body { json: format!("{{\"answers\":{}}}", canonical_json(&answers)), answers: Some(answers) }
        })
        .collect();
    let required = q.questions().find(|qq| qq.required).ok_or("the questionnaire has no required question")?;
    let choice = q.questions().find(|qq| !qq.options.is_empty()).ok_or("the questionnaire has no options")?;
    for i in 0..INVALID_BODIES {
        let answers = bodies[i].answers.as_ref().expect("valid bodies come first");
        let mut map: serde_json::Map<String, Value> = serde_json::from_str(&canonical_json(answers))?;
        match i % 3 {
            0 => {
                map.remove(&required.key);
            }
            1 => {
                let bad: Value = if map.get(&choice.key).is_some_and(Value::is_array) {
                    serde_json::json!(["no_such_option"])
                } else {
                    "no_such_option".into()
                };
                map.insert(choice.key.clone(), bad);
            }
            _ => {
                map.insert("no_such_question".into(), "yes".into());
            }
        }
        if haveyoursay::domain::validation::from_json(q, &map).is_ok() {
            return Err(format!("an invalid body came out valid: {}", Value::Object(map)).into());
        }
        bodies.push(Body { json: serde_json::json!({ "answers": map }).to_string(), answers: None });
    }
    Ok(bodies)
}

#[derive(Clone, Debug)]
enum Fate {
    /// 201, or 200 for a key stored by an earlier attempt.
    Acked {
        reference: String,
        status: u16,
    },
    Refused {
        status: u16,
        detail: String,
    },
    /// No answer, a reset connection, a timeout or a 5xx: the response may or may not be stored.
    Unknown {
        last: String,
    },
}

struct Record {
    key: String,
    body: usize,
    fate: Fate,
    /// Attempts after the first (the same key and body).
    retries: u32,
}

/// One POST. `Err` when the outcome is unknown.
async fn post(http: &reqwest::Client, url: &str, key: &str, body: &str) -> Result<Fate, String> {
    let response = http
        .post(url)
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .header("Idempotency-Key", key)
        .body(body.to_owned())
        .send()
        .await
        .map_err(|e| format!("no answer: {e}"))?;
    let status = response.status().as_u16();
    let text = response.text().await.map_err(|e| format!("{status} with an unreadable body: {e}"))?;
    match status {
        200 | 201 => {
            let reference =
                serde_json::from_str::<Value>(&text).ok().and_then(|v| v["reference"].as_str().map(str::to_owned));
            reference
                .map(|reference| Fate::Acked { reference, status })
                .ok_or_else(|| format!("{status} without a reference: {text}"))
        }
        // Overload shedding asks for a retry; it decides nothing about the response.
        429 => Err(format!("429: {}", truncated(&text, 300))),
        400..=499 => Ok(Fate::Refused { status, detail: truncated(&text, 300) }),
        _ => Err(format!("{status}: {}", truncated(&text, 300))),
    }
}

/// Sends the same key and body until the outcome is known, at most `attempts` times; during the load, also
/// until `stop` is set (a killed server cannot answer until it is restarted).
async fn until_known(
    http: &reqwest::Client,
    url: &str,
    key: &str,
    body: &str,
    stop: Option<&AtomicBool>,
    attempts: u32,
    pause: Duration,
) -> (Fate, u32) {
    let mut last = String::new();
    for attempt in 0..attempts {
        if attempt > 0 {
            tokio::time::sleep(pause).await;
        }
        match post(http, url, key, body).await {
            Ok(fate) => return (fate, attempt),
            Err(e) => last = e,
        }
        if stop.is_some_and(|s| s.load(Ordering::Relaxed)) {
            return (Fate::Unknown { last }, attempt);
        }
    }
    (Fate::Unknown { last }, attempts.saturating_sub(1))
}

/// What every client of a run shares.
struct Shared {
    url: String,
    bodies: Vec<Body>,
    run_id: String,
}

impl Shared {
    fn pick(&self, rng: &mut StdRng) -> usize {
        if rng.random_ratio(1, INVALID_ONE_IN) {
            rng.random_range(VALID_BODIES..self.bodies.len())
        } else {
            rng.random_range(0..VALID_BODIES)
        }
    }
}

/// One client: new keys one after another until `stop`.
async fn client_loop(
    shared: Arc<Shared>,
    http: reqwest::Client,
    cycle: u32,
    id: usize,
    stop: Arc<AtomicBool>,
    seed: u64,
) -> Vec<Record> {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut records = Vec::new();
    for seq in 0..MAX_REQUESTS_PER_CLIENT {
        if stop.load(Ordering::Relaxed) {
            break;
        }
        let body = shared.pick(&mut rng);
        let key = format!("{}-{cycle}-{id}-{seq}", shared.run_id);
        let json = &shared.bodies[body].json;
        let (fate, retries) =
            until_known(&http, &shared.url, &key, json, Some(&stop), MAX_ATTEMPTS_IN_LOAD, RETRY_PAUSE_IN_LOAD).await;
        records.push(Record { key, body, fate, retries });
    }
    records
}

// ---------------------------------------------------------------------------------------------
// Reading the database directly

/// A response as stored: its reference, how many rows carry its key, and its answers as stored text.
struct Stored {
    reference: String,
    copies: usize,
    answers: BTreeMap<String, (String, Option<String>)>,
}

/// How a response's answers must look once stored.
fn as_stored(answers: &Answers) -> BTreeMap<String, (String, Option<String>)> {
    answers.iter().map(|(k, a)| (k.clone(), (a.value.to_stored(), a.other.clone()))).collect()
}

/// The responses stored under each of `keys` (as the API takes them), with their answers.
fn stored_under(conn: &mut DbConnection, consultation_id: i64, keys: &[&str]) -> QueryResult<HashMap<String, Stored>> {
    let mut found: HashMap<String, Stored> = HashMap::new();
    let mut by_id: HashMap<i64, String> = HashMap::new();
    for chunk in keys.chunks(CHUNK) {
        let prefixed: Vec<String> = chunk.iter().map(|k| format!("{STORED_KEY_PREFIX}{k}")).collect();
        let rows: Vec<(i64, String, String)> = responses::table
            .filter(responses::consultation_id.eq(consultation_id).and(responses::idempotency_key.eq_any(&prefixed)))
            .select((responses::id, responses::idempotency_key, responses::reference))
            .load(conn)?;
        for (id, key, reference) in rows {
            let key = key[STORED_KEY_PREFIX.len()..].to_owned();
            by_id.insert(id, key.clone());
            found.entry(key).or_insert(Stored { reference, copies: 0, answers: BTreeMap::new() }).copies += 1;
        }
    }
    let ids: Vec<i64> = by_id.keys().copied().collect();
    for chunk in ids.chunks(CHUNK) {
        let rows: Vec<(i64, String, String, Option<String>)> = answers::table
            .filter(answers::consultation_id.eq(consultation_id).and(answers::response_id.eq_any(chunk)))
            .select((answers::response_id, answers::question_key, answers::value, answers::other_text))
            .load(conn)?;
        for (id, question, value, other) in rows {
            let stored = found.get_mut(&by_id[&id]).expect("answers of a response read above");
            stored.answers.insert(question, (value, other));
        }
    }
    Ok(found)
}

#[derive(QueryableByName)]
struct IntegrityRow {
    #[diesel(sql_type = diesel::sql_types::Text)]
    integrity_check: String,
}

/// `PRAGMA integrity_check` on SQLite: `ok`, or what it found.
fn check_integrity(conn: &mut DbConnection) -> Result<(), String> {
    let DbConnection::Sqlite(sqlite) = conn else { return Ok(()) };
    let rows: Vec<IntegrityRow> =
        diesel::sql_query("PRAGMA integrity_check").load(sqlite).map_err(|e| format!("integrity_check: {e}"))?;
    let said: Vec<String> = rows.into_iter().map(|r| r.integrity_check).collect();
    if said == ["ok"] {
        Ok(())
    } else {
        Err(format!("PRAGMA integrity_check: {}", truncated(&said.join("; "), 600)))
    }
}

/// The running totals against recounts, through the public results (built from the running totals): the one
/// place that knows how the library reads totals and recounts, to adapt when they change shape (they are about
/// to become per questionnaire version). `expected` is the demo's recount plus every response acknowledged
/// since, tallied by the harness from what it sent; `full` also recounts every stored answer (it reads them
/// all) and compares both the served results and `totals::read` with it. Returns that recount.
fn compare_totals(
    conn: &mut DbConnection,
    served: &Value,
    expected: Option<&Tally>,
    full: bool,
) -> Result<Option<Tally>, String> {
    let db = |e: diesel::result::Error| format!("reading the totals: {e}");
    let c = consultation::find_by_slug(conn, SLUG).map_err(db)?.ok_or("the demo consultation is missing")?;
    let live = c.live_version_id.ok_or("the demo has no published version")?;
    let published = version::published_questionnaires(conn, c.id).map_err(db)?;
    let published: Vec<(i64, &Questionnaire)> = published.iter().map(|(id, _, q)| (*id, q)).collect();
    let json =
        |t: &tally::Tallies| serde_json::to_value(report::build(SLUG, &published, t)).expect("reports serialise");
    if let Some(expected) = expected {
        // The demo has one version: every acknowledged response answered it.
        let expected: tally::Tallies = [(live, expected.clone())].into();
        same("the served results", served, "the totals of the acknowledged responses", &json(&expected))?;
    }
    if !full {
        return Ok(None);
    }
    let recounted = recount(conn, c.id, ZONE).map_err(db)?;
    same("the served results", served, "a full recount", &json(&recounted))?;
    let running = totals::read(conn, c.id, &totals::Parts::all()).map_err(db)?;
    if running != recounted {
        return Err(
            "every running total (cross-tabs, days and number answers too) equals a full recount: they differ".into()
        );
    }
    Ok(recounted.get(&live).cloned())
}

/// The council's time zone (the default configuration's), whose days responses are counted by.
const ZONE: chrono_tz::Tz = chrono_tz::Europe::London;

/// Equal JSON, or an error naming the first place they differ.
fn same(a_name: &str, a: &Value, b_name: &str, b: &Value) -> Result<(), String> {
    fn first_difference(a: &Value, b: &Value, path: String) -> Option<(String, String, String)> {
        match (a, b) {
            (Value::Object(x), Value::Object(y)) => x.keys().chain(y.keys()).find_map(|k| {
                first_difference(
                    x.get(k).unwrap_or(&Value::Null),
                    y.get(k).unwrap_or(&Value::Null),
                    format!("{path}.{k}"),
                )
            }),
            (Value::Array(x), Value::Array(y)) if x.len() == y.len() => {
                x.iter().zip(y).enumerate().find_map(|(i, (p, q))| first_difference(p, q, format!("{path}[{i}]")))
            }
            _ if a == b => None,
            _ => Some((path, truncated(&a.to_string(), 300), truncated(&b.to_string(), 300))),
        }
    }
    match first_difference(a, b, String::new()) {
        None => Ok(()),
        Some((path, x, y)) => Err(format!("{a_name} and {b_name} differ at `{path}`: {x} against {y}")),
    }
}

// ---------------------------------------------------------------------------------------------
// The run

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Fault {
    /// SIGKILL the app mid-load.
    KillApp,
    /// Stop the database mid-load, start it again, wait for the app to store responses by itself, then kill it.
    RestartDatabase,
    /// Stop the database mid-load, kill the app while it is down, then start both.
    KillAppWhileDatabaseDown,
}

/// What the run found and did, for the summary.
#[derive(Default)]
struct Tallies {
    cycles: u32,
    app_kills: u32,
    db_stops: u32,
    requests: u64,
    acknowledged: u64,
    /// Keys that answered 200 on a retry: stored by an attempt whose answer was lost.
    replayed_on_retry: u64,
    retried_in_load: u64,
    unknown: u64,
    unknown_stored_before_retry: u64,
    refused_invalid: u64,
    replays: u64,
    restarts: Vec<Duration>,
    recoveries: Vec<Duration>,
    integrity_checks: Vec<Duration>,
    /// PostgreSQL: how long the killed app's connections stayed open, in the cycles where they did.
    lingering: Vec<Duration>,
    recounts: Vec<Duration>,
    stored_at_end: i64,
    checks: BTreeMap<&'static str, (u64, u64)>,
    failures: Vec<String>,
}

impl Tallies {
    fn check(&mut self, name: &'static str, cycle: u32, result: Result<(), String>) {
        let entry = self.checks.entry(name).or_default();
        match result {
            Ok(()) => entry.0 += 1,
            Err(e) => {
                entry.1 += 1;
                let e = truncated(&e, 1200);
                eprintln!("crash: cycle {cycle}: CHECK FAILED: {name}: {e}");
                self.failures.push(format!("cycle {cycle}: {name}: {e}"));
            }
        }
    }

    fn passed(&self) -> (u64, u64) {
        self.checks.values().fold((0, 0), |(p, f), (cp, cf)| (p + cp, f + cf))
    }
}

struct Harness<'a> {
    opts: &'a Options,
    runtime: tokio::runtime::Runtime,
    p: Processes,
    rng: StdRng,
    shared: Arc<Shared>,
    questionnaire: Questionnaire,
    consultation_id: i64,
    /// The demo's responses, stored before the first cycle.
    baseline_responses: i64,
    /// The totals every acknowledged response adds up to, the demo's included.
    expected: Tally,
    /// Every acknowledged key of the run and its reference.
    acknowledged: HashMap<String, String>,
    /// Set by Ctrl-C: the run stops after the cycle under way, so that everything is cleaned up.
    interrupted: Arc<AtomicBool>,
    t: Tallies,
}

impl<'a> Harness<'a> {
    fn pool(&self) -> Res<db::Pool> {
        Ok(db::connect(&self.p.server.database_url, 2)?)
    }

    fn served_results(&self) -> Res<Value> {
        let url = self.p.server.url(&format!("/api/v1/consultations/{SLUG}/results"));
        self.runtime.block_on(async {
            let response = http_client(1)?.get(&url).send().await?;
            let status = response.status();
            let text = response.text().await?;
            if status != reqwest::StatusCode::OK {
                return Err(format!("GET {url}: {status}: {}", truncated(&text, 300)).into());
            }
            Ok(serde_json::from_str(&text)?)
        })
    }

    fn restart(&mut self) -> Res<()> {
        self.p.server.start()?;
        let took = self.runtime.block_on(self.p.server.wait_healthy())?;
        self.t.restarts.push(took);
        Ok(())
    }

    fn fault(&self, cycle: u32) -> Fault {
        match (self.opts.backend, cycle % 5) {
            (Backend::Postgres, 2) => Fault::RestartDatabase,
            (Backend::Postgres, 4) => Fault::KillAppWhileDatabaseDown,
            _ => Fault::KillApp,
        }
    }

    fn sleep_between(&mut self, lo_ms: u64, hi_ms: u64) {
        std::thread::sleep(Duration::from_millis(self.rng.random_range(lo_ms..=hi_ms)));
    }

    fn pg(&mut self) -> &mut PgCluster {
        self.p.pg.as_mut().expect("database faults only on PostgreSQL")
    }

    /// After the database came back: a fresh response under one key, retried until the app stores it.
    fn probe_recovery(&mut self, cycle: u32) -> Record {
        let key = format!("{}-{cycle}-probe", self.shared.run_id);
        let body = self.rng.random_range(0..VALID_BODIES);
        let shared = Arc::clone(&self.shared);
        let started = Instant::now();
        let (fate, retries) = self.runtime.block_on(async {
            let http = http_client(1).expect("an HTTP client builds");
            let attempts = (RECOVERY_TIMEOUT.as_millis() / 100) as u32;
            let json = &shared.bodies[body].json;
            tokio::time::timeout(
                RECOVERY_TIMEOUT + REQUEST_TIMEOUT,
                until_known(&http, &shared.url, &key, json, None, attempts, Duration::from_millis(100)),
            )
            .await
            .unwrap_or_else(|_| (Fate::Unknown { last: "timed out".into() }, attempts))
        });
        let result = match &fate {
            Fate::Acked { .. } => {
                self.t.recoveries.push(started.elapsed());
                Ok(())
            }
            other => Err(format!(
                "the app did not store a response within {RECOVERY_TIMEOUT:?} of the database restart, \
                 without being restarted ({other:?}); log:\n{}",
                self.p.server.log_tail(15)
            )),
        };
        self.t.check("the app stores responses again after a database restart", cycle, result);
        Record { key, body, fate, retries }
    }

    /// The load and the fault; returns every request's record.
    fn load_and_fault(&mut self, cycle: u32, fault: Fault) -> Res<Vec<Record>> {
        let stop = Arc::new(AtomicBool::new(false));
        let http = http_client(self.opts.clients + 8)?;
        let tasks: Vec<_> = (0..self.opts.clients)
            .map(|id| {
                let seed = self.rng.random();
                let task = client_loop(Arc::clone(&self.shared), http.clone(), cycle, id, Arc::clone(&stop), seed);
                self.runtime.spawn(task)
            })
            .collect();
        let (lo, hi) = self.opts.load_ms;
        self.sleep_between(lo, hi);
        // The clients are told to stop just before the kill, so that they take a failed request for a lost
        // answer rather than retrying it against a dead server; while the database is down they keep retrying.
        let kill = |h: &mut Self| {
            stop.store(true, Ordering::Relaxed);
            h.p.server.kill();
            h.t.app_kills += 1;
        };
        let mut extra = Vec::new();
        match fault {
            Fault::KillApp => kill(self),
            Fault::RestartDatabase => {
                self.pg().stop_immediate()?;
                self.t.db_stops += 1;
                self.sleep_between(100, 1000);
                self.pg().start()?;
                extra.push(self.probe_recovery(cycle));
                self.sleep_between(50, 300);
                kill(self);
            }
            Fault::KillAppWhileDatabaseDown => {
                self.pg().stop_immediate()?;
                self.t.db_stops += 1;
                self.sleep_between(50, 300);
                kill(self);
                self.pg().start()?;
            }
        }
        let joined = self
            .runtime
            .block_on(async { tokio::time::timeout(JOIN_TIMEOUT, futures_util::future::join_all(tasks)).await });
        let mut records = extra;
        for task in joined.map_err(|_| format!("the clients did not stop within {JOIN_TIMEOUT:?}"))? {
            records.extend(task?);
        }
        Ok(records)
    }

    /// Retries every record of unknown outcome with its key and body, concurrently, until the server answers.
    fn settle(&mut self, records: &mut [Record]) {
        let shared = Arc::clone(&self.shared);
        let pending: Vec<(usize, String, usize)> = records
            .iter()
            .enumerate()
            .filter(|(_, r)| matches!(r.fate, Fate::Unknown { .. }))
            .map(|(i, r)| (i, r.key.clone(), r.body))
            .collect();
        let settled = self.runtime.block_on(async {
            let http = http_client(pending.len().max(1)).expect("an HTTP client builds");
            futures_util::future::join_all(pending.iter().map(|(i, key, body)| {
                let (http, shared) = (&http, &shared);
                async move {
                    let json = &shared.bodies[*body].json;
                    let outcome = until_known(
                        http,
                        &shared.url,
                        key,
                        json,
                        None,
                        MAX_ATTEMPTS_AFTER_RESTART,
                        RETRY_PAUSE_AFTER_RESTART,
                    )
                    .await;
                    (*i, outcome)
                }
            }))
            .await
        });
        for (i, (fate, retries)) in settled {
            if matches!(fate, Fate::Acked { status: 200, .. }) {
                self.t.replayed_on_retry += 1;
            }
            records[i].fate = fate;
            records[i].retries += retries + 1;
        }
    }

    /// A few acknowledged responses sent again under their keys: each must answer 200 with the same reference.
    fn replay_some(&mut self, cycle: u32, records: &[Record]) {
        let created: Vec<&Record> =
            records.iter().filter(|r| matches!(r.fate, Fate::Acked { status: 201, .. })).collect();
        let picked: Vec<&Record> = created.choose_multiple(&mut self.rng, REPLAYS_PER_CYCLE).copied().collect();
        if picked.is_empty() {
            return;
        }
        let shared = Arc::clone(&self.shared);
        let answers = self.runtime.block_on(async {
            let http = http_client(picked.len()).expect("an HTTP client builds");
            let mut answers = Vec::new();
            for r in &picked {
                answers.push(post(&http, &shared.url, &r.key, &shared.bodies[r.body].json).await);
            }
            answers
        });
        let mut problems = Vec::new();
        for (r, answer) in picked.iter().zip(answers) {
            let Fate::Acked { reference, .. } = &r.fate else { unreachable!("picked from the acknowledged") };
            match answer {
                Ok(Fate::Acked { reference: again, status: 200 }) if &again == reference => {}
                other => problems.push(format!("{}: acknowledged as {reference}, replayed: {other:?}", r.key)),
            }
        }
        self.t.replays += picked.len() as u64;
        self.t.check("replays answer 200 with the same reference", cycle, problems_to_result(problems));
    }

    fn cycle(&mut self, cycle: u32) -> Res<()> {
        let fault = self.fault(cycle);
        let mut records = self.load_and_fault(cycle, fault)?;
        if let Some(pg) = &self.p.pg {
            self.t.lingering.extend(pg.wait_for_no_clients()?);
        }
        self.restart()?;
        self.t.cycles += 1;
        self.t.requests += records.iter().map(|r| 1 + u64::from(r.retries)).sum::<u64>();
        self.t.retried_in_load += records.iter().map(|r| u64::from(r.retries)).sum::<u64>();

        let pool = self.pool()?;
        let mut conn = pool.get()?;
        let id = self.consultation_id;

        // Unknown outcomes: stored at most once before their retry, then settled by it.
        let unknown: Vec<&str> =
            records.iter().filter(|r| matches!(r.fate, Fate::Unknown { .. })).map(|r| r.key.as_str()).collect();
        self.t.unknown += unknown.len() as u64;
        let before = stored_under(&mut conn, id, &unknown)?;
        self.t.unknown_stored_before_retry += before.len() as u64;
        let twice: Vec<String> =
            before.iter().filter(|(_, s)| s.copies > 1).map(|(k, s)| format!("{k} ×{}", s.copies)).collect();
        self.t.check("unknown outcomes stored at most once before the retry", cycle, problems_to_result(twice));
        drop(conn);
        let unknown: Vec<usize> =
            (0..records.len()).filter(|&i| matches!(records[i].fate, Fate::Unknown { .. })).collect();
        self.settle(&mut records);
        // A retry finds what the lost attempt did: 200 with its reference when it was stored, 201 otherwise.
        let mut problems = Vec::new();
        for r in unknown.iter().map(|&i| &records[i]) {
            match (&r.fate, before.get(&r.key)) {
                (Fate::Acked { status: 200, reference }, Some(s)) if *reference == s.reference => {}
                (Fate::Acked { status: 201, .. } | Fate::Refused { .. } | Fate::Unknown { .. }, None) => {}
                (fate, stored) => problems.push(format!(
                    "{}: stored before the retry as {:?}, the retry gave {fate:?}",
                    r.key,
                    stored.map(|s| &s.reference)
                )),
            }
        }
        self.t.check(
            "a retry answers 200 and the stored reference exactly when the lost attempt was stored",
            cycle,
            problems_to_result(problems),
        );

        // What each request came to: valid ones acknowledged, invalid ones refused with a 4xx.
        let mut problems = Vec::new();
        for r in &records {
            let valid = self.shared.bodies[r.body].answers.is_some();
            match (&r.fate, valid) {
                (Fate::Acked { .. }, true) => {}
                (Fate::Refused { .. }, false) => self.t.refused_invalid += 1,
                (Fate::Acked { reference, .. }, false) => {
                    problems.push(format!("{}: an invalid response was accepted as {reference}", r.key))
                }
                (Fate::Refused { status, detail }, true) => {
                    problems.push(format!("{}: a valid response was refused with {status}: {detail}", r.key))
                }
                (Fate::Unknown { last }, _) => problems.push(format!(
                    "{}: still no answer after {MAX_ATTEMPTS_AFTER_RESTART} retries with the same key: {last}",
                    r.key
                )),
            }
        }
        self.t.check(
            "valid responses acknowledged, invalid ones refused with a 4xx",
            cycle,
            problems_to_result(problems),
        );
        self.replay_some(cycle, &records);

        for r in &records {
            if let Fate::Acked { reference, .. } = &r.fate {
                self.t.acknowledged += 1;
                self.acknowledged.insert(r.key.clone(), reference.clone());
                // An invalid body acknowledged has failed a check already; its answers cannot be tallied.
                if let Some(answers) = &self.shared.bodies[r.body].answers {
                    // Results do not show days, so the day is not known here and need not be.
                    self.expected.add(&self.questionnaire, answers, "api", "");
                }
            }
        }

        // The database, read directly.
        let mut conn = pool.get()?;
        let keys: Vec<&str> = records.iter().map(|r| r.key.as_str()).collect();
        let stored = stored_under(&mut conn, id, &keys)?;
        let (mut lost, mut refused_stored) = (Vec::new(), Vec::new());
        for r in &records {
            match (&r.fate, stored.get(&r.key)) {
                (Fate::Acked { reference, .. }, None) => {
                    lost.push(format!("{}: acknowledged as {reference}, not stored", r.key))
                }
                (Fate::Acked { reference, .. }, Some(s)) => {
                    let sent = self.shared.bodies[r.body].answers.as_ref().map(as_stored);
                    if s.copies != 1 {
                        lost.push(format!("{}: stored {} times", r.key, s.copies));
                    } else if &s.reference != reference {
                        lost.push(format!("{}: acknowledged as {reference}, stored as {}", r.key, s.reference));
                    } else if sent.is_some_and(|sent| sent != s.answers) {
                        lost.push(format!("{}: stored answers differ from those sent: {:?}", r.key, s.answers));
                    }
                }
                (Fate::Refused { status, .. }, Some(s)) => {
                    refused_stored.push(format!("{}: refused with {status} but stored as {}", r.key, s.reference))
                }
                (Fate::Unknown { .. }, Some(s)) if s.copies > 1 => {
                    lost.push(format!("{}: outcome unknown, stored {} times", r.key, s.copies))
                }
                _ => {}
            }
        }
        self.t.check(
            "acknowledged responses stored once, with their reference and all their answers",
            cycle,
            problems_to_result(lost),
        );
        self.t.check("refused responses not stored", cycle, problems_to_result(refused_stored));

        let count = response::count(&mut conn, id)?;
        let want = self.baseline_responses + self.acknowledged.len() as i64;
        self.t.check(
            "stored responses = the demo's + every acknowledged one",
            cycle,
            if count == want { Ok(()) } else { Err(format!("{count} stored, {want} expected")) },
        );
        let integrity = cycle.is_multiple_of(self.opts.integrity_every);
        let recount = cycle.is_multiple_of(self.opts.recount_every);
        self.results_and_integrity(&mut conn, cycle, integrity, recount)
    }

    /// The results against the acknowledged totals; with `recount`, against a full recount too; with `integrity`,
    /// SQLite's integrity check. The last two read the whole database, so they are timed for the summary.
    fn results_and_integrity(
        &mut self,
        conn: &mut DbConnection,
        cycle: u32,
        integrity: bool,
        recount: bool,
    ) -> Res<()> {
        if integrity && self.opts.backend == Backend::Sqlite {
            let started = Instant::now();
            let result = check_integrity(conn);
            self.t.integrity_checks.push(started.elapsed());
            self.t.check("PRAGMA integrity_check is ok", cycle, result);
        }
        let served = self.served_results()?;
        let started = Instant::now();
        let totals = compare_totals(conn, &served, Some(&self.expected), recount).map(|_| ());
        if recount {
            self.t.recounts.push(started.elapsed());
        }
        self.t.check(RESULTS_CHECK, cycle, totals);
        Ok(())
    }

    /// After the last cycle: every acknowledged key of the run still stored with its reference, nothing else
    /// stored, the integrity check and a full recount.
    fn final_checks(&mut self, cycle: u32) -> Res<()> {
        let pool = self.pool()?;
        let mut conn = pool.get()?;
        let rows: Vec<(String, String)> = responses::table
            .filter(responses::consultation_id.eq(self.consultation_id))
            .select((responses::idempotency_key, responses::reference))
            .load(&mut *conn)?;
        self.t.stored_at_end = rows.len() as i64;
        let prefix = format!("{STORED_KEY_PREFIX}{}-", self.shared.run_id);
        let mut seen = 0usize;
        let mut problems = Vec::new();
        for (key, reference) in &rows {
            let Some(key) = key.strip_prefix(&prefix).map(|rest| format!("{}-{rest}", self.shared.run_id)) else {
                continue;
            };
            seen += 1;
            match self.acknowledged.get(&key) {
                Some(acked) if acked == reference => {}
                Some(acked) => problems.push(format!("{key}: acknowledged as {acked}, stored as {reference}")),
                None => problems.push(format!("{key}: stored as {reference}, never acknowledged")),
            }
        }
        if seen != self.acknowledged.len() {
            problems.push(format!("{seen} of the run's responses stored, {} acknowledged", self.acknowledged.len()));
        }
        let others = rows.len() - seen;
        if others as i64 != self.baseline_responses {
            problems.push(format!(
                "{others} other responses stored, {} from the demo before the run",
                self.baseline_responses
            ));
        }
        self.t.check(
            "at the end: every acknowledged response stored, and nothing else",
            cycle,
            problems_to_result(problems),
        );
        self.results_and_integrity(&mut conn, cycle, true, true)
    }

    fn campaign(&mut self) -> Res<()> {
        let deadline = Instant::now() + Duration::from_secs(self.opts.max_minutes * 60);
        let started = Instant::now();
        let mut done = 0;
        for cycle in 1..=self.opts.cycles {
            if self.interrupted.load(Ordering::Relaxed) {
                let e = format!("interrupted after {done} of {} cycles", self.opts.cycles);
                self.t.check("the run is not interrupted", done, Err(e));
                return Ok(());
            }
            if Instant::now() >= deadline {
                let e = format!(
                    "stopped after {done} of {} cycles: --max-minutes {} reached",
                    self.opts.cycles, self.opts.max_minutes
                );
                self.t.check("the run finishes within --max-minutes", done, Err(e));
                break;
            }
            self.cycle(cycle)?;
            done = cycle;
            if cycle % 10 == 0 || cycle == self.opts.cycles {
                eprintln!(
                    "crash: cycle {cycle}/{}: {} acknowledged, {} unknown retried, {} invalid refused, {} failed checks, {:.1} s",
                    self.opts.cycles,
                    self.t.acknowledged,
                    self.t.unknown,
                    self.t.refused_invalid,
                    self.t.passed().1,
                    started.elapsed().as_secs_f64()
                );
            }
        }
        self.final_checks(done)
    }
}

fn problems_to_result(problems: Vec<String>) -> Result<(), String> {
    if problems.is_empty() {
        return Ok(());
    }
    let shown: Vec<&str> = problems.iter().take(5).map(String::as_str).collect();
    Err(format!("{} problem(s): {}", problems.len(), shown.join("; ")))
}

/// The child processes, in the order they are stopped (struct fields drop in order): the app before its
/// database.
struct Processes {
    server: Server,
    pg: Option<PgCluster>,
}

/// First start: the server, the questionnaire, the request bodies and the demo's totals from a full recount.
fn prepare(
    opts: &Options,
    runtime: tokio::runtime::Runtime,
    interrupted: Arc<AtomicBool>,
    mut p: Processes,
) -> Res<Harness<'_>> {
    let mut t = Tallies::default();
    p.server.start()?;
    t.restarts.push(runtime.block_on(p.server.wait_healthy())?);

    let url = p.server.url(&format!("/api/v1/consultations/{SLUG}"));
    let http = http_client(1)?;
    let questionnaire: Value = runtime.block_on(async { http.get(&url).send().await?.json::<Value>().await })?;
    if questionnaire["status"] != "open" {
        return Err(format!("the demo consultation is not open: {}", questionnaire["status"]).into());
    }
    let questionnaire: Questionnaire = serde_json::from_value(questionnaire)?;
    let mut rng = StdRng::seed_from_u64(opts.seed);
    let bodies = make_bodies(&questionnaire, &mut rng)?;
    let run_id = format!("crash-{:08x}", rng.random::<u32>());
    let shared = Arc::new(Shared { url: format!("{url}/responses"), bodies, run_id });

    let mut h = Harness {
        opts,
        runtime,
        p,
        rng,
        shared,
        questionnaire,
        consultation_id: 0,
        baseline_responses: 0,
        expected: Tally::default(),
        acknowledged: HashMap::new(),
        interrupted,
        t,
    };
    let pool = h.pool()?;
    let mut conn = pool.get()?;
    let c = consultation::find_by_slug(&mut conn, SLUG)?.ok_or("the demo consultation is missing")?;
    h.consultation_id = c.id;
    h.baseline_responses = response::count(&mut conn, c.id)?;
    let served = h.served_results()?;
    let recounted = compare_totals(&mut conn, &served, None, true);
    h.t.check(RESULTS_CHECK, 0, recounted.clone().map(|_| ()));
    h.expected = recounted?.expect("a full comparison returns its recount");
    Ok(h)
}

fn run(opts: &Options, t: &mut Tallies) -> Res<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    // Without this, Ctrl-C would leave the scratch cluster running: pg_ctl detaches it from the terminal.
    let interrupted = Arc::new(AtomicBool::new(false));
    let flag = Arc::clone(&interrupted);
    runtime.spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            eprintln!("crash: interrupted: stopping after the cycle under way");
            flag.store(true, Ordering::Relaxed);
        }
    });
    // Declared before the processes, dropped after them: they stop before their scratch folder is removed.
    let scratch = tempfile::Builder::new().prefix("hys-crash-").tempdir()?;
    let pg = match opts.backend {
        Backend::Postgres => Some(PgCluster::create()?),
        Backend::Sqlite => None,
    };
    let database_url = match &pg {
        Some(pg) => pg.url(),
        None => format!("sqlite://{}", scratch.path().join("crash.db").display()),
    };
    let server = Server::new(&database_url, scratch.path().join("server.log"))?;
    eprintln!("crash: server on http://127.0.0.1:{} over {database_url}", server.port);
    let mut harness = prepare(opts, runtime, interrupted, Processes { server, pg })?;
    let result = harness.campaign();
    if result.is_err() || !harness.t.failures.is_empty() {
        eprintln!("crash: server log tail:\n{}", harness.p.server.log_tail(30));
    }
    std::mem::swap(t, &mut harness.t);
    drop(harness);
    drop(scratch);
    result
}

// ---------------------------------------------------------------------------------------------
// Summary

fn ms_p50_max(samples: &[Duration]) -> String {
    if samples.is_empty() {
        return "none".to_owned();
    }
    let mut ms: Vec<f64> = samples.iter().map(|d| d.as_secs_f64() * 1000.0).collect();
    ms.sort_by(f64::total_cmp);
    format!("p50 {:.0} ms, max {:.0} ms over {}", ms[(ms.len() - 1) / 2], ms[ms.len() - 1], ms.len())
}

fn print_summary(opts: &Options, t: &Tallies, elapsed: Duration) {
    let (nproc, model) = support::machine();
    let args: Vec<String> = std::env::args().skip(1).filter(|a| a != "--bench").collect();
    let (passed, failed) = t.passed();
    let mode = if opts.smoke { " (smoke)" } else { "" };
    println!();
    println!("### Crash-durability run{mode}: {}", opts.backend.name());
    println!();
    println!(
        "`cargo bench --bench crash -- {}` (seed {}) on {model}, {nproc} CPUs. {} clients; {}–{} ms of load before each fault.",
        args.join(" "),
        opts.seed,
        opts.clients,
        opts.load_ms.0,
        opts.load_ms.1
    );
    println!();
    println!("| Backend | Cycles | App kills (SIGKILL) | Database immediate stops | Responses acknowledged | Unknown outcomes retried | Invalid refused | Checks passed | Time (s) |");
    println!("|---|---:|---:|---:|---:|---:|---:|---:|---:|");
    println!(
        "| {} | {} | {} | {} | {} | {} | {} | {passed} of {} | {:.1} |",
        opts.backend.name(),
        t.cycles,
        t.app_kills,
        t.db_stops,
        t.acknowledged,
        t.unknown,
        t.refused_invalid,
        passed + failed,
        elapsed.as_secs_f64()
    );
    println!();
    let mut notes = vec![
        format!("Requests: {} ({} of them retries after a 5xx during the load).", t.requests, t.retried_in_load),
        format!(
            "Unknown outcomes already stored before their retry: {} of {} ({} retries answered 200).",
            t.unknown_stored_before_retry, t.unknown, t.replayed_on_retry
        ),
        format!("Acknowledged responses replayed: {}.", t.replays),
        format!("Restart to healthy: {}.", ms_p50_max(&t.restarts)),
    ];
    if opts.backend == Backend::Postgres {
        notes.push(format!(
            "Cycles where the killed app's connections were still open on the database (their COMMITs may \
             complete), awaited before the restart: {}.",
            ms_p50_max(&t.lingering)
        ));
        notes.push(format!(
            "The app storing responses again after a database restart, without a restart of its own: {}.",
            ms_p50_max(&t.recoveries)
        ));
    } else {
        notes.push(format!("`PRAGMA integrity_check`: {}.", ms_p50_max(&t.integrity_checks)));
    }
    notes.push(format!("Full recount with the results: {}.", ms_p50_max(&t.recounts)));
    notes.push(format!("Stored at the end: {} responses.", t.stored_at_end));
    println!("{}", notes.join(" "));
    println!();
    println!("| Check | Passed | Failed |");
    println!("|---|---:|---:|");
    for (name, (p, f)) in &t.checks {
        println!("| {name} | {p} | {f} |");
    }
    if !t.failures.is_empty() {
        println!();
        println!("**{} checks failed.** The first:", t.failures.len());
        for f in t.failures.iter().take(MAX_PRINTED_FAILURES) {
            println!("- {}", f.replace('\n', " / "));
        }
    }
}

fn main() -> ExitCode {
    let opts = match parse_args() {
        Ok(opts) => opts,
        Err(e) => {
            eprintln!("crash: {e}");
            return ExitCode::from(2);
        }
    };
    eprintln!("crash: {opts:?}");
    let started = Instant::now();
    let mut t = Tallies::default();
    let result = run(&opts, &mut t);
    if let Err(e) = &result {
        t.failures.push(format!("the run stopped: {e}"));
    }
    print_summary(&opts, &t, started.elapsed());
    match result {
        Ok(()) if t.failures.is_empty() => ExitCode::SUCCESS,
        Ok(()) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("crash: FAILED: {e}");
            ExitCode::FAILURE
        }
    }
}
