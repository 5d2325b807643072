//! The address phones, kiosks and displays use to reach the server: the base of every link and
//! QR code.
//!
//! A configured `public_url` (or `luot serve --public-url`) wins. Otherwise, listening on every
//! interface (`0.0.0.0` or `::`), the server takes the LAN address of the interface that holds
//! the default route (the address the kernel would send from), so a phone in the hall can open
//! what a ticket's QR code says; listening on one address, it takes that address. Loopback is
//! used only when nothing else exists, and then the caller warns.

use std::net::{IpAddr, SocketAddr};

/// Where the base URL came from; the banner says it, and warns for `LoopbackOnly`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// `--public-url` or the configuration's `public_url`.
    Configured,
    /// Listening on every interface: the LAN address of the default-route interface.
    Lan,
    /// Listening on one address, which is not loopback: that address.
    Listen,
    /// Listening on a loopback address, on purpose: only this machine can open the links.
    Loopback,
    /// Listening on every interface, but no address other than loopback was found (no
    /// network yet): only this machine can open the links.
    LoopbackOnly,
}

/// The base of every link and QR code, without a trailing slash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicAddress {
    pub url: String,
    pub source: Source,
}

impl PublicAddress {
    /// The found address as `https://` when the server itself serves TLS; a configured URL is
    /// kept as written.
    pub fn secure(mut self, tls: bool) -> PublicAddress {
        if tls && self.source != Source::Configured {
            if let Some(rest) = self.url.strip_prefix("http://") {
                self.url = format!("https://{rest}");
            }
        }
        self
    }

    /// True when a phone or device other than this machine can open the links.
    pub fn reachable_from_lan(&self) -> bool {
        !matches!(self.source, Source::Loopback | Source::LoopbackOnly)
    }
}

/// Chooses the base URL for a server listening on `listen`. `configured` is `--public-url` or the
/// configuration's `public_url`, already checked (see `luot_proto::config::check_public_url`).
pub fn resolve(configured: Option<&str>, listen: SocketAddr) -> PublicAddress {
    resolve_with(configured, listen, lan_address)
}

/// `resolve` with the LAN lookup given, so each branch can be tested on any machine.
pub fn resolve_with(
    configured: Option<&str>,
    listen: SocketAddr,
    lan: impl FnOnce(bool) -> Option<IpAddr>,
) -> PublicAddress {
    if let Some(url) = configured {
        return PublicAddress {
            url: url.trim_end_matches('/').to_string(),
            source: Source::Configured,
        };
    }
    let ip = listen.ip();
    let (host, source) = if ip.is_unspecified() {
        match lan(ip.is_ipv6()) {
            Some(found) if !found.is_loopback() && !found.is_unspecified() => (found, Source::Lan),
            _ => (loopback_like(ip), Source::LoopbackOnly),
        }
    } else if ip.is_loopback() {
        (ip, Source::Loopback)
    } else {
        (ip, Source::Listen)
    };
    PublicAddress {
        url: format!("http://{}", SocketAddr::new(host, listen.port())),
        source,
    }
}

fn loopback_like(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(_) => IpAddr::V4(std::net::Ipv4Addr::LOCALHOST),
        IpAddr::V6(_) => IpAddr::V6(std::net::Ipv6Addr::LOCALHOST),
    }
}

/// The LAN address of the interface holding the default route (on Linux the kernel's answer to
/// "which source address for 192.0.2.0?", through netlink), or else the first address of
/// global scope, so an isolated hall network without a router still works. IPv4 first, as
/// phones on a center's Wi-Fi reach it most surely; IPv6 only when the listener is IPv6 and no
/// IPv4 address exists (a `::` listener also accepts IPv4 on Linux).
pub fn lan_address(ipv6_listener: bool) -> Option<IpAddr> {
    match local_ip_address::local_ip() {
        Ok(ip) if !ip.is_loopback() => return Some(ip),
        Ok(_) => {}
        Err(e) => tracing::debug!(error = %e, "no IPv4 LAN address"),
    }
    if ipv6_listener {
        match local_ip_address::local_ipv6() {
            Ok(ip) if !ip.is_loopback() => return Some(ip),
            Ok(_) => {}
            Err(e) => tracing::debug!(error = %e, "no IPv6 LAN address"),
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr(s: &str) -> SocketAddr {
        s.parse().unwrap()
    }

    #[test]
    fn a_configured_url_wins_over_any_address() {
        let a = resolve_with(
            Some("https://luot.example.vn/"),
            addr("0.0.0.0:8080"),
            |_| panic!("no lookup when a public URL is configured"),
        );
        assert_eq!(a.url, "https://luot.example.vn");
        assert_eq!(a.source, Source::Configured);
        assert!(a.reachable_from_lan());
    }

    #[test]
    fn every_interface_takes_the_lan_address_and_the_real_port() {
        let a = resolve_with(None, addr("0.0.0.0:41234"), |v6| {
            assert!(!v6);
            Some("192.168.1.23".parse().unwrap())
        });
        assert_eq!(a.url, "http://192.168.1.23:41234");
        assert_eq!(a.source, Source::Lan);
        let a = resolve_with(None, addr("[::]:8080"), |v6| {
            assert!(v6);
            Some("fd00::5".parse().unwrap())
        });
        assert_eq!(a.url, "http://[fd00::5]:8080");
    }

    #[test]
    fn no_lan_address_falls_back_to_loopback_and_says_so() {
        for found in [None, Some("127.0.0.1".parse().unwrap())] {
            let a = resolve_with(None, addr("0.0.0.0:8080"), |_| found);
            assert_eq!(a.url, "http://127.0.0.1:8080");
            assert_eq!(a.source, Source::LoopbackOnly);
            assert!(!a.reachable_from_lan());
        }
        let a = resolve_with(None, addr("[::]:8080"), |_| None);
        assert_eq!(a.url, "http://[::1]:8080");
    }

    #[test]
    fn one_listening_address_is_used_as_it_is() {
        let never = |_| -> Option<IpAddr> { panic!("no lookup for a specific address") };
        let a = resolve_with(None, addr("10.0.0.7:80"), never);
        assert_eq!(
            (a.url.as_str(), a.source),
            ("http://10.0.0.7:80", Source::Listen)
        );
        let a = resolve_with(None, addr("127.0.0.1:9000"), never);
        assert_eq!(
            (a.url.as_str(), a.source),
            ("http://127.0.0.1:9000", Source::Loopback)
        );
    }
}
