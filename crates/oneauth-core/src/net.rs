//! Who is the client: the peer address, or, behind trusted proxies, the
//! address they report in `X-Forwarded-For`.

use ipnet::IpNet;
use std::net::IpAddr;

/// The request's client address, decided once per request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientIp(pub IpAddr);

/// Walks `X-Forwarded-For` from the right (the entries our proxies appended)
/// past every trusted proxy; the first untrusted address is the client. A
/// peer that is not a trusted proxy is the client itself, whatever the
/// header says, so the header cannot be spoofed to dodge rate limits.
pub fn client_ip(peer: IpAddr, forwarded_for: Option<&str>, trusted: &[IpNet]) -> IpAddr {
    let is_trusted = |ip: &IpAddr| trusted.iter().any(|n| n.contains(ip));
    if !is_trusted(&peer) {
        return peer;
    }
    let mut client = peer;
    for hop in forwarded_for.into_iter().flat_map(|h| h.rsplit(',')) {
        match hop.trim().parse::<IpAddr>() {
            Ok(ip) if is_trusted(&ip) => client = ip,
            Ok(ip) => return ip,
            // Garbage in the chain: stop at the last address we can vouch for.
            Err(_) => return client,
        }
    }
    client
}

/// Whether a URL host names this machine over loopback: `localhost`,
/// 127.0.0.0/8 or `::1` (the hosts of RFC 8252 §7.3 redirect URIs).
pub fn is_loopback_host(host: &url::Host<&str>) -> bool {
    match host {
        url::Host::Domain(d) => d.eq_ignore_ascii_case("localhost"),
        url::Host::Ipv4(ip) => ip.is_loopback(),
        url::Host::Ipv6(ip) => ip.is_loopback(),
    }
}

/// Whether an HTTP `Host` value (host and optional port) is a loopback
/// name. A page of another site rebound to 127.0.0.1 by DNS still sends
/// its own name here, so this tells such requests apart.
pub fn is_loopback_authority(authority: &str) -> bool {
    if authority.is_empty() || authority.contains(['@', '/', '\\', '?', '#']) {
        return false;
    }
    url::Url::parse(&format!("http://{authority}"))
        .ok()
        .and_then(|u| u.host().map(|h| is_loopback_host(&h)))
        .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn untrusted_peers_cannot_spoof_the_header() {
        let trusted: Vec<IpNet> = vec!["10.0.0.0/8".parse().unwrap()];
        assert_eq!(
            client_ip(ip("203.0.113.9"), Some("1.2.3.4"), &trusted),
            ip("203.0.113.9")
        );
    }

    #[test]
    fn trusted_proxies_are_skipped_from_the_right() {
        let trusted: Vec<IpNet> = vec!["10.0.0.0/8".parse().unwrap()];
        // Client spoofed 6.6.6.6 at the left; the real client is 198.51.100.7.
        let header = "6.6.6.6, 198.51.100.7, 10.0.0.2";
        assert_eq!(
            client_ip(ip("10.0.0.1"), Some(header), &trusted),
            ip("198.51.100.7")
        );
        assert_eq!(client_ip(ip("10.0.0.1"), None, &trusted), ip("10.0.0.1"));
        assert_eq!(
            client_ip(ip("10.0.0.1"), Some("junk, 10.0.0.3"), &trusted),
            ip("10.0.0.3")
        );
    }

    #[test]
    fn loopback_authorities() {
        for ok in [
            "localhost",
            "LOCALHOST:8082",
            "127.0.0.1",
            "127.0.0.1:8082",
            "127.3.4.5:1",
            "[::1]",
            "[::1]:8082",
        ] {
            assert!(is_loopback_authority(ok), "{ok}");
        }
        for bad in [
            "",
            "evil.example",
            "evil.example:8082",
            "localhost.evil.example",
            "127.0.0.1.evil.example",
            "10.0.0.1:8082",
            "[::2]:8082",
            "evil.example@127.0.0.1",
            "127.0.0.1/x",
            "localhost:notaport",
        ] {
            assert!(!is_loopback_authority(bad), "{bad}");
        }
    }
}
