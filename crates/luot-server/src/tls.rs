//! HTTPS and WSS with rustls: the certificate chain and private key from PEM files, checked
//! before the server starts, each problem named with its file in Vietnamese and English.

use anyhow::Context;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

/// A client that opens a connection and never finishes the TLS handshake is dropped after this
/// long, so idle half-open connections do not pile up. Handshakes run side by side (a slow one
/// does not hold up the next connection); how many are in progress at once is bounded only by
/// this timeout and the process's open-file limit, as for plain HTTP connections.
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// Largest certificate or key file read: a chain of a few certificates is a few KiB.
pub const PEM_FILE_BYTES_MAX: u64 = 1 << 20;

/// Where the certificate chain and its private key are (PEM).
#[derive(Clone, Debug)]
pub struct TlsFiles {
    /// The server's certificate first, then the intermediates (as `fullchain.pem`).
    pub cert: PathBuf,
    pub key: PathBuf,
}

fn read_pem(path: &Path, what_vi: &str, what_en: &str) -> anyhow::Result<Vec<u8>> {
    let fail = || {
        format!(
            "không đọc được {what_vi} {p} · cannot read the {what_en} {p}",
            p = path.display()
        )
    };
    let len = std::fs::metadata(path).with_context(fail)?.len();
    if len > PEM_FILE_BYTES_MAX {
        anyhow::bail!(
            "{what_vi} {p} quá lớn ({len} byte, tối đa {PEM_FILE_BYTES_MAX}) · the {what_en} {p} is too large ({len} bytes, at most {PEM_FILE_BYTES_MAX})",
            p = path.display()
        );
    }
    std::fs::read(path).with_context(fail)
}

/// Reads and checks the files: at least one certificate, one private key, and the key must be
/// the certificate's.
pub fn server_config(files: &TlsFiles) -> anyhow::Result<Arc<rustls::ServerConfig>> {
    let cert_pem = read_pem(&files.cert, "chứng chỉ TLS", "TLS certificate")?;
    let certs = CertificateDer::pem_slice_iter(&cert_pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| {
            anyhow::anyhow!(
                "chứng chỉ TLS {p} hỏng: {e} · the TLS certificate {p} is damaged: {e}",
                p = files.cert.display()
            )
        })?;
    if certs.is_empty() {
        anyhow::bail!(
            "{p} không chứa chứng chỉ PEM nào (-----BEGIN CERTIFICATE-----) · {p} holds no PEM certificate (-----BEGIN CERTIFICATE-----)",
            p = files.cert.display()
        );
    }
    let key_pem = read_pem(&files.key, "khóa riêng TLS", "TLS private key")?;
    let key = PrivateKeyDer::from_pem_slice(&key_pem).map_err(|e| {
        let why = match e {
            rustls::pki_types::pem::Error::NoItemsFound => {
                "không có khóa riêng PEM (-----BEGIN PRIVATE KEY-----) · holds no PEM private key (-----BEGIN PRIVATE KEY-----)".to_string()
            }
            e => format!("hỏng · is damaged: {e}"),
        };
        anyhow::anyhow!("{} {why}", files.key.display())
    })?;
    let provider = Arc::new(crypto_provider());
    let signing_key = provider.key_provider.load_private_key(key.clone_key()).map_err(|e| {
        anyhow::anyhow!(
            "khóa riêng TLS {p} không dùng được: {e} · the TLS private key {p} cannot be used: {e}",
            p = files.key.display()
        )
    })?;
    let certified = rustls::sign::CertifiedKey::new(certs.clone(), signing_key);
    match certified.keys_match() {
        Ok(()) => {}
        Err(rustls::Error::InconsistentKeys(_)) => anyhow::bail!(
            "khóa riêng {k} không khớp với chứng chỉ {c} · the private key {k} does not match the certificate {c}",
            k = files.key.display(),
            c = files.cert.display()
        ),
        Err(e) => anyhow::bail!(
            "không kiểm được chứng chỉ {c} với khóa {k}: {e} · cannot check the certificate {c} against the key {k}: {e}",
            k = files.key.display(),
            c = files.cert.display()
        ),
    }
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .context("rustls protocol versions")?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .with_context(|| {
            format!(
                "chứng chỉ {c} hoặc khóa {k} không dùng được · the certificate {c} or the key {k} cannot be used",
                k = files.key.display(),
                c = files.cert.display()
            )
        })?;
    // Websockets are HTTP/1.1 upgrades; offer exactly what the server speaks.
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

/// The *ring* provider: it builds with a C compiler alone (aws-lc-rs wants more tools and
/// minutes on the two-core build machines). rustls 0.23.48 marks it deprecated because it has
/// no post-quantum key exchange; a center's LAN traffic does not need that yet.
#[allow(deprecated)]
pub fn crypto_provider() -> rustls::crypto::CryptoProvider {
    rustls::crypto::ring::default_provider()
}
