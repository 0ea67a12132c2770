//! Who is on the other end of a request: the client's IP address, for throttling, rate limits and the audit
//! log. Only `X-Forwarded-For` hops added by proxies we trust (`server.trusted_proxies`) are believed; anything
//! further left was written by the client, who may write what they like.

use crate::config::Settings;
use actix_web::HttpRequest;
use ipnet::IpNet;
use std::net::{IpAddr, Ipv4Addr};

/// The client's address: the peer's, unless the peer is a trusted proxy, in which case the right-most
/// `X-Forwarded-For` hop that is not a trusted proxy.
pub fn client_address(request: &HttpRequest, settings: &Settings) -> IpAddr {
    // A request with no peer is one made inside the process (a test); it counts as one client.
    let peer = request.peer_addr().map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |a| a.ip());
    let forwarded: Vec<&str> = request.headers().get_all("x-forwarded-for").filter_map(|v| v.to_str().ok()).collect();
    resolve(peer, &forwarded, &settings.server.trusted_proxies)
}

/// `client_address` without the request: `forwarded` holds each X-Forwarded-For header's value, in order.
pub fn resolve(peer: IpAddr, forwarded: &[&str], trusted: &[IpNet]) -> IpAddr {
    let is_trusted = |ip: &IpAddr| trusted.iter().any(|net| net.contains(&canonical(*ip)));
    let mut client = canonical(peer);
    if !is_trusted(&client) {
        return client;
    }
    let hops = forwarded.iter().flat_map(|h| h.split(',')).map(str::trim).filter(|h| !h.is_empty());
    for hop in hops.collect::<Vec<_>>().into_iter().rev() {
        match parse_hop(hop) {
            Some(ip) => {
                client = ip;
                if !is_trusted(&ip) {
                    break;
                }
            }
            // A hop that is no address was not written by a proxy we trust: the last good one is the client.
            None => break,
        }
    }
    client
}

/// An IPv4 address mapped into IPv6 (as dual-stack listeners report them) is the IPv4 address.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

/// One hop: an address, perhaps with a port (`192.0.2.1:4711`, `[2001:db8::1]:4711`).
fn parse_hop(hop: &str) -> Option<IpAddr> {
    if let Ok(ip) = hop.parse::<IpAddr>() {
        return Some(canonical(ip));
    }
    if let Ok(with_port) = hop.parse::<std::net::SocketAddr>() {
        return Some(canonical(with_port.ip()));
    }
    hop.strip_prefix('[').and_then(|h| h.strip_suffix(']')).and_then(|h| h.parse().ok()).map(canonical)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn only_trusted_proxies_are_believed() {
        let trusted: Vec<IpNet> = vec!["10.0.0.0/8".parse().unwrap(), "2001:db8:ffff::/48".parse().unwrap()];
        // Not from a proxy: the header is the client's own words.
        assert_eq!(resolve(ip("203.0.113.9"), &["198.51.100.1"], &trusted), ip("203.0.113.9"));
        // From a proxy: the right-most hop that is not a proxy, whatever the client put before it.
        assert_eq!(resolve(ip("10.0.0.2"), &["1.1.1.1, 198.51.100.7"], &trusted), ip("198.51.100.7"));
        assert_eq!(resolve(ip("10.0.0.2"), &["1.1.1.1", "198.51.100.7, 10.0.0.5"], &trusted), ip("198.51.100.7"));
        assert_eq!(resolve(ip("10.0.0.2"), &["198.51.100.7:4711"], &trusted), ip("198.51.100.7"));
        assert_eq!(resolve(ip("10.0.0.2"), &["[2001:db8::1]:80"], &trusted), ip("2001:db8::1"));
        // Garbage the proxy did not write: the last good hop.
        assert_eq!(resolve(ip("10.0.0.2"), &["198.51.100.7, nonsense, 10.0.0.9"], &trusted), ip("10.0.0.9"));
        // Every hop a proxy, or no header: the left-most proxy.
        assert_eq!(resolve(ip("10.0.0.2"), &["10.1.1.1"], &trusted), ip("10.1.1.1"));
        assert_eq!(resolve(ip("10.0.0.2"), &[], &trusted), ip("10.0.0.2"));
        // Mapped IPv4 is IPv4.
        assert_eq!(resolve(ip("::ffff:10.0.0.2"), &["198.51.100.7"], &trusted), ip("198.51.100.7"));
        // With nothing trusted, the peer, always.
        assert_eq!(resolve(ip("10.0.0.2"), &["198.51.100.7"], &[]), ip("10.0.0.2"));
    }
}
