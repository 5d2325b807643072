//! Invariant 6 (ARCHITECTURE.md): a client that stops reading never slows the others down and is
//! never fed a gap. One hall display stops reading (a small receive buffer, then nothing read)
//! while 2 000 tickets are issued; with a broadcast buffer of 64 events its socket falls behind.
//! Meanwhile the other display gets every event, in order, with no snapshot. When the stalled
//! display reads again it finds the events that were already on its socket, then a snapshot
//! (the resync), then exactly the next event: never a gap, never an event twice.

use futures_util::{SinkExt, StreamExt};
use luot_server::Limits;
use luot_tests::{Setup, TestServer, Who, roomy_config_toml};
use serde_json::{Value, json};
use tokio::net::TcpSocket;
use tokio_tungstenite::tungstenite::Message;

const TICKETS: u64 = 2000;
/// Small, so that a stalled socket falls behind soon; roomy enough for a reading display on a
/// busy test machine (each event here waits for its own commit).
const BROADCAST_CAPACITY: usize = 64;

#[tokio::test]
async fn a_display_that_stops_reading_is_resynced_and_slows_no_one() {
    let s = TestServer::start_with(Setup {
        limits: Limits {
            broadcast_capacity: BROADCAST_CAPACITY,
            issue_per_s: 1e6,
            issue_burst: 1e6,
            ..Limits::default()
        },
        config_toml: roomy_config_toml(5_000, 10_000),
        ..Setup::default()
    })
    .await;
    let kiosk = s.first.kiosk_token.clone();

    // The stalled display: a 2 KiB receive buffer, so the server's writes block soon.
    let addr: std::net::SocketAddr = s
        .base
        .trim_start_matches("http://")
        .parse()
        .expect("the server's address");
    let socket = TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(2048).unwrap();
    let stream = socket.connect(addr).await.unwrap();
    let (mut stalled, _) = tokio_tungstenite::client_async(s.ws_url(), stream)
        .await
        .expect("upgrade");
    let next = async |ws: &mut tokio_tungstenite::WebSocketStream<tokio::net::TcpStream>| -> Value {
        loop {
            let m = tokio::time::timeout(std::time::Duration::from_secs(30), ws.next())
                .await
                .expect("a message within 30 s")
                .expect("the socket is open")
                .expect("a frame");
            if let Message::Text(t) = m {
                let v: Value = serde_json::from_str(&t).unwrap();
                // Fresh wait estimates come between events at any time (protocol §8.7); this
                // test is about the event stream.
                if v["type"] != "estimates" {
                    return v;
                }
            }
        }
    };
    stalled
        .send(Message::text(
            json!({"type": "hello", "role": "display"}).to_string(),
        ))
        .await
        .unwrap();
    assert_eq!(next(&mut stalled).await["type"], "welcome");
    let first = next(&mut stalled).await;
    assert_eq!(first["type"], "snapshot", "{first}");
    let start_seq = first["seq"].as_u64().unwrap();

    // The other display reads all along, while the tickets are issued.
    let mut display = s.ws("display", Who::Anonymous).await;
    let last_seq = start_seq + TICKETS;
    let reading = tokio::spawn(async move { display.events_until(last_seq).await });
    for i in 0..TICKETS {
        let service = if i % 2 == 0 { "khai-sinh" } else { "ket-hon" };
        let t = s.issue(&kiosk, service).await;
        assert_eq!(
            t["seq"].as_u64(),
            Some(start_seq + i + 1),
            "one event per ticket"
        );
    }

    // It got all of it while the stalled one read nothing: every event, in order, no snapshot.
    let events = reading.await.expect("the reading display");
    let seqs: Vec<u64> = events.iter().map(|e| e["seq"].as_u64().unwrap()).collect();
    assert_eq!(
        seqs,
        (start_seq + 1..=last_seq).collect::<Vec<_>>(),
        "the reading display missed or repeated events"
    );

    // Now the stalled display reads: events, a snapshot, then events again, never a gap.
    let mut at = start_seq;
    let mut snapshots = 0;
    while at < last_seq {
        let m = next(&mut stalled).await;
        let seq = m["seq"].as_u64().unwrap_or_else(|| panic!("no seq: {m}"));
        match m["type"].as_str() {
            Some("event") => assert_eq!(seq, at + 1, "a gap or a repeat after {at}: {m}"),
            Some("snapshot") => {
                assert!(
                    seq >= at,
                    "a snapshot older than what was seen: {seq} < {at}"
                );
                snapshots += 1;
            }
            _ => panic!("unexpected {m}"),
        }
        at = seq;
    }
    assert_eq!(at, last_seq);
    assert!(
        snapshots >= 1,
        "the stalled display was never resynced: it kept up after all (not a test of a stall)"
    );
    // And from there on, it is an ordinary display again.
    let t = s.issue(&kiosk, "khai-sinh").await;
    let m = next(&mut stalled).await;
    assert_eq!(
        (m["type"].as_str(), m["seq"].as_u64()),
        (Some("event"), t["seq"].as_u64()),
        "{m}"
    );
    let metrics = s.http().get("/metrics").await.text;
    assert!(
        metrics
            .lines()
            .any(|l| l.starts_with("luot_ws_resyncs_total ") && !l.ends_with(" 0")),
        "{metrics}"
    );
}
