//! The network ticket printer: a real TCP listener plays an ESC/POS printer on port 9100 (it
//! answers `DLE EOT` status queries like one, runs out of paper, stops answering, or is not
//! there at all) and the test reads back what the server sent it: init, a `GS v 0` raster of
//! the paper's width, a cut. The raster is decoded, saved as a PNG, and its QR code is read.

use luot_tests::{SITE, START_MS, Setup, TestServer, Who, clock_at_start, system_now_ms, within};
use serde_json::{Value, json};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::sync::mpsc;

/// `DLE EOT` answers: bits 1 and 4 always set.
const STATUS_OK: u8 = 0x12;
/// `DLE EOT 4` with the paper-end sensor (bits 5 and 6) on.
const PAPER_OUT: u8 = 0x72;
/// Never answers a status query.
const SILENT: u8 = 0;

/// A printer on a loopback port. `paper` is what it answers to `DLE EOT 4`.
struct FakePrinter {
    port: u16,
    paper: Arc<AtomicU8>,
    /// Everything received after the status queries, one entry per connection that sent any.
    jobs: mpsc::UnboundedReceiver<Vec<u8>>,
}

impl FakePrinter {
    async fn start(paper: u8) -> FakePrinter {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let paper = Arc::new(AtomicU8::new(paper));
        let (tx, jobs) = mpsc::unbounded_channel();
        let p = paper.clone();
        tokio::spawn(async move {
            while let Ok((mut sock, _)) = listener.accept().await {
                let (p, tx) = (p.clone(), tx.clone());
                tokio::spawn(async move {
                    let mut buf = Vec::new();
                    let mut chunk = [0u8; 4096];
                    let mut data_started = false;
                    loop {
                        let n = match sock.read(&mut chunk).await {
                            Ok(0) | Err(_) => break,
                            Ok(n) => n,
                        };
                        buf.extend_from_slice(&chunk[..n]);
                        // Status queries come first; a real printer answers them at once.
                        while !data_started && buf.len() >= 3 && buf[0] == 0x10 && buf[1] == 0x04 {
                            let answer = match buf[2] {
                                4 => p.load(Ordering::SeqCst),
                                _ if p.load(Ordering::SeqCst) == SILENT => SILENT,
                                _ => STATUS_OK,
                            };
                            buf.drain(..3);
                            if answer != SILENT {
                                let _ = sock.write_all(&[answer]).await;
                            }
                        }
                        if !buf.is_empty() && buf[0] != 0x10 {
                            data_started = true;
                        }
                    }
                    if !buf.is_empty() {
                        let _ = tx.send(buf);
                    }
                });
            }
        });
        FakePrinter { port, paper, jobs }
    }

    async fn next_job(&mut self) -> Vec<u8> {
        within("a print job", self.jobs.recv()).await.unwrap()
    }
}

fn config_with(printers: &[(&str, &str, u16, u32)]) -> String {
    let mut c = luot_proto::config::DEFAULT_CONFIG_TOML.to_string();
    for (name, kiosk, port, timeout_ms) in printers {
        c.push_str(&format!(
            "\n[[printer]]\nname = \"{name}\"\nkiosk = \"{kiosk}\"\naddress = \"127.0.0.1:{port}\"\npaper_width_dots = 576\ntimeout_ms = {timeout_ms}\n"
        ));
    }
    c
}

/// A decoded ESC/POS job: the raster picture (row-major, true = black) and its size.
struct Raster {
    width: usize,
    height: usize,
    dots: Vec<bool>,
}

/// Checks the job is `ESC @`, one or more `GS v 0` bands of one width, `ESC d n`, `GS V 66 0`,
/// and nothing else; returns the picture.
fn parse_job(b: &[u8]) -> Raster {
    assert_eq!(&b[..2], &[0x1b, 0x40], "a job starts with ESC @");
    let mut i = 2;
    let (mut width_bytes, mut dots, mut height) = (None, Vec::new(), 0usize);
    while b[i..].starts_with(&[0x1d, 0x76, 0x30]) {
        assert_eq!(b[i + 3], 0, "raster mode 0 (normal size)");
        let xb = u16::from_le_bytes([b[i + 4], b[i + 5]]) as usize;
        let rows = u16::from_le_bytes([b[i + 6], b[i + 7]]) as usize;
        assert_eq!(*width_bytes.get_or_insert(xb), xb, "every band is as wide");
        assert!(rows > 0);
        let data = &b[i + 8..i + 8 + xb * rows];
        for byte in data {
            for bit in 0..8 {
                dots.push(byte & (0x80 >> bit) != 0);
            }
        }
        height += rows;
        i += 8 + xb * rows;
    }
    let width_bytes = width_bytes.expect("at least one GS v 0 raster");
    assert_eq!(
        &b[i..],
        &[0x1b, 0x64, 4, 0x1d, 0x56, 0x42, 0x00],
        "a feed and a cut end the job"
    );
    Raster {
        width: width_bytes * 8,
        height,
        dots,
    }
}

fn out_dir() -> PathBuf {
    let d = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("printer");
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn save_png(r: &Raster, name: &str) -> PathBuf {
    let path = out_dir().join(name);
    let file = std::fs::File::create(&path).unwrap();
    let mut enc = png::Encoder::new(
        std::io::BufWriter::new(file),
        r.width as u32,
        r.height as u32,
    );
    enc.set_color(png::ColorType::Grayscale);
    enc.set_depth(png::BitDepth::Eight);
    let grey: Vec<u8> = r.dots.iter().map(|&d| if d { 0 } else { 255 }).collect();
    enc.write_header().unwrap().write_image_data(&grey).unwrap();
    path
}

fn read_qr(r: &Raster) -> String {
    let mut img = rqrr::PreparedImage::prepare_from_greyscale(r.width, r.height, |x, y| {
        if r.dots[y * r.width + x] { 0 } else { 255 }
    });
    let grids = img.detect_grids();
    assert_eq!(grids.len(), 1, "one QR code on the ticket");
    grids[0].decode().expect("the QR code decodes").1
}

async fn printer_message(ws: &mut luot_tests::WsClient) -> Value {
    within("a printer message", async {
        loop {
            let m = ws.recv().await;
            if m["type"] == "printer" {
                return m["printer"].clone();
            }
        }
    })
    .await
}

#[tokio::test]
async fn a_kiosk_ticket_prints_as_a_raster_and_prints_again_after_paper_out() {
    let mut printer = FakePrinter::start(STATUS_OK).await;
    let clock = clock_at_start();
    let s = TestServer::start_with(Setup {
        config_toml: config_with(&[("may-in-1", "Kiosk 1", printer.port, 2000)]),
        clock: clock.clone(),
        ..Setup::default()
    })
    .await;
    let kiosk = s.first.kiosk_token.clone();
    let mut kws = s.ws("kiosk", Who::Device(&kiosk)).await;
    // The kiosk learns of its printer as it connects.
    assert_eq!(
        kws.welcome["printer"]["name"], "may-in-1",
        "{}",
        kws.welcome
    );
    assert_eq!(kws.welcome["printer"]["ok"], true);

    // Nothing printed yet: ready, state unknown.
    let h = s.http().get("/healthz").await;
    assert_eq!(h.status, 200);
    assert_eq!(h.json()["printers"][0]["state"], "unknown", "{}", h.text);

    let first = s.issue(&kiosk, "khai-sinh").await;
    assert_eq!(
        first["print"],
        json!({"printer": "may-in-1", "queued": true})
    );
    let job = printer.next_job().await;
    let r = parse_job(&job);
    assert_eq!(r.width, 576, "80 mm paper at 203 dpi");
    assert!(
        (600..2400).contains(&r.height),
        "a ticket of sensible length: {} dots",
        r.height
    );
    let black = r.dots.iter().filter(|&&d| d).count() as f64 / r.dots.len() as f64;
    assert!(
        (0.03..0.5).contains(&black),
        "ink on {:.1}% of the ticket",
        black * 100.0
    );
    let png = save_png(&r, "ticket-A001.png");
    eprintln!("ticket raster: {}", png.display());
    assert_eq!(read_qr(&r), first["url"].as_str().unwrap());
    let st = printer_message(&mut kws).await;
    assert_eq!(st["state"], "ok", "{st}");
    assert_eq!(st["ticket"], "A001");
    assert_eq!(st["printed"], 1);

    // A priority ticket draws its category too (and still has a readable QR code).
    let r2 = s
        .device_http(&kiosk)
        .post(
            &format!("/api/v1/sites/{SITE}/tickets"),
            &json!({"service": "khai-sinh", "priority": "elderly"}),
        )
        .await;
    assert_eq!(r2.status, 201, "{}", r2.text);
    let prio = parse_job(&printer.next_job().await);
    save_png(&prio, "ticket-priority.png");
    assert_eq!(read_qr(&prio), r2.json()["url"].as_str().unwrap());
    assert!(prio.height > r.height, "the priority band adds lines");
    printer_message(&mut kws).await;

    // Out of paper: the ticket is issued all the same, nothing is printed, everyone is told.
    printer.paper.store(PAPER_OUT, Ordering::SeqCst);
    let second = s.issue(&kiosk, "khai-sinh").await;
    let number = second["ticket"]["number"].as_str().unwrap().to_string();
    assert_eq!(second["print"]["queued"], true);
    let st = printer_message(&mut kws).await;
    assert_eq!(st["state"], "paper_out", "{st}");
    assert_eq!(st["ok"], false);
    assert_eq!(st["message"], "Máy in lỗi: hết giấy — vé vẫn hợp lệ");
    assert_eq!(
        st["message_en"],
        "Printer: out of paper — your ticket is still valid"
    );
    assert_eq!(st["ticket"], number.as_str());
    let h = s.http().get("/healthz").await;
    assert_eq!(h.status, 200, "issuing still works: ready");
    assert_eq!(h.json()["printers"][0]["state"], "paper_out");
    assert_eq!(h.json()["printers"][0]["failed"], 1);
    let m = s.http().get("/metrics").await.text;
    assert!(
        m.contains("luot_printer_state{printer=\"may-in-1\",state=\"paper_out\"} 1"),
        "{m}"
    );
    assert!(m.contains("luot_printer_state{printer=\"may-in-1\",state=\"ok\"} 0"));
    assert!(m.contains("luot_printer_failed_total{printer=\"may-in-1\"} 1"));
    assert!(m.contains("luot_printer_printed_total{printer=\"may-in-1\"} 2"));

    // Printing again while still empty says so.
    let reprint = format!("/api/v1/sites/{SITE}/tickets/{number}/reprint");
    let again = s.device_http(&kiosk).post(&reprint, &json!({})).await;
    assert_eq!(again.status, 503, "{}", again.text);
    assert_eq!(again.json()["code"], "printer_paper_out");
    printer_message(&mut kws).await;

    // Paper refilled: the same ticket prints, twice the same bytes.
    printer.paper.store(STATUS_OK, Ordering::SeqCst);
    let again = s.device_http(&kiosk).post(&reprint, &json!({})).await;
    assert_eq!(again.status, 200, "{}", again.text);
    assert_eq!(again.json()["printed"], true);
    assert_eq!(again.json()["printer"]["state"], "ok");
    let job1 = printer.next_job().await;
    let re = parse_job(&job1);
    assert_eq!(read_qr(&re), second["url"].as_str().unwrap());
    let st = printer_message(&mut kws).await;
    assert_eq!(st["state"], "ok");
    let admin = s.admin().await;
    let by_admin = admin.post(&reprint, &json!({"printer": "may-in-1"})).await;
    assert_eq!(by_admin.status, 200, "{}", by_admin.text);
    assert_eq!(
        printer.next_job().await,
        job1,
        "a reprint is the same ticket"
    );
    assert_eq!(
        s.http().get("/healthz").await.json()["printers"][0]["state"],
        "ok"
    );

    // Who may print again: not the public, not a hall display, not a finished ticket.
    assert_eq!(s.http().post(&reprint, &json!({})).await.status, 401);
    let (_, display) = s.pair_device(&admin, "display", "Màn hình 2", None).await;
    assert_eq!(
        s.device_http(&display)
            .post(&reprint, &json!({}))
            .await
            .status,
        403
    );
    let unknown = admin
        .post(
            &format!("/api/v1/sites/{SITE}/tickets/A999/reprint"),
            &json!({}),
        )
        .await;
    assert_eq!(unknown.status, 404, "{}", unknown.text);
    let cancel = admin
        .post(
            &format!("/api/v1/sites/{SITE}/tickets/{number}/cancel"),
            &json!({}),
        )
        .await;
    assert_eq!(cancel.status, 200, "{}", cancel.text);
    let done = s.device_http(&kiosk).post(&reprint, &json!({})).await;
    assert_eq!(done.status, 409);
    assert_eq!(done.json()["code"], "ticket_finished");

    // 11:29, no counter open: the wait may run past lunch, and the ticket says so in a line of
    // its own ("Có thể đến buổi chiều (13:30) mới tới lượt"), so it is longer than A001.
    clock.set_offset_ms(START_MS + 149 * 60_000 - system_now_ms());
    let late = s.issue(&kiosk, "khai-sinh").await;
    assert_eq!(
        late["ticket"]["past_session"]["resumes"], "2026-11-30 13:30",
        "{late}"
    );
    let note = parse_job(&printer.next_job().await);
    save_png(&note, "ticket-session.png");
    assert_eq!(read_qr(&note), late["url"].as_str().unwrap());
    assert!(
        note.height > r.height,
        "the session note adds a line: {} vs {} dots",
        note.height,
        r.height
    );
}

#[tokio::test]
async fn an_unreachable_or_silent_printer_is_reported_and_its_queue_is_bounded() {
    // A closed port: bound, then let go.
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let silent = FakePrinter::start(SILENT).await;
    let s = TestServer::start_with(Setup {
        config_toml: config_with(&[
            ("may-in-dong", "Kiosk 1", closed, 500),
            ("may-in-im", "Kiosk 2", silent.port, 3000),
        ]),
        limits: luot_server::Limits {
            issue_burst: 20.0,
            ..luot_server::Limits::default()
        },
        ..Setup::default()
    })
    .await;
    let kiosk = s.first.kiosk_token.clone();
    let mut kws = s.ws("kiosk", Who::Device(&kiosk)).await;
    let t = s.issue(&kiosk, "khai-sinh").await;
    assert_eq!(t["print"]["queued"], true);
    let st = printer_message(&mut kws).await;
    assert_eq!(st["name"], "may-in-dong");
    assert_eq!(st["state"], "unreachable", "{st}");
    assert_eq!(
        st["message_en"],
        "Printer: not reachable — your ticket is still valid"
    );

    // A printer that takes the connection and never answers: each job waits out the timeout,
    // the queue fills, and the next ticket is issued with "printer busy" instead of waiting.
    let admin = s.admin().await;
    let (_, kiosk2) = s.pair_device(&admin, "kiosk", "Kiosk 2", None).await;
    let max = luot_server::printer::PRINT_QUEUE_MAX;
    let mut refused = 0;
    for _ in 0..max + 3 {
        let r = s.issue(&kiosk2, "khai-sinh").await;
        if r["print"]["queued"] == false {
            assert_eq!(r["print"]["error"]["code"], "printer_busy");
            refused += 1;
        }
    }
    // One job in the printer's hands, `max` waiting: the rest are refused.
    assert_eq!(refused, 2, "queue of {max}");
    let st = printer_message(&mut kws).await;
    assert_eq!(st["name"], "may-in-im");
    assert_eq!(st["state"], "timeout", "{st}");
    let m = s.http().get("/metrics").await.text;
    assert!(
        m.contains("luot_printer_dropped_total{printer=\"may-in-im\"} 2"),
        "{m}"
    );
    let h = s.http().get("/healthz").await.json();
    assert_eq!(h["printers"][0]["state"], "unreachable");
    assert_eq!(h["printers"][1]["state"], "timeout");
}
