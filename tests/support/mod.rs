//! What the benchmark binaries (tests/load, tests/crash) share: the backend choice, their command-line flags,
//! the machine line of their summaries, and stopping a server child. Each includes it with `#[path]`.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub type Res<T> = Result<T, Box<dyn std::error::Error + Send + Sync>>;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    pub fn name(self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        }
    }
}

/// The command line, flag by flag: `--flag value` and `--flag=value` alike. `--help` prints the usage and
/// exits; `--bench`, which `cargo bench` passes to `harness = false` benches, is passed over.
pub struct Flags {
    args: std::iter::Skip<std::env::Args>,
    usage: &'static str,
}

impl Flags {
    pub fn from_env(usage: &'static str) -> Flags {
        Flags { args: std::env::args().skip(1), usage }
    }

    /// The next flag, and the value given after its `=`, if any.
    pub fn next_flag(&mut self) -> Option<(String, Option<String>)> {
        loop {
            let arg = self.args.next()?;
            match arg.as_str() {
                "--bench" => continue,
                "--help" | "-h" => {
                    println!("{}", self.usage);
                    std::process::exit(0);
                }
                _ => {}
            }
            return Some(match arg.split_once('=') {
                Some((flag, value)) if flag.starts_with("--") => (flag.to_owned(), Some(value.to_owned())),
                _ => (arg, None),
            });
        }
    }

    /// A flag's value: the one after its `=`, or the next argument.
    pub fn value(&mut self, flag: &str, inline: Option<String>) -> Res<String> {
        inline.or_else(|| self.args.next()).ok_or_else(|| self.error(format!("{flag} needs a value")))
    }

    pub fn number<T: std::str::FromStr>(&mut self, flag: &str, inline: Option<String>) -> Res<T> {
        let value = self.value(flag, inline)?;
        value.parse().map_err(|_| self.error(format!("{flag} needs a whole number, got {value:?}")))
    }

    pub fn backend(&mut self, flag: &str, inline: Option<String>) -> Res<Backend> {
        match self.value(flag, inline)?.as_str() {
            "sqlite" => Ok(Backend::Sqlite),
            "postgres" | "postgresql" => Ok(Backend::Postgres),
            other => Err(self.error(format!("unknown backend {other:?}"))),
        }
    }

    /// A usage error: the message, then the usage.
    pub fn error(&self, message: String) -> Box<dyn std::error::Error + Send + Sync> {
        format!("{message}\n{}", self.usage).into()
    }
}

/// The number of CPUs (`nproc`) and the CPU model, for the summaries.
pub fn machine() -> (String, String) {
    let nproc = Command::new("nproc")
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .or_else(|| std::thread::available_parallelism().ok().map(|n| n.to_string()))
        .unwrap_or_else(|| "?".to_owned());
    let model = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|info| {
            info.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split_once(':'))
                .map(|(_, v)| v.trim().to_owned())
        })
        .unwrap_or_else(|| "unknown CPU".to_owned());
    (nproc, model)
}

/// The last `lines` lines of a log file.
pub fn tail(path: &Path, lines: usize) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

/// Stops a server child gracefully: SIGTERM, then SIGKILL if it is still running 10 s later.
pub fn stop(child: &mut Child) {
    let exited = |child: &mut Child| child.try_wait().ok().flatten().is_some();
    if exited(child) {
        return;
    }
    let _ = Command::new("kill").args(["-TERM", &child.id().to_string()]).stderr(Stdio::null()).status();
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        if exited(child) {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = child.kill();
    let _ = child.wait();
}

/// A process's resident memory (VmRSS) in kB, 0 when it cannot be read.
#[allow(dead_code)] // the crash harness does not watch memory
pub fn rss_kb(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}
