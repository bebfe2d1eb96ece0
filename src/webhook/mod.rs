//! Sending webhooks: Standard Webhooks signatures (the spec's own crate),
//! and no server-side request forgery. A URL must be https (http too with
//! `WEBHOOK_ALLOW_PRIVATE`), and every address it resolves to must be
//! public, checked when the endpoint is saved and again at every
//! connection, by the client's own resolver, so a name that later
//! resolves to 127.0.0.1 (DNS rebinding) reaches nothing.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use rand::RngCore;
use reqwest::Url;
use reqwest::dns::{Addrs, Name, Resolve, Resolving};

/// Why a URL is refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum UrlRefusal {
    #[error("not a URL")]
    Malformed,
    #[error("https only")]
    NotHttps,
    #[error("the name does not resolve")]
    Unresolved,
    #[error("a private address")]
    Private,
}

/// An address on the public internet: not loopback, private, link-local
/// (cloud metadata at 169.254.169.254 included), shared, unique-local,
/// multicast, unspecified, documentation or reserved. An IPv6 address that
/// carries an IPv4 one (mapped, compatible, translated, NAT64, 6to4,
/// Teredo) is judged by what it carries: a NAT64 gateway or 6to4 relay
/// would deliver to that IPv4 address.
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_public_v4(v4),
        IpAddr::V6(v6) => match embedded_ipv4(v6) {
            Embedded::None => is_public_v6(v6),
            Embedded::One(v4) => is_public_v4(v4),
            Embedded::Two(server, client) => is_public_v4(server) && is_public_v4(client),
        },
    }
}

fn is_public_v4(v4: Ipv4Addr) -> bool {
    let [a, b, ..] = v4.octets();
    !(v4.is_loopback()
        || v4.is_private()
        || v4.is_link_local()
        || v4.is_unspecified()
        || v4.is_broadcast()
        || v4.is_multicast()
        || v4.is_documentation()
        || a == 0
        // 100.64.0.0/10, carrier-grade NAT; 192.0.0.0/24, protocol
        // assignments; 198.18.0.0/15, benchmarking; 240.0.0.0/4, reserved.
        || (a == 100 && (64..128).contains(&b))
        || (a == 192 && b == 0 && v4.octets()[2] == 0)
        || (a == 198 && (b == 18 || b == 19))
        || a >= 240)
}

fn is_public_v6(v6: Ipv6Addr) -> bool {
    let [first, second, ..] = v6.segments();
    !(v6.is_loopback()
        || v6.is_unspecified()
        || v6.is_multicast()
        || v6.is_unique_local()
        || v6.is_unicast_link_local()
        // fec0::/10, site-local (deprecated, still routed in places).
        || (first & 0xffc0) == 0xfec0
        // 2001:db8::/32, documentation; 100::/64, discard.
        || (first == 0x2001 && second == 0x0db8)
        || (first == 0x0100 && v6.segments()[1..4] == [0, 0, 0]))
}

/// The IPv4 addresses an IPv6 address carries.
#[derive(Debug, PartialEq, Eq)]
enum Embedded {
    None,
    One(Ipv4Addr),
    /// Teredo: its server and its client.
    Two(Ipv4Addr, Ipv4Addr),
}

fn embedded_ipv4(v6: Ipv6Addr) -> Embedded {
    let o = v6.octets();
    let s = v6.segments();
    let v4 = |bytes: [u8; 4]| Ipv4Addr::from(bytes);
    let last = v4([o[12], o[13], o[14], o[15]]);
    match s {
        // ::a.b.c.d (compatible, :: and ::1 included) and ::ffff:a.b.c.d
        // (mapped).
        [0, 0, 0, 0, 0, 0 | 0xffff, ..] => Embedded::One(last),
        // ::ffff:0:a.b.c.d, translated (SIIT).
        [0, 0, 0, 0, 0xffff, 0, ..] => Embedded::One(last),
        // 64:ff9b::/96, NAT64's well-known prefix.
        [0x64, 0xff9b, 0, 0, 0, 0, ..] => Embedded::One(last),
        // 64:ff9b:1::/48, NAT64 for local use (RFC 8215): a /48 prefix
        // carries the address around the reserved octet (RFC 6052).
        [0x64, 0xff9b, 1, ..] => Embedded::One(v4([o[6], o[7], o[9], o[10]])),
        // 2002::/16, 6to4.
        [0x2002, ..] => Embedded::One(v4([o[2], o[3], o[4], o[5]])),
        // 2001::/32, Teredo: the server, and the client's address
        // inverted.
        [0x2001, 0, ..] => Embedded::Two(
            v4([o[4], o[5], o[6], o[7]]),
            v4([!o[12], !o[13], !o[14], !o[15]]),
        ),
        _ => Embedded::None,
    }
}

/// Reads and checks an endpoint URL's form: http(s), a host; https only
/// unless private targets are allowed.
pub fn parse_url(text: &str, allow_private: bool) -> Result<Url, UrlRefusal> {
    let url = Url::parse(text.trim()).map_err(|_| UrlRefusal::Malformed)?;
    match url.scheme() {
        "https" => {}
        "http" if allow_private => {}
        "http" => return Err(UrlRefusal::NotHttps),
        _ => return Err(UrlRefusal::Malformed),
    }
    if url.host_str().is_none_or(str::is_empty) || !url.username().is_empty() {
        return Err(UrlRefusal::Malformed);
    }
    Ok(url)
}

/// Checks where the URL leads now: every address public (unless allowed).
pub async fn check_target(url: &Url, allow_private: bool) -> Result<(), UrlRefusal> {
    if allow_private {
        return Ok(());
    }
    let host = url.host_str().ok_or(UrlRefusal::Malformed)?;
    let port = url.port_or_known_default().unwrap_or(443);
    let addresses = resolve(host, port)
        .await
        .map_err(|_| UrlRefusal::Unresolved)?;
    if addresses.is_empty() {
        return Err(UrlRefusal::Unresolved);
    }
    if addresses.iter().all(|a| is_public(a.ip())) {
        Ok(())
    } else {
        Err(UrlRefusal::Private)
    }
}

async fn resolve(host: &str, port: u16) -> std::io::Result<Vec<SocketAddr>> {
    // `[::1]` comes bracketed from the URL.
    let host = host.trim_start_matches('[').trim_end_matches(']');
    Ok(tokio::net::lookup_host((host, port)).await?.collect())
}

/// The client's resolver: only public addresses come out of it.
struct PublicOnly;

impl Resolve for PublicOnly {
    fn resolve(&self, name: Name) -> Resolving {
        let host = name.as_str().to_owned();
        Box::pin(async move {
            let public: Vec<SocketAddr> = resolve(&host, 0)
                .await?
                .into_iter()
                .filter(|a| is_public(a.ip()))
                .collect();
            if public.is_empty() {
                return Err(
                    Box::new(UrlRefusal::Private) as Box<dyn std::error::Error + Send + Sync>
                );
            }
            Ok(Box::new(public.into_iter()) as Addrs)
        })
    }
}

/// Bodies read back from receivers, at most.
const MAX_RESPONSE_BYTES: usize = 4096;

pub struct Sender {
    client: reqwest::Client,
    allow_private: bool,
    /// Deliveries go through this proxy only when configured for them
    /// (`WEBHOOK_PROXY`), never through `HTTP(S)_PROXY`: a proxy resolves
    /// names itself, so the connect-time check cannot run, and each
    /// target is checked before sending instead.
    proxied: bool,
}

/// What one attempt gave.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Attempt {
    pub status: Option<u16>,
    /// Why it failed, for the delivery's `lastError` (short, no secret).
    pub error: Option<String>,
}

impl Attempt {
    pub fn succeeded(&self) -> bool {
        self.error.is_none() && self.status.is_some_and(|s| (200..300).contains(&s))
    }
}

impl Sender {
    pub fn new(
        timeout: Duration,
        allow_private: bool,
        proxy: Option<&str>,
    ) -> Result<Sender, reqwest::Error> {
        crate::geocode::install_tls_provider();
        let mut builder = reqwest::Client::builder()
            .timeout(timeout)
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("flokon-webhooks/", env!("CARGO_PKG_VERSION")));
        builder = match proxy {
            Some(proxy) => builder.proxy(reqwest::Proxy::all(proxy)?),
            None => builder.no_proxy(),
        };
        if !allow_private {
            builder = builder.dns_resolver(Arc::new(PublicOnly));
        }
        Ok(Sender {
            client: builder.build()?,
            allow_private,
            proxied: proxy.is_some(),
        })
    }

    /// POSTs `payload`, signed with `secret`, as message `id`.
    pub async fn send(&self, url: &str, secret: &str, id: &str, payload: &str) -> Attempt {
        let failed = |error: &str| Attempt {
            status: None,
            error: Some(error.to_owned()),
        };
        let Ok(url) = parse_url(url, self.allow_private) else {
            return failed("URL refused");
        };
        // A literal address bypasses the resolver: checked here.
        if let Some(ip) = literal_ip(&url)
            && !self.allow_private
            && !is_public(ip)
        {
            return failed("private address refused");
        }
        if self.proxied && check_target(&url, self.allow_private).await.is_err() {
            return failed("private address refused");
        }
        let Ok(signer) = standardwebhooks::Webhook::new(secret) else {
            return failed("secret unreadable");
        };
        let timestamp = chrono::Utc::now().timestamp();
        let Ok(signature) = signer.sign(id, timestamp, payload.as_bytes()) else {
            return failed("payload not signable");
        };
        let response = self
            .client
            .post(url)
            .header("content-type", "application/json")
            .header(standardwebhooks::HEADER_WEBHOOK_ID, id)
            .header(
                standardwebhooks::HEADER_WEBHOOK_TIMESTAMP,
                timestamp.to_string(),
            )
            .header(standardwebhooks::HEADER_WEBHOOK_SIGNATURE, signature)
            .body(payload.to_owned())
            .send()
            .await;
        match response {
            Ok(mut response) => {
                let status = response.status().as_u16();
                // Read a little of the body, so the connection can be
                // reused, never the whole of what a receiver sends.
                let mut read = 0;
                while read < MAX_RESPONSE_BYTES {
                    match response.chunk().await {
                        Ok(Some(chunk)) => read += chunk.len(),
                        _ => break,
                    }
                }
                let error = (!(200..300).contains(&status)).then(|| format!("HTTP {status}"));
                Attempt {
                    status: Some(status),
                    error,
                }
            }
            Err(error) if error.is_timeout() => failed("timed out"),
            Err(error) if error.is_connect() => failed("connection failed or address refused"),
            Err(_) => failed("request failed"),
        }
    }
}

fn literal_ip(url: &Url) -> Option<IpAddr> {
    match url.host()? {
        url::Host::Ipv4(v4) => Some(IpAddr::V4(v4)),
        url::Host::Ipv6(v6) => Some(IpAddr::V6(v6)),
        url::Host::Domain(_) => None,
    }
}

/// A new endpoint secret: `whsec_` and 32 random bytes in base64.
pub fn new_secret() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    format!(
        "whsec_{}",
        base64::engine::general_purpose::STANDARD.encode(bytes)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_public_addresses_are_public() {
        for private in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "255.255.255.255",
            "::1",
            "::",
            "fd00:ec2::254",
            "fe80::1",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
            // Compatible, translated.
            "::169.254.169.254",
            "::ffff:0:a00:1",
            // NAT64, both prefixes.
            "64:ff9b::a9fe:a9fe",
            "64:ff9b::a00:1",
            "64:ff9b::127.0.0.1",
            "64:ff9b:1:a9fe:a9:fe00::",
            // 6to4.
            "2002:a9fe:a9fe::1",
            "2002:7f00:1::",
            // Teredo: a private server, or a private client (inverted).
            "2001:0:a00:1::1",
            "2001:0:808:808::f5ff:fffe",
            "2001:db8::1",
            "fec0::1",
            "198.18.0.1",
            "192.0.0.8",
        ] {
            assert!(!is_public(private.parse().unwrap()), "{private}");
        }
        for public in [
            "8.8.8.8",
            "142.250.65.78",
            "2607:f8b0:4020:805::200e",
            "64:ff9b::808:808",
            "2002:808:808::1",
            "2001:0:808:808::f7f7:f7f7",
        ] {
            assert!(is_public(public.parse().unwrap()), "{public}");
        }
    }

    #[test]
    fn urls_must_be_https_unless_private_targets_are_allowed() {
        assert!(parse_url("https://hooks.example.ca/flokon", false).is_ok());
        assert_eq!(
            parse_url("http://hooks.example.ca/flokon", false),
            Err(UrlRefusal::NotHttps)
        );
        assert!(parse_url("http://127.0.0.1:9000/hook", true).is_ok());
        assert_eq!(parse_url("ftp://x.ca", true), Err(UrlRefusal::Malformed));
        assert_eq!(parse_url("not a url", false), Err(UrlRefusal::Malformed));
        assert_eq!(
            parse_url("https://user:pw@x.ca/", false),
            Err(UrlRefusal::Malformed)
        );
    }

    #[test]
    fn secrets_are_standard_webhooks_secrets() {
        let secret = new_secret();
        assert!(secret.starts_with("whsec_"));
        let key = base64::engine::general_purpose::STANDARD
            .decode(&secret["whsec_".len()..])
            .unwrap();
        assert_eq!(key.len(), 32);
        assert!(standardwebhooks::Webhook::new(&secret).is_ok());
        assert_ne!(new_secret(), secret);
    }
}
