//! The websocket endpoint `/ws` of the real server, over a real socket.
//!
//! The target starts `luot_server::start` once (in this process, on 127.0.0.1:0, with a fresh
//! data folder in memory and the built-in center) and logs the admin in. Each input is one
//! connection: an HTTP upgrade (with the admin's session cookie, or a foreign Origin, or
//! neither), then a sequence of frames decoded from the bytes — whole text messages,
//! fragmented ones, oversized ones, control frames, and raw frames with any header bits,
//! masked or not, with an honest or a lying length — then the client's half of the TCP
//! connection is shut. `$K`, `$D` and `$R` in a payload become the kiosk's, the hall
//! display's and the rating tablet's device tokens, so the seeds reach authenticated commands.
//!
//! Oracle: the server never panics (libFuzzer's panic hook aborts, in any of its threads); it
//! answers the upgrade; it ends every connection within `DRAIN_TIMEOUT` of the client's
//! shutdown; each text frame it sends is a valid `ServerMessage`; a close code it sends is
//! one the server is meant to use; and every `CHECK_EVERY` inputs the broker's live sites keep
//! their invariants.
//!
//! `LUOT_FUZZ_WS_SHOW=1` prints what the server sent (to see what an input reaches).
#![no_main]

use libfuzzer_sys::fuzz_target;
use luot_proto::ServerMessage;
use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

/// A connection must be over this long after the client shut its half.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(10);
/// Inputs between two checks of the broker's invariants.
const CHECK_EVERY: u64 = 256;
/// Close codes the server sends (ws.rs): normal, going away, protocol, unsupported data,
/// invalid payload, policy, too big, internal error, service restart (an account changed: log
/// in again), try again later.
const CLOSE_CODES: [u16; 10] = [1000, 1001, 1002, 1003, 1007, 1008, 1009, 1011, 1012, 1013];
/// Monday 2026-11-30 09:00 in Asia/Ho_Chi_Minh: the built-in center is open.
const START_MS: i64 = 1_796_004_000_000;

struct Harness {
    rt: tokio::runtime::Runtime,
    addr: SocketAddr,
    app: Arc<luot_server::App>,
    kiosk: String,
    display: String,
    rating: String,
    cookie: String,
    inputs: AtomicU64,
    _dir: tempfile::TempDir,
}

fn harness() -> &'static Harness {
    static H: OnceLock<Harness> = OnceLock::new();
    H.get_or_init(|| {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("runtime");
        let shm = std::path::Path::new("/dev/shm");
        let dir = if shm.is_dir() {
            tempfile::tempdir_in(shm)
        } else {
            tempfile::tempdir()
        }
        .expect("temp dir");
        let toml = luot_proto::config::DEFAULT_CONFIG_TOML;
        let center =
            luot_proto::config::parse_config(toml, "default.toml").expect("default config");
        let clock = luot_server::clock::OffsetClock::default();
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .expect("clock")
            .as_millis() as i64;
        clock.set_offset_ms(START_MS - now);
        let limits = luot_server::Limits {
            issue_per_s: 1e6,
            issue_burst: 1e6,
            ..luot_server::Limits::default()
        };
        let server = rt.block_on(async {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
                .await
                .expect("bind");
            luot_server::start(
                listener,
                luot_server::Options {
                    data_dir: dir.path().to_path_buf(),
                    center,
                    config_toml: toml.to_string(),
                    assets_dir: None,
                    limits,
                    clock: Arc::new(clock),
                    secure_cookies: false,
                },
            )
            .await
            .expect("server starts")
        });
        let first = server.first_start.clone().expect("first start");
        let addr = server.addr;
        let app = server.app.clone();
        // The server runs until the process ends.
        std::mem::drop(rt.spawn(async move { server.wait().await }));
        let cookie = login(addr, &first.admin_login, &first.admin_password);
        Harness {
            rt,
            addr,
            app,
            kiosk: first.kiosk_token,
            display: first.display_token,
            rating: first.rating_token,
            cookie,
            inputs: AtomicU64::new(0),
            _dir: dir,
        }
    })
}

/// POST /api/v1/login over a plain socket; returns the `luot_session=…` cookie.
fn login(addr: SocketAddr, login: &str, password: &str) -> String {
    let body = format!(r#"{{"login":"{login}","password":"{password}"}}"#);
    let mut s = TcpStream::connect(addr).expect("connect");
    write!(
        s,
        "POST /api/v1/login HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .expect("write login");
    let mut response = String::new();
    s.read_to_string(&mut response).expect("read login");
    let line = response
        .lines()
        .find(|l| {
            l.to_ascii_lowercase()
                .starts_with("set-cookie: luot_session=")
        })
        .unwrap_or_else(|| panic!("login failed:\n{response}"));
    line["set-cookie: ".len()..]
        .split(';')
        .next()
        .expect("cookie")
        .to_string()
}

/// Reads the fuzzer's bytes; runs dry as zeros.
struct Bytes<'a>(&'a [u8]);

impl Bytes<'_> {
    fn u8(&mut self) -> u8 {
        let (b, rest) = self.0.split_first().map_or((0, &[][..]), |(b, r)| (*b, r));
        self.0 = rest;
        b
    }

    fn u16(&mut self) -> u16 {
        u16::from_le_bytes([self.u8(), self.u8()])
    }

    fn take(&mut self, n: usize) -> Vec<u8> {
        let n = n.min(self.0.len());
        let (a, b) = self.0.split_at(n);
        self.0 = b;
        a.to_vec()
    }
}

fn frame(out: &mut Vec<u8>, b0: u8, masked: bool, payload: &[u8], declared: Option<u64>) {
    out.push(b0);
    let mask_bit = if masked { 0x80 } else { 0 };
    let len = declared.unwrap_or(payload.len() as u64);
    if len < 126 {
        out.push(mask_bit | len as u8);
    } else if len <= u16::MAX as u64 {
        out.push(mask_bit | 126);
        out.extend_from_slice(&(len as u16).to_be_bytes());
    } else {
        out.push(mask_bit | 127);
        out.extend_from_slice(&len.to_be_bytes());
    }
    if masked {
        let key = [0x37, 0xfa, 0x21, 0x3d];
        out.extend_from_slice(&key);
        out.extend(payload.iter().enumerate().map(|(i, b)| b ^ key[i % 4]));
    } else {
        out.extend_from_slice(payload);
    }
}

fn substitute(h: &Harness, payload: Vec<u8>) -> Vec<u8> {
    if !payload.contains(&b'$') {
        return payload;
    }
    let mut out = Vec::with_capacity(payload.len() + 64);
    let mut i = 0;
    while i < payload.len() {
        let token = match (payload[i], payload.get(i + 1)) {
            (b'$', Some(b'K')) => Some(&h.kiosk),
            (b'$', Some(b'D')) => Some(&h.display),
            (b'$', Some(b'R')) => Some(&h.rating),
            _ => None,
        };
        match token {
            Some(t) => {
                out.extend_from_slice(t.as_bytes());
                i += 2;
            }
            None => {
                out.push(payload[i]);
                i += 1;
            }
        }
    }
    out
}

/// The client's bytes after the upgrade.
fn frames(h: &Harness, b: &mut Bytes<'_>) -> Vec<u8> {
    let mut out = Vec::new();
    while !b.0.is_empty() && out.len() < 256 * 1024 {
        let op = b.u8();
        match op & 7 {
            // A whole text message in one masked frame.
            0..=3 => {
                let n = b.u16() as usize % 2048;
                let p = substitute(h, b.take(n));
                frame(&mut out, 0x81, true, &p, None);
            }
            // A big one: a byte repeated, around the 16 KiB limit or far past it.
            4 => {
                let n = b.u8() as usize * 128 + b.u8() as usize;
                let p = vec![b.u8(); n];
                frame(
                    &mut out,
                    if op & 8 != 0 { 0x82 } else { 0x81 },
                    true,
                    &p,
                    None,
                );
            }
            // A raw frame: any FIN/RSV/opcode, masked or not, its length honest or not.
            5 => {
                let b0 = b.u8();
                let n = b.u16() as usize % 1024;
                let p = substitute(h, b.take(n));
                let declared = (op & 16 != 0)
                    .then(|| u64::from_le_bytes(b.take(8).try_into().unwrap_or([0; 8])));
                frame(&mut out, b0, op & 8 == 0, &p, declared);
            }
            // A text message in fragments, perhaps with a ping in between.
            6 => {
                let n = b.u16() as usize % 2048;
                let p = substitute(h, b.take(n));
                let parts = 1 + (op >> 3 & 3) as usize;
                let size = p.len().div_ceil(parts).max(1);
                let chunks: Vec<&[u8]> = if p.is_empty() {
                    vec![&[]]
                } else {
                    p.chunks(size).collect()
                };
                for (i, c) in chunks.iter().enumerate() {
                    let opcode = if i == 0 { 1 } else { 0 };
                    let fin = if i + 1 == chunks.len() { 0x80 } else { 0 };
                    frame(&mut out, fin | opcode, true, c, None);
                    if op & 32 != 0 && i == 0 {
                        frame(&mut out, 0x89, true, b"p", None);
                    }
                }
            }
            // A control frame: ping, pong or close, with a payload (perhaps too long for one).
            _ => {
                let opcode = [0x89, 0x8a, 0x88][(op >> 3) as usize % 3];
                let n = b.u8() as usize;
                let p = b.take(n);
                frame(&mut out, opcode, true, &p, None);
            }
        }
    }
    out
}

/// Parses the server's (unmasked) frames; checks text frames and close codes.
fn check_server_bytes(bytes: &[u8]) {
    let mut i = 0;
    let mut message: Vec<u8> = Vec::new();
    while i + 2 <= bytes.len() {
        let (b0, b1) = (bytes[i], bytes[i + 1]);
        assert_eq!(b1 & 0x80, 0, "the server masked a frame");
        let (mut len, mut at) = ((b1 & 0x7f) as usize, i + 2);
        if len == 126 {
            if at + 2 > bytes.len() {
                return;
            }
            len = u16::from_be_bytes([bytes[at], bytes[at + 1]]) as usize;
            at += 2;
        } else if len == 127 {
            if at + 8 > bytes.len() {
                return;
            }
            len = u64::from_be_bytes(bytes[at..at + 8].try_into().expect("8 bytes")) as usize;
            at += 8;
        }
        let Some(payload) = bytes.get(at..at + len) else {
            return; // cut off: the connection ended mid-frame
        };
        let (fin, opcode) = (b0 & 0x80 != 0, b0 & 0x0f);
        match opcode {
            1 | 0 => {
                message.extend_from_slice(payload);
                if fin {
                    let text = std::str::from_utf8(&message).expect("server text is UTF-8");
                    if std::env::var_os("LUOT_FUZZ_WS_SHOW").is_some() {
                        eprintln!("server: {text}");
                    }
                    if let Err(e) = serde_json::from_str::<ServerMessage>(text) {
                        panic!("the server sent what its protocol does not define: {e}\n{text}");
                    }
                    message.clear();
                }
            }
            8 if payload.len() >= 2 => {
                let code = u16::from_be_bytes([payload[0], payload[1]]);
                if std::env::var_os("LUOT_FUZZ_WS_SHOW").is_some() {
                    eprintln!("server: close {code}");
                }
                assert!(CLOSE_CODES.contains(&code), "close code {code}");
            }
            _ => {}
        }
        i = at + len;
    }
}

/// Reads what is there into `got`; 0 at the end of the connection. The server must end it
/// within `DRAIN_TIMEOUT`.
fn read_some(s: &mut TcpStream, got: &mut Vec<u8>) -> usize {
    let mut buf = [0u8; 16 * 1024];
    let started = std::time::Instant::now();
    loop {
        match s.read(&mut buf) {
            Ok(n) => {
                got.extend_from_slice(&buf[..n]);
                return n;
            }
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => return 0,
            // libFuzzer's timer signal interrupts the read.
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => panic!(
                "the server kept the connection open {:?} after the client's shutdown: {e}",
                started.elapsed()
            ),
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let h = harness();
    let mut b = Bytes(data);
    let flags = b.u8();
    let mut request = format!(
        "GET /ws HTTP/1.1\r\nHost: {}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n",
        h.addr
    );
    if flags & 1 != 0 {
        request += &format!("Cookie: {}\r\n", h.cookie);
    }
    if flags & 2 != 0 {
        request += "Origin: https://evil.example\r\n";
    }
    request += "\r\n";
    let client = frames(h, &mut b);

    let mut s = TcpStream::connect(h.addr).expect("connect");
    s.set_read_timeout(Some(DRAIN_TIMEOUT)).expect("timeout");
    s.write_all(request.as_bytes()).expect("write upgrade");
    // A client waits for the server's handshake before it sends frames (RFC 6455 §4.1).
    let mut got = Vec::new();
    let head_end = loop {
        if let Some(end) = got.windows(4).position(|w| w == b"\r\n\r\n") {
            break end;
        }
        if read_some(&mut s, &mut got) == 0 {
            panic!("no HTTP response: {:?}", String::from_utf8_lossy(&got));
        }
    };
    let head = String::from_utf8_lossy(&got[..head_end]).into_owned();
    if flags & 2 != 0 {
        assert!(
            head.starts_with("HTTP/1.1 403"),
            "a foreign Origin was let in: {head}"
        );
        return;
    }
    assert!(head.starts_with("HTTP/1.1 101"), "upgrade refused: {head}");
    // Split the writes where the fuzzer says, so the server sees frames cut across reads.
    let cut = if client.is_empty() {
        0
    } else {
        (flags as usize >> 2) * 97 % client.len()
    };
    // The server may close early (a bad frame) and reset the connection: that is fine.
    let _ = s
        .write_all(&client[..cut])
        .and_then(|_| s.write_all(&client[cut..]));
    let _ = s.shutdown(Shutdown::Write);
    while read_some(&mut s, &mut got) > 0 {}
    check_server_bytes(&got[head_end + 4..]);

    if h.inputs.fetch_add(1, Ordering::Relaxed) % CHECK_EVERY == 0 {
        let app = h.app.clone();
        let broken = h.rt.block_on(async move {
            app.broker
                .read(|v| {
                    v.sites
                        .iter()
                        .filter_map(|s| s.check_invariants().err())
                        .collect::<Vec<_>>()
                })
                .await
        });
        match broken {
            Ok(errors) => assert!(errors.is_empty(), "invariants broken: {errors:?}"),
            Err(e) => panic!("the broker does not answer: {e:?}"),
        }
    }
});
