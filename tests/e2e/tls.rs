//! HTTPS and WSS served by the server itself (`--tls-cert`, `--tls-key`), with a certificate the
//! test makes: pages and the API over HTTPS, a websocket over TLS gets `welcome`, session
//! cookies are `Secure`, links say https; and every bad certificate or key is refused before the
//! server starts, with an error that names the file.

use luot_tests::{Http, SITE, Setup, TestServer, within};
use serde_json::json;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// A self-signed certificate for `127.0.0.1` and `localhost`, written as PEM files in `dir`.
pub struct TestCert {
    pub cert: PathBuf,
    pub key: PathBuf,
    pub cert_pem: String,
}

pub fn make_cert(dir: &Path, name: &str) -> TestCert {
    let made = rcgen::generate_simple_self_signed(vec!["127.0.0.1".into(), "localhost".into()])
        .expect("rcgen makes a certificate");
    let cert_pem = made.cert.pem();
    let cert = dir.join(format!("{name}.crt"));
    let key = dir.join(format!("{name}.key"));
    std::fs::write(&cert, &cert_pem).unwrap();
    std::fs::write(&key, made.signing_key.serialize_pem()).unwrap();
    TestCert {
        cert,
        key,
        cert_pem,
    }
}

impl TestCert {
    pub fn files(&self) -> luot_server::tls::TlsFiles {
        luot_server::tls::TlsFiles {
            cert: self.cert.clone(),
            key: self.key.clone(),
        }
    }

    /// An HTTP client that trusts this certificate (and nothing else), with a cookie store.
    pub fn client(&self) -> reqwest::Client {
        reqwest::Client::builder()
            .add_root_certificate(
                reqwest::Certificate::from_pem(self.cert_pem.as_bytes()).expect("PEM"),
            )
            .cookie_store(true)
            .build()
            .expect("https client")
    }

    /// Opens a websocket over TLS to `url` (`wss://…`), trusting this certificate.
    pub async fn wss(
        &self,
        url: &str,
    ) -> tokio_tungstenite::WebSocketStream<tokio_rustls::client::TlsStream<tokio::net::TcpStream>>
    {
        use rustls::pki_types::pem::PemObject;
        let mut roots = rustls::RootCertStore::empty();
        for c in rustls::pki_types::CertificateDer::pem_slice_iter(self.cert_pem.as_bytes()) {
            roots.add(c.expect("PEM")).expect("a root");
        }
        let config = rustls::ClientConfig::builder_with_provider(Arc::new(
            luot_server::tls::crypto_provider(),
        ))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
        let u = reqwest::Url::parse(url).expect("a URL");
        let host = u.host_str().expect("host").to_string();
        let port = u.port().expect("port");
        let tcp = within(
            "the TCP connection",
            tokio::net::TcpStream::connect((host.as_str(), port)),
        )
        .await
        .expect("connect");
        let name = rustls::pki_types::ServerName::try_from(host).expect("server name");
        let tls = within(
            "the TLS handshake",
            tokio_rustls::TlsConnector::from(Arc::new(config)).connect(name, tcp),
        )
        .await
        .expect("TLS handshake");
        let (ws, _) = within(
            "the websocket upgrade",
            tokio_tungstenite::client_async(url, tls),
        )
        .await
        .expect("websocket upgrade over TLS");
        ws
    }
}

/// Says hello as the hall display and returns the first message (the welcome).
pub async fn display_hello<S>(
    ws: &mut tokio_tungstenite::WebSocketStream<S>,
    token: &str,
) -> serde_json::Value
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    use futures_util::{SinkExt, StreamExt};
    use tokio_tungstenite::tungstenite::Message;
    let hello = json!({"type": "hello", "role": "display", "device_token": token});
    ws.send(Message::text(hello.to_string()))
        .await
        .expect("send hello");
    loop {
        match within("the welcome", ws.next()).await {
            Some(Ok(Message::Text(t))) => return serde_json::from_str(&t).expect("JSON"),
            Some(Ok(_)) => {}
            other => panic!("socket ended before the welcome: {other:?}"),
        }
    }
}

#[tokio::test]
async fn https_and_wss_with_secure_cookies() {
    let certs = tempfile::tempdir().unwrap();
    let cert = make_cert(certs.path(), "server");
    let s = TestServer::start_with(Setup {
        tls: Some(cert.files()),
        ..Setup::default()
    })
    .await;
    assert!(s.base.starts_with("https://127.0.0.1:"), "{}", s.base);

    // The API and the pages over HTTPS.
    let http = Http::from_client(cert.client(), &s.base);
    let r = http.get("/healthz").await;
    assert_eq!(r.status, 200, "{}", r.text);
    let r = http.get("/kiosk").await;
    assert_eq!(r.status, 200);
    assert!(r.text.contains("<html"), "the kiosk page");

    // Plain HTTP on the TLS port gets no page.
    let port = s.base.rsplit(':').next().unwrap();
    let plain = reqwest::get(format!("http://127.0.0.1:{port}/healthz")).await;
    assert!(
        plain
            .as_ref()
            .map(|r| !r.status().is_success())
            .unwrap_or(true),
        "plain HTTP was served on the TLS port: {plain:?}"
    );

    // The session cookie is Secure (TLS implies it), still HttpOnly and SameSite=Strict.
    let r = http
        .post(
            "/api/v1/login",
            &json!({"login": "admin", "password": s.first.admin_password}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let cookie = r.header("set-cookie").expect("a session cookie");
    assert!(cookie.starts_with("luot_session="), "{cookie}");
    for part in ["; Secure", "; HttpOnly", "; SameSite=Strict"] {
        assert!(cookie.contains(part), "{part} missing: {cookie}");
    }
    // The cookie works over HTTPS.
    let me = http.get("/api/v1/me").await;
    assert_eq!(me.status, 200, "{}", me.text);
    assert_eq!(me.json()["login"], "admin", "{}", me.text);

    // A ticket's link, printed and in its QR code, is https.
    let kiosk = Http::from_client(cert.client(), &s.base)
        .with_header("authorization", &format!("Bearer {}", s.first.kiosk_token));
    let r = kiosk
        .post(
            &format!("/api/v1/sites/{SITE}/tickets"),
            &json!({"service": "khai-sinh"}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let url = r.json()["url"].as_str().unwrap().to_string();
    assert!(url.starts_with(&format!("{}/t/", s.base)), "{url}");

    // A display over WSS is welcomed.
    let mut ws = cert
        .wss(&format!("{}/ws", s.base.replacen("https://", "wss://", 1)))
        .await;
    let welcome = display_hello(&mut ws, &s.first.display_token).await;
    assert_eq!(welcome["type"], "welcome", "{welcome}");
    assert_eq!(welcome["authenticated"], true, "{welcome}");
    assert_eq!(welcome["role"], "display", "{welcome}");
}

/// Starts the server in-process with these TLS files; the error it refuses with.
async fn start_error(data: &Path, cert: &Path, key: &Path) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let toml = luot_proto::config::DEFAULT_CONFIG_TOML;
    let r = luot_server::start(
        listener,
        luot_server::Options {
            data_dir: data.to_path_buf(),
            center: luot_proto::config::parse_config(toml, "default.toml").unwrap(),
            config_toml: toml.to_string(),
            assets_dir: None,
            limits: Default::default(),
            clock: Arc::new(luot_server::clock::SystemClock),
            secure_cookies: false,
            tls: Some(luot_server::tls::TlsFiles {
                cert: cert.to_path_buf(),
                key: key.to_path_buf(),
            }),
            trusted_proxies: Default::default(),
            public_url: None,
        },
    )
    .await;
    match r {
        Ok(_) => panic!(
            "the server started with {} and {}",
            cert.display(),
            key.display()
        ),
        Err(e) => format!("{e:#}"),
    }
}

#[tokio::test]
async fn bad_certificates_and_keys_are_refused_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let good = make_cert(dir.path(), "good");
    let other = make_cert(dir.path(), "other");
    let missing = dir.path().join("missing.pem");
    let garbage = dir.path().join("garbage.pem");
    std::fs::write(&garbage, "not a certificate\n").unwrap();
    let data = dir.path().join("data");
    let show = |p: &Path| p.display().to_string();

    let cases: Vec<(&Path, &Path, String)> = vec![
        (
            &missing,
            &good.key,
            format!("cannot read the TLS certificate {}", show(&missing)),
        ),
        (
            &garbage,
            &good.key,
            format!("{} holds no PEM certificate", show(&garbage)),
        ),
        (
            &good.cert,
            &missing,
            format!("cannot read the TLS private key {}", show(&missing)),
        ),
        // A certificate where the key should be.
        (
            &good.cert,
            &good.cert,
            format!("{} ", show(&good.cert)) + "không có khóa riêng PEM",
        ),
        (
            &good.cert,
            &other.key,
            format!(
                "the private key {} does not match the certificate {}",
                show(&other.key),
                show(&good.cert)
            ),
        ),
    ];
    for (cert, key, want) in cases {
        let e = start_error(&data, cert, key).await;
        assert!(e.contains(&want), "expected {want:?} in: {e}");
        // Vietnamese first, English beside.
        assert!(e.contains(" · "), "a bilingual error: {e}");
        // Refused before anything was written.
        assert!(
            !data.join("luot.db").exists(),
            "a database was created for: {e}"
        );
    }
    // A key file too large to be a key is not read whole.
    let big = dir.path().join("big.pem");
    std::fs::write(
        &big,
        vec![b'x'; luot_server::tls::PEM_FILE_BYTES_MAX as usize + 1],
    )
    .unwrap();
    let e = start_error(&data, &good.cert, &big).await;
    assert!(e.contains("is too large"), "{e}");
    let exact = dir.path().join("exact.pem");
    std::fs::write(
        &exact,
        vec![b'x'; luot_server::tls::PEM_FILE_BYTES_MAX as usize],
    )
    .unwrap();
    let e = start_error(&data, &good.cert, &exact).await;
    assert!(
        !e.contains("too large") && e.contains("không có khóa riêng PEM"),
        "{e}"
    );
}

/// `luot serve` itself: options from the environment, the https banner, and the refusals on
/// the command line.
#[tokio::test]
async fn serve_over_tls_from_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let cert = make_cert(dir.path(), "server");
    let cert_arg = cert.cert.display().to_string();
    let key_arg = cert.key.display().to_string();
    let p = luot_tests::ServeProcess::start(
        &dir.path().join("data"),
        &dir.path().join("serve.log"),
        luot_tests::START_MS,
        &["--tls-cert", &cert_arg, "--tls-key", &key_arg],
    )
    .await;
    assert!(
        p.base.starts_with("https://127.0.0.1:"),
        "banner: {}",
        p.base
    );
    let r = Http::from_client(cert.client(), &p.base)
        .get("/healthz")
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    // Plain HTTP on the HTTPS port, and a client that does not trust the certificate: refused,
    // and only the client's problem, so nothing at error level in the operator's log.
    let port = p.base.rsplit(':').next().unwrap().to_string();
    assert!(
        reqwest::get(format!("http://127.0.0.1:{port}/healthz"))
            .await
            .map(|r| !r.status().is_success())
            .unwrap_or(true)
    );
    assert!(reqwest::get(format!("{}/healthz", p.base)).await.is_err());
    let r = Http::from_client(cert.client(), &p.base)
        .get("/healthz")
        .await;
    assert_eq!(r.status, 200, "still serving: {}", r.text);
    p.terminate().await;
    let log = std::fs::read_to_string(dir.path().join("serve.log")).unwrap();
    assert!(!log.contains("ERROR"), "{log}");

    // From the environment, a missing key file is named and nothing starts.
    let missing = dir.path().join("nowhere.key");
    let out = std::process::Command::new(luot_tests::luot_binary())
        .args(["serve", "--listen", "127.0.0.1:0", "--data"])
        .arg(dir.path().join("data2"))
        .env("LUOT_TLS_CERT", &cert.cert)
        .env("LUOT_TLS_KEY", &missing)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        err.contains(&format!(
            "cannot read the TLS private key {}",
            missing.display()
        )),
        "{err}"
    );
    assert!(!dir.path().join("data2").join("luot.db").exists());

    // A certificate without a key is refused by the command line.
    let out = std::process::Command::new(luot_tests::luot_binary())
        .args(["serve", "--listen", "127.0.0.1:0", "--tls-cert", &cert_arg])
        .env_remove("LUOT_TLS_KEY")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(err.contains("--tls-key"), "{err}");
}
