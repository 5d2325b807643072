//! Slow and greedy HTTP clients (docs/protocol.md §14): half-sent headers and half-sent bodies
//! are dropped after their timeouts, and one address cannot hold more than its share of
//! connections, while a normal client is served all along.

use luot_server::Limits;
use luot_server::conn_limits::HttpLimits;
use luot_tests::{SITE, TestServer};
use serde_json::Value;
use std::net::SocketAddr;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};

/// Far longer than any timeout the tests set: a connection still open after this is held.
const GIVE_UP: Duration = Duration::from_secs(30);

fn with_http(http: HttpLimits) -> Limits {
    Limits {
        http,
        ..Limits::default()
    }
}

fn addr(s: &TestServer) -> SocketAddr {
    s.server().addr
}

/// Reads until the server closes the connection (or resets it); what came, and how long it took.
/// Panics if the connection is still open after [`GIVE_UP`].
async fn read_until_closed(tcp: &mut TcpStream) -> (String, Duration) {
    let t = Instant::now();
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match tokio::time::timeout(GIVE_UP, tcp.read(&mut buf)).await {
            Err(_) => panic!(
                "the connection is still open after {GIVE_UP:?}; it sent {:?}",
                String::from_utf8_lossy(&got)
            ),
            Ok(Ok(0)) | Ok(Err(_)) => break,
            Ok(Ok(n)) => got.extend_from_slice(&buf[..n]),
        }
    }
    (String::from_utf8_lossy(&got).into_owned(), t.elapsed())
}

/// The JSON body of a raw HTTP response.
fn body_json(response: &str) -> Value {
    let body = response.split("\r\n\r\n").nth(1).unwrap_or("");
    serde_json::from_str(body).unwrap_or_else(|e| panic!("not JSON ({e}): {response:?}"))
}

/// A complete GET on a fresh connection from `from` (an address of the loopback network).
async fn healthz_from(server: SocketAddr, from: [u8; 4]) -> String {
    let sock = TcpSocket::new_v4().expect("socket");
    sock.bind(SocketAddr::from((from, 0))).expect("bind");
    let mut tcp = sock.connect(server).await.expect("connect");
    tcp.write_all(b"GET /healthz HTTP/1.1\r\nhost: luot\r\nconnection: close\r\n\r\n")
        .await
        .expect("write");
    read_until_closed(&mut tcp).await.0
}

#[tokio::test]
async fn half_sent_headers_are_dropped_after_the_header_timeout() {
    let timeout = Duration::from_secs(1);
    let s = TestServer::start_with_limits(with_http(HttpLimits {
        header_read_timeout: timeout,
        ..HttpLimits::default()
    }))
    .await;
    let mut slow = TcpStream::connect(addr(&s)).await.expect("connect");
    slow.write_all(b"GET /healthz HTTP/1.1\r\nhost: luot\r\nx-slow: ")
        .await
        .expect("write");
    // Meanwhile a normal client is served.
    let ok = healthz_from(addr(&s), [127, 0, 0, 1]).await;
    assert!(ok.starts_with("HTTP/1.1 200"), "{ok}");
    let (got, took) = read_until_closed(&mut slow).await;
    assert!(
        !got.starts_with("HTTP/1.1 200"),
        "the half-sent request was answered: {got}"
    );
    assert!(
        took >= timeout - Duration::from_millis(100),
        "closed after {took:?}"
    );
    println!("slow clients: half-sent headers dropped after {took:.1?} (timeout {timeout:?})");

    // A kept-alive connection that stays silent between requests is closed the same way.
    let mut idle = TcpStream::connect(addr(&s)).await.expect("connect");
    idle.write_all(b"GET /healthz HTTP/1.1\r\nhost: luot\r\n\r\n")
        .await
        .expect("write");
    let (got, _) = read_until_closed(&mut idle).await;
    assert!(got.starts_with("HTTP/1.1 200"), "{got}");
}

#[tokio::test]
async fn a_body_that_never_arrives_is_answered_408_and_the_connection_closed() {
    let timeout = Duration::from_secs(1);
    let s = TestServer::start_with_limits(with_http(HttpLimits {
        body_read_timeout: timeout,
        ..HttpLimits::default()
    }))
    .await;
    let mut slow = TcpStream::connect(addr(&s)).await.expect("connect");
    let head = format!(
        "POST /api/v1/sites/{SITE}/tickets HTTP/1.1\r\nhost: luot\r\n\
         authorization: Bearer {}\r\ncontent-type: application/json\r\n\
         content-length: {}\r\n\r\n{{\"service\"",
        s.first.kiosk_token,
        64 * 1024 * 1024
    );
    slow.write_all(head.as_bytes()).await.expect("write");
    let before = s.db_state();
    let (got, took) = read_until_closed(&mut slow).await;
    assert!(got.starts_with("HTTP/1.1 408"), "{got}");
    let e = body_json(&got);
    assert_eq!(e["code"], "body_timeout", "{got}");
    assert!(
        e["message"].as_str().is_some_and(|m| !m.is_empty()),
        "{got}"
    );
    assert!(
        e["message_en"].as_str().is_some_and(|m| !m.is_empty()),
        "{got}"
    );
    assert!(
        took >= timeout - Duration::from_millis(100),
        "answered after {took:?}"
    );
    assert_eq!(
        s.db_state(),
        before,
        "the half-sent issue changed the database"
    );
    println!("slow clients: a 64 MiB body with 10 bytes sent answered 408 after {took:.1?}");

    // A whole body in time is served as before.
    let r = s.try_issue(&s.first.kiosk_token, "khai-sinh").await;
    assert_eq!(r.status, 201, "{}", r.text);
}

#[tokio::test]
async fn one_address_holds_at_most_its_share_of_connections() {
    const MAX: usize = 3;
    let s = TestServer::start_with_limits(with_http(HttpLimits {
        connections_per_address_max: MAX,
        ..HttpLimits::default()
    }))
    .await;
    let server = addr(&s);
    // MAX connections from 127.0.0.1, each in the middle of its request's headers.
    let mut held = Vec::new();
    for _ in 0..MAX {
        let mut c = TcpStream::connect(server).await.expect("connect");
        c.write_all(b"GET /healthz HTTP/1.1\r\nhost: luot\r\n")
            .await
            .expect("write");
        held.push(c);
    }
    // The next one from the same address is refused at once, with a reason.
    let mut extra = TcpStream::connect(server).await.expect("connect");
    let (got, _) = read_until_closed(&mut extra).await;
    assert!(got.starts_with("HTTP/1.1 503"), "{got}");
    let e = body_json(&got);
    assert_eq!(e["code"], "too_many_connections", "{got}");
    assert!(
        e["message"]
            .as_str()
            .unwrap_or("")
            .contains(&MAX.to_string()),
        "{got}"
    );
    // Another address is served meanwhile.
    let other = healthz_from(server, [127, 0, 0, 2]).await;
    assert!(other.starts_with("HTTP/1.1 200"), "{other}");
    // The held connections were not disturbed: each finishes its request.
    for c in &mut held {
        c.write_all(b"connection: close\r\n\r\n")
            .await
            .expect("write");
        let (got, _) = read_until_closed(c).await;
        assert!(got.starts_with("HTTP/1.1 200"), "{got}");
    }
    drop(held);
    // Their places are free again (the server notices the closes on its own time).
    let t = Instant::now();
    loop {
        let got = healthz_from(server, [127, 0, 0, 1]).await;
        if got.starts_with("HTTP/1.1 200") {
            break;
        }
        assert!(t.elapsed() < GIVE_UP, "still refused after closing: {got}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // A websocket counts while it lives.
    let mut sockets = Vec::new();
    for _ in 0..MAX {
        sockets.push(s.ws("display", luot_tests::Who::Anonymous).await);
    }
    let mut extra = TcpStream::connect(server).await.expect("connect");
    let (got, _) = read_until_closed(&mut extra).await;
    assert!(got.starts_with("HTTP/1.1 503"), "{got}");
}
