//! Redirect URI matching (RFC 6749 §3.1.2.3, RFC 9700 §4.1.3, RFC 8252
//! §7.3): a registered URI matches itself exactly, and nothing that differs
//! from every registered URI, except a port-less loopback IP registration,
//! which matches the same URI with a port added: nothing with another
//! scheme, host, path or query, and another origin only by its port.
#![no_main]

use libfuzzer_sys::fuzz_target;
use oneauth_oauth2::client::redirect_uri_registered;

fn origin(uri: &str) -> Option<String> {
    url::Url::parse(uri)
        .ok()
        .map(|u| u.origin().ascii_serialization())
}

/// `registered` is `http://127.0.0.1/…` or `http://[::1]/…` without a port,
/// and `presented` is the same URI with some port (80 parses as none).
fn same_but_port(registered: &str, presented: &str) -> bool {
    let (Ok(r), Ok(p)) = (url::Url::parse(registered), url::Url::parse(presented)) else {
        return false;
    };
    let loopback_ip = match r.host() {
        Some(url::Host::Ipv4(ip)) => ip == std::net::Ipv4Addr::LOCALHOST,
        Some(url::Host::Ipv6(ip)) => ip == std::net::Ipv6Addr::LOCALHOST,
        _ => false,
    };
    let mut without_port = p.clone();
    let _ = without_port.set_port(None);
    r.scheme() == "http"
        && loopback_ip
        && r.port().is_none()
        && without_port == r
}

fuzz_target!(|input: (Vec<String>, String)| {
    let (registered, presented) = input;
    for r in &registered {
        assert!(redirect_uri_registered(&registered, r));
    }
    if registered.contains(&presented) {
        assert!(redirect_uri_registered(&registered, &presented));
    } else if redirect_uri_registered(&registered, &presented) {
        // Only the port may differ, and only for a port-less loopback IP.
        assert!(registered.iter().any(|r| same_but_port(r, &presented)));
    }
    // A URI with another origin than every registered one never matches,
    // whatever normalisation a parser would apply, unless a port-less
    // loopback registration lets its port differ.
    if let Some(o) = origin(&presented)
        && o != "null"
        && registered.iter().all(|r| origin(r).as_deref() != Some(&o))
        && !registered.iter().any(|r| same_but_port(r, &presented))
    {
        assert!(!redirect_uri_registered(&registered, &presented));
    }
});
