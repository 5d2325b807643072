//! An address phones can reach (issue #10, item 1): listening on every interface without a
//! `public_url`, every link and QR code uses this machine's LAN address, never loopback unless
//! that is all there is; `--public-url` overrides it.

use crate::spawned::{Spawned, first_start_secrets};
use luot_tests::{Http, SITE};
use serde_json::json;
use std::net::{IpAddr, UdpSocket};

/// The address this machine's kernel sends from towards the outside world — the default-route
/// interface's — found without the server's code: "connecting" a UDP socket only picks a route
/// and a source address; nothing is sent.
fn default_route_address() -> Option<IpAddr> {
    let s = UdpSocket::bind("0.0.0.0:0").ok()?;
    s.connect("192.0.2.1:9").ok()?;
    let ip = s.local_addr().ok()?.ip();
    (!ip.is_loopback() && !ip.is_unspecified()).then_some(ip)
}

fn host_of(base: &str) -> String {
    let rest = base.strip_prefix("http://").expect("http://");
    rest.rsplit_once(':').expect("host:port").0.to_string()
}

#[tokio::test]
async fn on_every_interface_links_and_the_banner_use_the_lan_address() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let mut s = Spawned::start(&data, &["--listen", "0.0.0.0:0"], &[]).await;
    let (_, kiosk) = first_start_secrets(&mut s).await;
    let host = host_of(&s.base);
    let banner = s.banner.join("\n");
    match default_route_address() {
        Some(ip) => {
            assert_eq!(
                host,
                ip.to_string(),
                "the banner's address is the default-route interface's: {banner}"
            );
            assert!(
                banner.contains(&format!(
                    "Address for phones and devices: {} (địa chỉ LAN",
                    s.base
                )),
                "{banner}"
            );
            assert!(!banner.contains("WARNING"), "{banner}");
        }
        None => {
            // No default route. The server may still find an address of global scope (a hall
            // network without a router), which must then be this machine's own; otherwise it
            // falls back to loopback and says so in both languages.
            let ip: IpAddr = host.parse().expect("an IP address");
            if ip.is_loopback() {
                assert!(
                    banner.contains("CẢNH BÁO: không tìm thấy địa chỉ mạng LAN")
                        && banner.contains("WARNING: no LAN address found"),
                    "{banner}"
                );
            } else {
                assert!(
                    UdpSocket::bind((ip, 0)).is_ok(),
                    "{ip} is not an address of this machine"
                );
            }
        }
    }
    assert!(
        banner.contains(&format!("{}/kiosk?device=", s.base)),
        "device links use the same address: {banner}"
    );
    // The log says it too (a service's standard output may go nowhere).
    let log = s.log_with("address for phones and devices").await;
    let line = log
        .lines()
        .find(|l| l.contains("address for phones and devices"))
        .unwrap();
    assert!(line.contains(&s.base), "{line}");

    // The issue reply's link (what the ticket's QR code says) uses it too, and a phone on the
    // network opens it there.
    let kiosk_http =
        Http::new(&s.local_base()).with_header("authorization", &format!("Bearer {kiosk}"));
    let r = kiosk_http
        .post(
            &format!("/api/v1/sites/{SITE}/tickets"),
            &json!({"service": "khai-sinh"}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let url = r.json()["url"].as_str().expect("a url").to_string();
    assert!(
        url.starts_with(&format!("{}/t/", s.base)),
        "{url} should start with {}/t/",
        s.base
    );
    let phone = Http::new("").get(&url).await;
    assert_eq!(phone.status, 200, "the phone page opens at {url}");
    // The clients draw their QR codes from the setup's public URL.
    let setup = Http::new(&s.local_base())
        .get(&format!("/api/v1/sites/{SITE}/setup"))
        .await;
    assert_eq!(
        setup.json()["public_url"],
        s.base.as_str(),
        "{}",
        setup.text
    );
    s.terminate().await;
}

#[tokio::test]
async fn public_url_overrides_the_detected_address() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let mut s = Spawned::start(
        &data,
        &[
            "--listen",
            "0.0.0.0:0",
            "--public-url",
            "https://luot.example.vn/",
        ],
        &[],
    )
    .await;
    assert_eq!(s.base, "https://luot.example.vn");
    let (_, kiosk) = first_start_secrets(&mut s).await;
    assert!(
        s.banner
            .iter()
            .any(|l| l.contains("https://luot.example.vn/kiosk?device=")),
        "{:#?}",
        s.banner
    );
    let r = Http::new(&s.local_base())
        .with_header("authorization", &format!("Bearer {kiosk}"))
        .post(
            &format!("/api/v1/sites/{SITE}/tickets"),
            &json!({"service": "khai-sinh"}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert!(
        r.json()["url"]
            .as_str()
            .unwrap()
            .starts_with("https://luot.example.vn/t/"),
        "{}",
        r.text
    );
    s.terminate().await;
}

/// A machine with no network (a fresh network namespace: only a loopback interface, and that
/// down) still serves, but the banner and the log warn, in Vietnamese and English, that no
/// phone or device can open the links. Needs `unshare` with user and network namespaces; where
/// the kernel or a container forbids them the case is left to `address::tests` (unit tests of
/// the same decision), and the test says so.
#[tokio::test]
async fn without_a_network_the_banner_warns_that_only_this_machine_can_open_the_links() {
    let probe = std::process::Command::new("unshare")
        .args(["-rn", "true"])
        .status();
    if !probe.is_ok_and(|s| s.success()) {
        eprintln!(
            "unshare -rn is not allowed here: the loopback-only warning is checked by unit tests only"
        );
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let mut s = Spawned::spawn_via(
        &["unshare", "-rn"],
        &[
            "serve",
            "--data",
            data.to_str().unwrap(),
            "--listen",
            "0.0.0.0:0",
            "--start-clock",
            luot_tests::START_RFC3339,
        ],
        &[],
    )
    .await;
    let (_, _) = first_start_secrets(&mut s).await;
    let banner = s.banner.join("\n");
    assert_eq!(host_of(&s.base), "127.0.0.1", "{banner}");
    assert!(
        banner.contains("CẢNH BÁO: không tìm thấy địa chỉ mạng LAN")
            && banner.contains("WARNING: no LAN address found")
            && banner.contains("--public-url"),
        "{banner}"
    );
    assert!(
        !banner.contains("Address for phones and devices"),
        "no address is offered to phones: {banner}"
    );
    s.log_with("no LAN address found: links and QR codes open on this machine only")
        .await;
    s.terminate().await;
}
