//! The client's real address behind a reverse proxy. Login back-off and rate limits key on the
//! address of whoever is asking; behind nginx or Caddy every request arrives from the proxy, and
//! keying on it would lock out a whole center after one person's typos. So `X-Forwarded-For` is
//! read, but only when the peer is a proxy the operator named (`--trusted-proxies`): anyone else
//! could write any address there and escape every limit.

use crate::App;
use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::HeaderMap;
use axum::http::request::Parts;
use ipnet::IpNet;
use std::convert::Infallible;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

/// Addresses looked at in `X-Forwarded-For`, from the right. Each trusted proxy adds one; no
/// real chain is longer than a few, and a longer one is something a client wrote.
pub const FORWARDED_HOPS_MAX: usize = 16;
/// Entries in `--trusted-proxies`: a center has one or two proxies, perhaps a subnet.
pub const TRUSTED_PROXIES_MAX: usize = 64;

/// The proxies whose `X-Forwarded-For` is believed: addresses and networks (CIDR).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TrustedProxies(Vec<IpNet>);

impl TrustedProxies {
    /// Parses a comma-separated list such as `127.0.0.1, 10.0.0.0/8, ::1`. An empty list trusts
    /// no one. The error names the entry and its position, in Vietnamese and English.
    pub fn parse(list: &str) -> Result<TrustedProxies, String> {
        let mut nets = Vec::new();
        for (i, entry) in list.split(',').map(str::trim).enumerate() {
            if entry.is_empty() {
                continue;
            }
            let net = entry
                .parse::<IpNet>()
                .or_else(|_| entry.parse::<IpAddr>().map(IpNet::from))
                .map_err(|_| {
                    format!(
                        "mục {n} \"{entry}\" không phải địa chỉ IP hay mạng CIDR (ví dụ 10.0.0.1 hoặc 10.0.0.0/8) · \
                         entry {n} \"{entry}\" is not an IP address or CIDR network (e.g. 10.0.0.1 or 10.0.0.0/8)",
                        n = i + 1
                    )
                })?;
            nets.push(net.trunc());
        }
        if nets.len() > TRUSTED_PROXIES_MAX {
            return Err(format!(
                "quá nhiều proxy tin cậy: {} (tối đa {TRUSTED_PROXIES_MAX}) · too many trusted proxies: {} (at most {TRUSTED_PROXIES_MAX})",
                nets.len(),
                nets.len()
            ));
        }
        Ok(TrustedProxies(nets))
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn trusts(&self, ip: IpAddr) -> bool {
        let ip = canonical(ip);
        self.0.iter().any(|n| n.contains(&ip))
    }
}

impl std::str::FromStr for TrustedProxies {
    type Err = String;
    fn from_str(s: &str) -> Result<TrustedProxies, String> {
        TrustedProxies::parse(s)
    }
}

impl std::fmt::Display for TrustedProxies {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let list: Vec<String> = self.0.iter().map(|n| n.to_string()).collect();
        f.write_str(&list.join(","))
    }
}

/// An IPv4 client on a dual-stack socket arrives as `::ffff:a.b.c.d`: key it as `a.b.c.d`.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6
            .to_ipv4_mapped()
            .map(IpAddr::V4)
            .unwrap_or(IpAddr::V6(v6)),
        v4 => v4,
    }
}

/// One `X-Forwarded-For` entry: an address, perhaps with a port (`1.2.3.4:5`, `[::1]:5`).
fn parse_hop(s: &str) -> Option<IpAddr> {
    let s = s.trim();
    s.parse::<IpAddr>()
        .ok()
        .or_else(|| s.parse::<SocketAddr>().ok().map(|a| a.ip()))
        .map(canonical)
}

/// The address to key limits on. From an untrusted peer: the peer. From a trusted proxy: the
/// right-most `X-Forwarded-For` address that is not itself a trusted proxy (entries further left
/// were written by the client and prove nothing). When every address looked at is trusted, or
/// one is not an address, the last trusted hop is the client as far as anyone can tell.
pub fn client_ip(peer: IpAddr, headers: &HeaderMap, trusted: &TrustedProxies) -> IpAddr {
    let mut client = canonical(peer);
    if !trusted.trusts(client) {
        return client;
    }
    // Several header lines are one list, in order.
    let hops: Vec<&str> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .collect();
    for hop in hops.iter().rev().take(FORWARDED_HOPS_MAX) {
        match parse_hop(hop) {
            Some(ip) => {
                client = ip;
                if !trusted.trusts(ip) {
                    return ip;
                }
            }
            None => {
                tracing::debug!(hop, "X-Forwarded-For entry is not an address");
                return client;
            }
        }
    }
    client
}

/// Extractor: the client's address, as [`client_ip`] finds it.
#[derive(Clone, Copy, Debug)]
pub struct ClientIp(pub IpAddr);

impl FromRequestParts<Arc<App>> for ClientIp {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, app: &Arc<App>) -> Result<ClientIp, Infallible> {
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|c| c.0.ip())
            .unwrap_or(IpAddr::from([0, 0, 0, 0]));
        Ok(ClientIp(client_ip(
            peer,
            &parts.headers,
            &app.trusted_proxies,
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn xff(values: &[&str]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for v in values {
            h.append("x-forwarded-for", v.parse().unwrap());
        }
        h
    }

    #[test]
    fn parses_addresses_and_networks_and_names_a_bad_entry() {
        let t = TrustedProxies::parse(" 127.0.0.1, 10.0.0.0/8 ,::1,").unwrap();
        assert!(t.trusts(ip("127.0.0.1")));
        assert!(t.trusts(ip("10.200.3.4")));
        assert!(t.trusts(ip("::1")));
        assert!(t.trusts(ip("::ffff:10.1.1.1")));
        assert!(!t.trusts(ip("11.0.0.1")));
        assert_eq!(t.to_string(), "127.0.0.1/32,10.0.0.0/8,::1/128");
        assert!(TrustedProxies::parse("").unwrap().is_empty());
        let e = TrustedProxies::parse("10.0.0.1, proxy.lan").unwrap_err();
        assert!(e.contains("entry 2 \"proxy.lan\""), "{e}");
        assert!(e.contains("mục 2"), "{e}");
        let e = TrustedProxies::parse("10.0.0.0/33").unwrap_err();
        assert!(e.contains("10.0.0.0/33"), "{e}");
    }

    #[test]
    fn trusted_proxies_are_limited() {
        let list = |n: usize| {
            (0..n)
                .map(|i| format!("10.0.{}.{}", i / 250, i % 250 + 1))
                .collect::<Vec<_>>()
                .join(",")
        };
        assert!(TrustedProxies::parse(&list(TRUSTED_PROXIES_MAX)).is_ok());
        let e = TrustedProxies::parse(&list(TRUSTED_PROXIES_MAX + 1)).unwrap_err();
        assert!(e.contains("too many trusted proxies: 65"), "{e}");
    }

    #[test]
    fn forwarded_for_only_from_a_trusted_peer() {
        let t = TrustedProxies::parse("127.0.0.1").unwrap();
        let h = xff(&["203.0.113.9"]);
        assert_eq!(client_ip(ip("127.0.0.1"), &h, &t), ip("203.0.113.9"));
        // An untrusted peer's header is its own invention.
        assert_eq!(client_ip(ip("198.51.100.7"), &h, &t), ip("198.51.100.7"));
        // No header from the proxy: the proxy is all we know.
        assert_eq!(client_ip(ip("127.0.0.1"), &xff(&[]), &t), ip("127.0.0.1"));
        // Nobody trusted: the header is ignored.
        let none = TrustedProxies::default();
        assert_eq!(client_ip(ip("127.0.0.1"), &h, &none), ip("127.0.0.1"));
    }

    #[test]
    fn takes_the_right_most_untrusted_address() {
        let t = TrustedProxies::parse("127.0.0.1, 10.0.0.0/8").unwrap();
        // The client wrote "1.1.1.1" itself; the proxy appended what it saw.
        let h = xff(&["1.1.1.1, 203.0.113.9"]);
        assert_eq!(client_ip(ip("127.0.0.1"), &h, &t), ip("203.0.113.9"));
        // Two proxies: the inner one's address is skipped; lines join into one list.
        let h = xff(&["1.1.1.1", "203.0.113.9, 10.0.0.2"]);
        assert_eq!(client_ip(ip("127.0.0.1"), &h, &t), ip("203.0.113.9"));
        // Ports and mapped addresses.
        let h = xff(&["[2001:db8::1]:443"]);
        assert_eq!(client_ip(ip("::ffff:127.0.0.1"), &h, &t), ip("2001:db8::1"));
        let h = xff(&["203.0.113.9:5000"]);
        assert_eq!(client_ip(ip("127.0.0.1"), &h, &t), ip("203.0.113.9"));
        // Garbage right of any address: stop at the last trusted hop.
        let h = xff(&["203.0.113.9, not-an-address"]);
        assert_eq!(client_ip(ip("127.0.0.1"), &h, &t), ip("127.0.0.1"));
    }

    #[test]
    fn looks_at_most_at_the_hop_limit() {
        let t = TrustedProxies::parse("10.0.0.0/8").unwrap();
        let chain = |trusted_hops: usize| {
            let mut v = vec!["203.0.113.9".to_string()];
            v.extend((0..trusted_hops).map(|i| format!("10.0.0.{}", i + 1)));
            xff(&[&v.join(", ")])
        };
        // The client's address is the (FORWARDED_HOPS_MAX)th from the right: found.
        let h = chain(FORWARDED_HOPS_MAX - 1);
        assert_eq!(client_ip(ip("10.9.9.9"), &h, &t), ip("203.0.113.9"));
        // One further: not looked at; the left-most hop looked at stands for the client.
        let h = chain(FORWARDED_HOPS_MAX);
        assert_eq!(client_ip(ip("10.9.9.9"), &h, &t), ip("10.0.0.1"));
    }
}
