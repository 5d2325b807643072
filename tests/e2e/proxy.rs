//! Behind a reverse proxy every request comes from the proxy's address. Login back-off keys on
//! the real client (`X-Forwarded-For`) when, and only when, the peer is a trusted proxy: one
//! person's wrong passwords never lock out the whole center, and a client cannot pick its own
//! address by writing the header itself. The last test runs the documented nginx recipe
//! (`docs/proxy/nginx.conf`) for real, TLS at nginx, in front of the server.

use crate::tls::{display_hello, make_cert};
use luot_server::proxy::TrustedProxies;
use luot_tests::{Http, Resp, Setup, TestServer, within};
use serde_json::json;

/// Wrong passwords for an unknown login, all at once, from `client`: the back-off counts each
/// failure that got past its check, so a burst locks the address for a long while (not the one
/// second after the third failure, which a slow machine could outlive).
async fn lock_out(http: &Http) {
    let attempts = (0..8).map(|i| {
        let http = http.clone();
        async move {
            http.post(
                "/api/v1/login",
                &json!({"login": format!("khong-co-{i}"), "password": "sai-mat-khau-roi"}),
            )
            .await
        }
    });
    let results = futures_util::future::join_all(attempts).await;
    assert!(
        results.iter().all(|r| r.status == 401 || r.status == 429),
        "{results:?}"
    );
    let r = login(http, "khong-co-ai", "sai-mat-khau-roi").await;
    assert_eq!(
        (r.status, r.code().as_str()),
        (429, "login_backoff"),
        "{}",
        r.text
    );
}

async fn login(http: &Http, login: &str, password: &str) -> Resp {
    http.post(
        "/api/v1/login",
        &json!({"login": login, "password": password}),
    )
    .await
}

async fn server_trusting(list: &str) -> TestServer {
    TestServer::start_with(Setup {
        trusted_proxies: TrustedProxies::parse(list).unwrap(),
        ..Setup::default()
    })
    .await
}

#[tokio::test]
async fn behind_a_trusted_proxy_one_client_is_held_off_and_the_next_is_not() {
    // The test's own address, 127.0.0.1, plays the proxy.
    let s = server_trusting("127.0.0.1").await;
    let a = s.http().with_header("x-forwarded-for", "203.0.113.1");
    let b = s.http().with_header("x-forwarded-for", "203.0.113.2");
    lock_out(&a).await;
    let r = login(&b, "admin", &s.first.admin_password).await;
    assert_eq!(
        r.status, 200,
        "the next citizen's official is not locked out: {}",
        r.text
    );
    // A client writing its own X-Forwarded-For left of the proxy's entry gains nothing.
    let a_again = s
        .http()
        .with_header("x-forwarded-for", "198.51.100.9, 203.0.113.1");
    let r = login(&a_again, "admin", &s.first.admin_password).await;
    assert_eq!(
        (r.status, r.code().as_str()),
        (429, "login_backoff"),
        "{}",
        r.text
    );
}

#[tokio::test]
async fn forwarded_for_from_an_untrusted_peer_is_ignored() {
    // 127.0.0.1 is not trusted here: the header is the client's own invention, and both
    // "clients" are the one address they really come from.
    for trusted in ["", "10.0.0.0/8"] {
        let s = server_trusting(trusted).await;
        let a = s.http().with_header("x-forwarded-for", "203.0.113.1");
        let b = s.http().with_header("x-forwarded-for", "203.0.113.2");
        lock_out(&a).await;
        let r = login(&b, "admin", &s.first.admin_password).await;
        assert_eq!(
            (r.status, r.code().as_str()),
            (429, "login_backoff"),
            "trusted {trusted:?}: {}",
            r.text
        );
    }
}

#[tokio::test]
async fn a_bad_trusted_proxies_list_is_refused_naming_the_entry() {
    let out = std::process::Command::new(luot_tests::luot_binary())
        .args(["serve", "--listen", "127.0.0.1:0", "--data"])
        .arg(tempfile::tempdir().unwrap().path())
        .env("LUOT_TRUSTED_PROXIES", "127.0.0.1, 10.0.0.0/8, proxy.lan")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(err.contains("--trusted-proxies"), "{err}");
    assert!(
        err.contains("entry 3 \"proxy.lan\" is not an IP address"),
        "{err}"
    );
    assert!(err.contains("mục 3"), "{err}");
}

/// A free loopback port (for nginx, which binds it itself).
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn nginx_binary() -> Option<std::path::PathBuf> {
    ["/usr/sbin/nginx", "/usr/bin/nginx"]
        .iter()
        .map(std::path::PathBuf::from)
        .find(|p| p.exists())
}

/// nginx in the foreground, one process (`master_process off`: no worker outlives a kill),
/// stopped when dropped.
struct Nginx(std::process::Child);

impl Drop for Nginx {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test]
async fn the_nginx_recipe_serves_https_websockets_and_the_real_client_address() {
    let Some(nginx) = nginx_binary() else {
        // run-tests.sh installs nginx, so CI always runs this test.
        eprintln!("SKIPPED: nginx is not installed (apt-get install nginx-light)");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let cert = make_cert(dir.path(), "proxy");
    // Luot as the recipe runs it: plain HTTP on loopback, trusting the proxy on the same
    // machine, cookies Secure because people reach it over HTTPS.
    let s = TestServer::start_with(Setup {
        trusted_proxies: TrustedProxies::parse("127.0.0.1").unwrap(),
        secure_cookies: true,
        ..Setup::default()
    })
    .await;
    let upstream = s.base.trim_start_matches("http://").to_string();
    let port = free_port();
    let recipe = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/proxy/nginx.conf"),
    )
    .expect("docs/proxy/nginx.conf");
    // The documented values, replaced by this test's.
    let mut site = recipe.clone();
    for (from, to) in [
        ("listen 443 ssl;", format!("listen 127.0.0.1:{port} ssl;")),
        ("listen [::]:443 ssl;", String::new()),
        (
            "/etc/ssl/luot/fullchain.pem",
            cert.cert.display().to_string(),
        ),
        ("/etc/ssl/luot/privkey.pem", cert.key.display().to_string()),
        ("127.0.0.1:8080", upstream.clone()),
    ] {
        assert!(site.contains(from), "the recipe no longer has {from:?}");
        site = site.replace(from, &to);
    }
    let d = dir.path().display();
    let conf = format!(
        "daemon off;\nmaster_process off;\npid {d}/nginx.pid;\nerror_log {d}/error.log;\n\
         events {{ worker_connections 64; }}\n\
         http {{\n  access_log off;\n  client_body_temp_path {d}/body;\n  proxy_temp_path {d}/proxy;\n\
         fastcgi_temp_path {d}/fastcgi;\n  uwsgi_temp_path {d}/uwsgi;\n  scgi_temp_path {d}/scgi;\n{site}\n}}\n"
    );
    let conf_path = dir.path().join("nginx.conf");
    std::fs::write(&conf_path, conf).unwrap();
    let _nginx = Nginx(
        std::process::Command::new(&nginx)
            .arg("-c")
            .arg(&conf_path)
            .arg("-e")
            .arg(dir.path().join("error.log"))
            .stdin(std::process::Stdio::null())
            .spawn()
            .expect("start nginx"),
    );
    let base = format!("https://127.0.0.1:{port}");
    // Wait until nginx answers.
    within("nginx to listen", async {
        while tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_err()
        {
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
    })
    .await;

    // Two people at two machines behind the proxy (two loopback addresses).
    let client_at = |ip: [u8; 4]| {
        let c = reqwest::Client::builder()
            .add_root_certificate(reqwest::Certificate::from_pem(cert.cert_pem.as_bytes()).unwrap())
            .local_address(std::net::IpAddr::from(ip))
            .cookie_store(true)
            .build()
            .unwrap();
        Http::from_client(c, &base)
    };
    let a = client_at([127, 0, 0, 2]);
    let b = client_at([127, 0, 0, 3]);
    let r = a.get("/healthz").await;
    assert_eq!(r.status, 200, "through nginx: {}", r.text);

    // The page's own origin, as a browser sends it, passes the origin check through the proxy.
    let r = b
        .clone()
        .with_header("origin", &base)
        .post(
            "/api/v1/login",
            &json!({"login": "admin", "password": "sai-mat-khau-roi"}),
        )
        .await;
    assert_eq!(
        (r.status, r.code().as_str()),
        (401, "login_failed"),
        "{}",
        r.text
    );

    // One person is held off; the other logs in; the cookie is Secure.
    lock_out(&a).await;
    let r = login(&b, "admin", &s.first.admin_password).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let cookie = r.header("set-cookie").expect("a session cookie");
    assert!(cookie.contains("; Secure"), "{cookie}");
    assert_eq!(b.get("/api/v1/me").await.json()["login"], "admin");

    // A display's websocket through the proxy.
    let mut ws = cert.wss(&format!("wss://127.0.0.1:{port}/ws")).await;
    let welcome = display_hello(&mut ws, &s.first.display_token).await;
    assert_eq!(welcome["type"], "welcome", "{welcome}");
    assert_eq!(welcome["authenticated"], true, "{welcome}");
}
