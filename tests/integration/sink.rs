#![allow(dead_code)] // the email tests use a part of it each
//! An SMTP sink on 127.0.0.1 that a test starts: it speaks enough real SMTP for lettre (EHLO, MAIL, RCPT,
//! DATA, RSET, NOOP, QUIT), keeps every message it accepted, and can be told to answer 4xx, 5xx, or to stall
//! in the middle of a message, or be stopped and started again on the same port.

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How the sink answers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    Accept,
    /// `451` to MAIL FROM: try again later.
    TryLater,
    /// `550` to RCPT TO, quoting the address as real relays do.
    Refuse,
    /// Reads the whole message, then never answers it.
    Stall,
}

/// A message the sink accepted.
#[derive(Clone, Debug)]
pub struct Received {
    pub from: String,
    pub to: Vec<String>,
    /// The message as sent: headers and body, transfer encoding and all.
    pub raw: String,
}

impl Received {
    /// A header's value (unfolded), by name.
    pub fn header(&self, name: &str) -> Option<String> {
        let head = self.raw.split("\r\n\r\n").next().unwrap_or("");
        let unfolded = head.replace("\r\n ", " ").replace("\r\n\t", " ");
        unfolded.lines().find_map(|l| {
            let (n, v) = l.split_once(':')?;
            n.eq_ignore_ascii_case(name).then(|| v.trim().to_string())
        })
    }

    /// The decoded bodies of every part (quoted-printable and base64 undone), joined: what a reader sees.
    pub fn text(&self) -> String {
        let mut out = String::new();
        for part in self.raw.split("\r\n--") {
            let Some((head, body)) = part.split_once("\r\n\r\n") else { continue };
            let head = head.to_ascii_lowercase();
            if !head.contains("content-type: text/") {
                continue;
            }
            let body = body.split("\r\n--").next().unwrap_or(body);
            if head.contains("content-transfer-encoding: base64") {
                use base64::Engine as _;
                let joined: String = body.split_whitespace().collect();
                let bytes = base64::engine::general_purpose::STANDARD.decode(joined).unwrap_or_default();
                out.push_str(&String::from_utf8_lossy(&bytes));
            } else if head.contains("content-transfer-encoding: quoted-printable") {
                out.push_str(&quoted_printable(body));
            } else {
                out.push_str(body);
            }
            out.push('\n');
        }
        out
    }

    /// The first link in the message's text starting with `prefix`.
    pub fn link(&self, prefix: &str) -> Option<String> {
        let text = self.text();
        let start = text.find(prefix)?;
        let link: String =
            text[start..].chars().take_while(|c| !c.is_whitespace() && !matches!(c, '"' | '<' | '>')).collect();
        Some(link.replace("&amp;", "&"))
    }
}

fn quoted_printable(body: &str) -> String {
    let joined = body.replace("=\r\n", "");
    let bytes = joined.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'=' && i + 2 < bytes.len() {
            let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).ok().and_then(|h| u8::from_str_radix(h, 16).ok());
            if let Some(b) = hex {
                out.push(b);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

struct Shared {
    messages: Mutex<Vec<Received>>,
    mode: Mutex<Mode>,
    stopped: AtomicBool,
    /// Messages read whole and never answered (`Mode::Stall`).
    stalled: std::sync::atomic::AtomicUsize,
}

pub struct SmtpSink {
    port: u16,
    shared: Arc<Shared>,
}

impl SmtpSink {
    /// A sink on a free port.
    pub fn start() -> SmtpSink {
        SmtpSink::start_on(0)
    }

    /// A sink on `port` (0: any free one), accepting.
    pub fn start_on(port: u16) -> SmtpSink {
        let listener = TcpListener::bind(("127.0.0.1", port)).expect("the SMTP sink binds");
        listener.set_nonblocking(true).unwrap();
        let port = listener.local_addr().unwrap().port();
        let shared = Arc::new(Shared {
            messages: Mutex::default(),
            mode: Mutex::new(Mode::Accept),
            stopped: AtomicBool::new(false),
            stalled: Default::default(),
        });
        let accepting = shared.clone();
        std::thread::spawn(move || {
            while !accepting.stopped.load(Ordering::SeqCst) {
                match listener.accept() {
                    Ok((stream, _)) => {
                        let shared = accepting.clone();
                        std::thread::spawn(move || {
                            let _ = converse(stream, &shared);
                        });
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(10)),
                }
            }
        });
        SmtpSink { port, shared }
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// The URL the app is configured with.
    pub fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
    }

    pub fn set_mode(&self, mode: Mode) {
        *self.shared.mode.lock().unwrap() = mode;
    }

    /// How many messages were read whole and left unanswered.
    pub fn stalled(&self) -> usize {
        self.shared.stalled.load(Ordering::SeqCst)
    }

    pub fn messages(&self) -> Vec<Received> {
        self.shared.messages.lock().unwrap().clone()
    }

    /// The messages to `address`.
    pub fn to(&self, address: &str) -> Vec<Received> {
        self.messages().into_iter().filter(|m| m.to.iter().any(|t| t.eq_ignore_ascii_case(address))).collect()
    }

    /// Waits (up to `timeout`) until at least `count` messages have arrived, and returns them all.
    pub async fn wait_for(&self, count: usize, timeout: Duration) -> Vec<Received> {
        let deadline = Instant::now() + timeout;
        loop {
            let got = self.messages();
            if got.len() >= count || Instant::now() > deadline {
                return got;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Waits (up to `timeout`) for a message to `address`.
    pub async fn wait_to(&self, address: &str, timeout: Duration) -> Option<Received> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(m) = self.to(address).into_iter().next() {
                return Some(m);
            }
            if Instant::now() > deadline {
                return None;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Stops listening and closes every conversation; the port is free for `start_on` again.
    pub fn stop(&self) {
        self.shared.stopped.store(true, Ordering::SeqCst);
        // Let the accept loop see it and release the port.
        std::thread::sleep(Duration::from_millis(50));
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        self.shared.stopped.store(true, Ordering::SeqCst);
    }
}

fn converse(stream: TcpStream, shared: &Shared) -> std::io::Result<()> {
    stream.set_read_timeout(Some(Duration::from_millis(200)))?;
    let mut out = stream.try_clone()?;
    let mut reader = BufReader::new(stream);
    let reply = |out: &mut TcpStream, line: &str| out.write_all(format!("{line}\r\n").as_bytes());
    reply(&mut out, "220 sink ESMTP ready")?;
    let (mut from, mut to) = (String::new(), Vec::new());
    let mut line = String::new();
    loop {
        if shared.stopped.load(Ordering::SeqCst) {
            return Ok(());
        }
        // A read that times out keeps what it read in `line`: a command is handled once its line is whole.
        match reader.read_line(&mut line) {
            Ok(0) => return Ok(()),
            Ok(_) if !line.ends_with('\n') => continue,
            Ok(_) => {}
            Err(e) if matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut) => continue,
            Err(e) => return Err(e),
        }
        let command = line.trim_end().to_string();
        line.clear();
        let verb = command.split_whitespace().next().unwrap_or("").to_ascii_uppercase();
        let mode = *shared.mode.lock().unwrap();
        match verb.as_str() {
            "EHLO" => out.write_all(b"250-sink\r\n250-8BITMIME\r\n250-SMTPUTF8\r\n250 PIPELINING\r\n")?,
            "HELO" => reply(&mut out, "250 sink")?,
            "MAIL" if mode == Mode::TryLater => reply(&mut out, "451 4.3.0 Try again later")?,
            "MAIL" => {
                from = address_in(&command);
                to.clear();
                reply(&mut out, "250 2.1.0 OK")?
            }
            "RCPT" if mode == Mode::Refuse => {
                reply(&mut out, &format!("550 5.1.1 <{}>: Recipient address rejected", address_in(&command)))?
            }
            "RCPT" => {
                to.push(address_in(&command));
                reply(&mut out, "250 2.1.5 OK")?
            }
            "DATA" => {
                reply(&mut out, "354 End data with <CR><LF>.<CR><LF>")?;
                let raw = read_data(&mut reader, shared)?;
                if mode == Mode::Stall || *shared.mode.lock().unwrap() == Mode::Stall {
                    // Never answered, so never delivered: the sender cannot know whether it arrived.
                    shared.stalled.fetch_add(1, Ordering::SeqCst);
                    while !shared.stopped.load(Ordering::SeqCst) && *shared.mode.lock().unwrap() == Mode::Stall {
                        std::thread::sleep(Duration::from_millis(20));
                    }
                    return Ok(());
                }
                shared.messages.lock().unwrap().push(Received { from: from.clone(), to: to.clone(), raw });
                reply(&mut out, "250 2.0.0 Queued")?
            }
            "RSET" => {
                from.clear();
                to.clear();
                reply(&mut out, "250 2.0.0 OK")?
            }
            "NOOP" => reply(&mut out, "250 2.0.0 OK")?,
            "QUIT" => {
                reply(&mut out, "221 2.0.0 Bye")?;
                return Ok(());
            }
            _ => reply(&mut out, "502 5.5.2 Command not recognised")?,
        }
    }
}

/// The message after DATA, up to the lone dot, with dot-stuffing undone.
fn read_data(reader: &mut BufReader<TcpStream>, shared: &Shared) -> std::io::Result<String> {
    let mut raw = String::new();
    let mut line = String::new();
    loop {
        match reader.read_line(&mut line) {
            Ok(0) => return Ok(raw),
            Ok(_) if !line.ends_with('\n') => continue,
            Ok(_) => {}
            Err(e) if matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut) => {
                if shared.stopped.load(Ordering::SeqCst) {
                    return Ok(raw);
                }
                continue;
            }
            Err(e) => return Err(e),
        }
        if line == ".\r\n" || line == ".\n" {
            return Ok(raw);
        }
        raw.push_str(line.strip_prefix('.').unwrap_or(&line));
        line.clear();
    }
}

/// The address in `MAIL FROM:<a@b> …` or `RCPT TO:<a@b>`.
fn address_in(command: &str) -> String {
    let start = command.find('<').map_or(0, |i| i + 1);
    let end = command[start..].find('>').map_or(command.len(), |i| start + i);
    command[start..end].to_string()
}
