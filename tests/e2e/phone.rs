//! The phone page: the QR on the ticket opens a live view of that one ticket, and nothing else.

use luot_tests::{TestServer, Who};
use serde_json::json;

#[tokio::test]
async fn a_phone_follows_its_ticket_until_it_is_called() {
    let s = TestServer::start().await;
    let kiosk = &s.first.kiosk_token;
    s.issue(kiosk, "khai-sinh").await;
    s.issue(kiosk, "khai-sinh").await;
    let mine = s.issue(kiosk, "khai-sinh").await;
    let token = mine["token"].as_str().unwrap();

    // The page the QR code opens.
    let page = s.http().get(&format!("/t/{token}")).await;
    assert_eq!(page.status, 200);
    assert!(page.text.contains("<html") || page.text.contains("<!doctype"));

    let r = s.http().get(&format!("/api/v1/tickets/{token}")).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let v = r.json();
    assert_eq!(v["site"], "sa-huynh");
    assert_eq!(v["ticket"]["number"], "A003");
    assert_eq!(v["ticket"]["state"], "waiting");
    assert_eq!(v["ticket"]["estimate"]["ahead"], 2, "two people ahead: {v}");
    assert!(!r.text.contains(token), "the view does not echo the secret");

    let mut phone = s.ws("phone", Who::Ticket(token)).await;
    assert_eq!(phone.welcome["authenticated"], true);
    let t = phone.recv().await;
    assert_eq!(t["type"], "ticket", "{t}");
    assert_eq!(t["ticket"]["number"], "A003");
    assert_eq!(t["ticket"]["estimate"]["ahead"], 2);

    // Counter 1 opens and calls A003 by number.
    let admin = s.admin().await;
    let o = s.add_official(&admin, "can-bo-1", &["quay-1"]).await;
    let mut counter = s.ws("counter", Who::Session(&o.session)).await;
    counter
        .ok(json!({"type": "open_counter", "counter": "quay-1"}))
        .await;
    let called = counter
        .ok(json!({"type": "call_ticket", "counter": "quay-1", "number": "A003"}))
        .await;
    assert_eq!(called["ticket"]["reason"], "requested");

    // The phone hears the hall's events and then its own ticket, now called at counter 1.
    let mut events = Vec::new();
    let update = loop {
        let m = phone.recv().await;
        match m["type"].as_str().unwrap() {
            "event" => events.push(m),
            "ticket" => break m,
            other => panic!("unexpected {other}: {m}"),
        }
    };
    let kinds: Vec<&str> = events
        .iter()
        .map(|e| e["event"]["type"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["counter_opened", "ticket_called"]);
    assert_eq!(update["ticket"]["number"], "A003");
    assert_eq!(update["ticket"]["state"], "called");
    assert_eq!(update["ticket"]["counter"], "quay-1");
    assert_eq!(update["seq"], called["seq"]);

    let v = s
        .http()
        .get(&format!("/api/v1/tickets/{token}"))
        .await
        .json();
    assert_eq!(v["ticket"]["state"], "called");
    assert_eq!(v["counter_number"], 1);
}

#[tokio::test]
async fn the_qr_code_is_an_svg_and_unknown_tickets_are_not_found() {
    let s = TestServer::start().await;
    let t = s.issue(&s.first.kiosk_token, "khai-sinh").await;
    let token = t["token"].as_str().unwrap();

    let r = s
        .http()
        .get(&format!("/api/v1/tickets/{token}/qr.svg"))
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-type").as_deref(), Some("image/svg+xml"));
    assert!(
        r.text.contains("<svg") && r.text.trim_end().ends_with("</svg>"),
        "{}",
        r.text
    );
    // Drawn and decoded, it leads to the ticket's own page at the server's address.
    let url = decode_svg_qr(&r.text);
    assert_eq!(url, format!("{}/t/{token}", s.base));
    assert_eq!(
        url,
        t["url"].as_str().unwrap(),
        "the same link as the issue result"
    );

    // A token nobody was given, and things that are not tokens at all.
    let unknown = "0123456789abcdef".repeat(2);
    for bad in [unknown.as_str(), "A001", "..%2F..%2Fetc", "zz"] {
        let r = s.http().get(&format!("/api/v1/tickets/{bad}")).await;
        assert_eq!(r.status, 404, "{bad}: {}", r.text);
        assert_eq!(r.code(), "ticket_unknown", "{bad}");
        let r = s.http().get(&format!("/api/v1/tickets/{bad}/qr.svg")).await;
        assert_eq!(r.status, 404, "a QR code for the unknown ticket {bad}");
    }
    let refused = s
        .ws_hello("phone", Who::Ticket(&unknown), None)
        .await
        .expect_err("an unknown ticket token must not be welcomed");
    assert_eq!(refused.code(), "ticket_unknown");
    assert_eq!(refused.close, Some(1008));
}

/// Draws the server's QR SVG (qrcode's renderer: a white `rect`, then one `path` of dark
/// rectangles `M{left} {top}h{width}v{height}H{left}V{top}`) at one pixel per module and
/// decodes it with `rqrr`. Shown to fail: with a `/` appended to the URL the server encodes,
/// the decoded link differs from the ticket's (`…/t/{token}/` against `…/t/{token}`).
fn decode_svg_qr(svg: &str) -> String {
    let attr = |name: &str| -> usize {
        let at = svg.find(&format!(" {name}=\"")).expect(name) + name.len() + 3;
        svg[at..].split('"').next().unwrap().parse().expect(name)
    };
    let (w, h) = (attr("width"), attr("height"));
    let d_at = svg.find(" d=\"").expect("a path") + 4;
    let d = svg[d_at..].split('"').next().unwrap();
    let mut dark = vec![false; w * h];
    let mut rects = 0;
    for seg in d.split('M').filter(|s| !s.is_empty()) {
        let nums: Vec<usize> = seg
            .split(|c: char| !c.is_ascii_digit())
            .filter(|n| !n.is_empty())
            .map(|n| n.parse().unwrap())
            .collect();
        let [left, top, width, height, ..] = nums[..] else {
            panic!("a rectangle: {seg}")
        };
        for y in top..top + height {
            for x in left..left + width {
                dark[y * w + x] = true;
            }
        }
        rects += 1;
    }
    assert!(rects > 50, "a QR code draws many modules, got {rects}");
    let mut img =
        rqrr::PreparedImage::prepare_from_greyscale(
            w,
            h,
            |x, y| if dark[y * w + x] { 0 } else { 255 },
        );
    let grids = img.detect_grids();
    assert_eq!(grids.len(), 1, "one QR code in the SVG");
    grids[0].decode().expect("the QR code decodes").1
}
