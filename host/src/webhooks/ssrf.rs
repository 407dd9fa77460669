//! SSRF guard for webhooks: this module owns the decision of which network
//! addresses the server may call on an API user's behalf. A webhook URL is
//! chosen by whoever registers it, so without a guard it would let any API user
//! make the server reach its own network: loopback admin ports, private
//! services, or the cloud metadata endpoint at 169.254.169.254 that hands out
//! credentials. [`forbidden_reason`] names the ranges that are never called
//! (also when hidden inside IPv4-mapped, IPv4-compatible, NAT64, 6to4 or
//! Teredo IPv6 forms), [`Guard`] adds the operator's explicit allowances (tests
//! allow loopback), and the check runs twice: when a URL is registered
//! ([`Guard::check_url`]) and again at every connection, through
//! [`GuardedResolver`] for host names and [`Guard::check_connect_target`] for
//! IP literals. The second check is what defeats DNS rebinding, where a name
//! resolves to a public address at registration and to 127.0.0.1 at send.

use std::fmt;
use std::future::Future;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, ToSocketAddrs};
use std::str::FromStr;
use std::sync::Arc;

use reqwest::dns::{Addrs, Name, Resolve, Resolving};

/// An IP network like `127.0.0.0/8` or `::1/128`.
///
/// Host bits are cleared when parsing (`10.1.2.3/8` is `10.0.0.0/8`), so two
/// spellings of one network compare equal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
    network: IpAddr,
    prefix: u8,
}

impl Cidr {
    /// Whether `ip` lies in this network.
    ///
    /// An IPv4-mapped IPv6 address (`::ffff:127.0.0.1`) is the same host as
    /// its IPv4 address on a dual-stack socket, so an IPv4 network contains it
    /// too (and an IPv6 network written in mapped form contains the plain IPv4
    /// address); otherwise families never match.
    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.network, ip) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => in_v4(ip, net, self.prefix),
            (IpAddr::V6(net), IpAddr::V6(ip)) => in_v6(ip, net, self.prefix),
            (IpAddr::V4(net), IpAddr::V6(ip)) => ip
                .to_ipv4_mapped()
                .is_some_and(|v4| in_v4(v4, net, self.prefix)),
            (IpAddr::V6(net), IpAddr::V4(ip)) => in_v6(ip.to_ipv6_mapped(), net, self.prefix),
        }
    }
}

impl FromStr for Cidr {
    type Err = String;

    fn from_str(text: &str) -> Result<Cidr, String> {
        let bad = |why: &str| format!("{text:?} is not an IP network like 10.0.0.0/8: {why}");
        let (addr, prefix) = text
            .trim()
            .split_once('/')
            .ok_or_else(|| bad("missing /prefix"))?;
        let addr: IpAddr = addr
            .parse()
            .map_err(|_| bad(&format!("{addr:?} is not an IP address")))?;
        let prefix: u8 = prefix
            .parse()
            .map_err(|_| bad(&format!("{prefix:?} is not a prefix length")))?;
        let network = match addr {
            IpAddr::V4(v4) if prefix <= 32 => {
                IpAddr::V4(Ipv4Addr::from(u32::from(v4) & mask_v4(prefix)))
            }
            IpAddr::V6(v6) if prefix <= 128 => {
                IpAddr::V6(Ipv6Addr::from(u128::from(v6) & mask_v6(prefix)))
            }
            IpAddr::V4(_) => return Err(bad("an IPv4 prefix is at most 32")),
            IpAddr::V6(_) => return Err(bad("an IPv6 prefix is at most 128")),
        };
        Ok(Cidr { network, prefix })
    }
}

impl fmt::Display for Cidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.network, self.prefix)
    }
}

fn mask_v4(prefix: u8) -> u32 {
    // `checked_shl` because shifting a u32 by 32 overflows; /0 masks nothing.
    u32::MAX
        .checked_shl(32 - u32::from(prefix.min(32)))
        .unwrap_or(0)
}

fn mask_v6(prefix: u8) -> u128 {
    u128::MAX
        .checked_shl(128 - u32::from(prefix.min(128)))
        .unwrap_or(0)
}

fn in_v4(ip: Ipv4Addr, net: Ipv4Addr, prefix: u8) -> bool {
    let mask = mask_v4(prefix);
    u32::from(ip) & mask == u32::from(net) & mask
}

fn in_v6(ip: Ipv6Addr, net: Ipv6Addr, prefix: u8) -> bool {
    let mask = mask_v6(prefix);
    u128::from(ip) & mask == u128::from(net) & mask
}

/// Why the server must not call `ip` for a user, or `None` if it is an
/// ordinary public address.
///
/// The reasons are short phrases meant to finish a sentence in an error that
/// a person reads, e.g. "loopback", "private (RFC 1918)", "link-local (cloud
/// metadata lives here)", "shared address space (CGNAT)". IPv6 forms that
/// carry an IPv4 address (`::ffff:a.b.c.d`, `::a.b.c.d`, `64:ff9b::/96`,
/// `2002::/16`, Teredo) are judged by the IPv4 address inside, because that
/// is the host a packet would end up at.
pub fn forbidden_reason(ip: IpAddr) -> Option<&'static str> {
    match ip {
        IpAddr::V4(v4) => v4_reason(v4),
        IpAddr::V6(v6) => v6_reason(v6),
    }
}

/// `(network, prefix, reason)`, checked in order; broadcast comes before the
/// reserved 240/4 that contains it so it gets the more telling name.
const V4_FORBIDDEN: &[([u8; 4], u8, &str)] = &[
    ([0, 0, 0, 0], 8, "unspecified (0.0.0.0/8, \"this network\")"),
    ([10, 0, 0, 0], 8, "private (RFC 1918)"),
    ([172, 16, 0, 0], 12, "private (RFC 1918)"),
    ([192, 168, 0, 0], 16, "private (RFC 1918)"),
    ([100, 64, 0, 0], 10, "shared address space (CGNAT)"),
    ([127, 0, 0, 0], 8, "loopback"),
    (
        [169, 254, 0, 0],
        16,
        "link-local (cloud metadata lives here)",
    ),
    (
        [192, 0, 0, 0],
        24,
        "IETF protocol assignments (192.0.0.0/24)",
    ),
    ([192, 0, 2, 0], 24, "documentation (TEST-NET-1)"),
    ([198, 51, 100, 0], 24, "documentation (TEST-NET-2)"),
    ([203, 0, 113, 0], 24, "documentation (TEST-NET-3)"),
    ([198, 18, 0, 0], 15, "benchmarking (198.18.0.0/15)"),
    ([224, 0, 0, 0], 4, "multicast"),
    ([255, 255, 255, 255], 32, "broadcast"),
    ([240, 0, 0, 0], 4, "reserved (240.0.0.0/4)"),
];

fn v4_reason(ip: Ipv4Addr) -> Option<&'static str> {
    V4_FORBIDDEN
        .iter()
        .find(|(net, prefix, _)| in_v4(ip, Ipv4Addr::from(*net), *prefix))
        .map(|(_, _, reason)| *reason)
}

/// IPv6 ranges without an embedded IPv4 address, checked after the
/// IPv4-carrying forms.
const V6_FORBIDDEN: &[([u16; 8], u8, &str)] = &[
    (
        [0xfc00, 0, 0, 0, 0, 0, 0, 0],
        7,
        "unique local (fc00::/7, private IPv6)",
    ),
    ([0xfe80, 0, 0, 0, 0, 0, 0, 0], 10, "link-local (fe80::/10)"),
    (
        [0xfec0, 0, 0, 0, 0, 0, 0, 0],
        10,
        "site-local (fec0::/10, deprecated)",
    ),
    ([0xff00, 0, 0, 0, 0, 0, 0, 0], 8, "multicast"),
    (
        [0x2001, 0xdb8, 0, 0, 0, 0, 0, 0],
        32,
        "documentation (2001:db8::/32)",
    ),
    (
        [0x3fff, 0, 0, 0, 0, 0, 0, 0],
        20,
        "documentation (3fff::/20)",
    ),
    (
        [0x2001, 0x2, 0, 0, 0, 0, 0, 0],
        48,
        "benchmarking (2001:2::/48)",
    ),
    ([0x100, 0, 0, 0, 0, 0, 0, 0], 64, "discard-only (100::/64)"),
    (
        [0x64, 0xff9b, 1, 0, 0, 0, 0, 0],
        48,
        "NAT64 local use (64:ff9b:1::/48)",
    ),
    // Everything else in ::/8 is reserved and never a real host; the
    // well-known NAT64 prefix inside it is handled before this table.
    ([0, 0, 0, 0, 0, 0, 0, 0], 8, "reserved (::/8)"),
];

fn v6_reason(ip: Ipv6Addr) -> Option<&'static str> {
    if ip.is_unspecified() {
        return Some("unspecified (::)");
    }
    if ip.is_loopback() {
        return Some("loopback");
    }
    let s = ip.segments();
    let embedded = |hi: u16, lo: u16| Ipv4Addr::from((u32::from(hi) << 16) | u32::from(lo));
    // IPv4-mapped ::ffff:a.b.c.d: a dual-stack socket connects to a.b.c.d.
    if let Some(v4) = ip.to_ipv4_mapped() {
        return v4_reason(v4);
    }
    // IPv4-translated ::ffff:0:a.b.c.d (SIIT) names the same IPv4 host.
    if s[..4] == [0; 4] && s[4] == 0xffff && s[5] == 0 {
        return v4_reason(embedded(s[6], s[7]));
    }
    // IPv4-compatible ::a.b.c.d is deprecated (RFC 4291) and no real host
    // uses it, so it is refused even with a public address inside.
    if s[..6] == [0; 6] {
        return Some(
            v4_reason(embedded(s[6], s[7])).unwrap_or("IPv4-compatible (deprecated ::/96)"),
        );
    }
    // Well-known NAT64 prefix: a NAT64 gateway forwards to the IPv4 inside,
    // which is allowed when public (IPv6-only networks reach the web so).
    if s[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
        return v4_reason(embedded(s[6], s[7]));
    }
    // 6to4: the IPv4 address is in bits 16..48.
    if s[0] == 0x2002
        && let Some(reason) = v4_reason(embedded(s[1], s[2]))
    {
        return Some(reason);
    }
    // Teredo 2001:0::/32: server IPv4 in bits 32..64, client IPv4 inverted in
    // the last 32 bits.
    if s[0] == 0x2001
        && s[1] == 0
        && let Some(reason) =
            v4_reason(embedded(s[2], s[3])).or_else(|| v4_reason(embedded(!s[6], !s[7])))
    {
        return Some(reason);
    }
    V6_FORBIDDEN
        .iter()
        .find(|(net, prefix, _)| in_v6(ip, Ipv6Addr::from(*net), *prefix))
        .map(|(_, _, reason)| *reason)
}

/// Why a webhook URL or address is refused. Every message is meant for the
/// API user who registered the URL, so it names the host, the address and
/// the reason, and never repeats a password from the URL.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SsrfError {
    #[error("{url:?} is not a URL: {reason}")]
    InvalidUrl { url: String, reason: String },
    #[error("webhook URL scheme {scheme:?} is not allowed: use http or https")]
    Scheme { scheme: String },
    #[error("webhook URL {url:?} has no host")]
    NoHost { url: String },
    #[error("webhook URL for host {host} must not carry a user name or password (user:pass@)")]
    UserInfo { host: String },
    #[error("webhook host {host} does not resolve: {reason}")]
    Unresolvable { host: String, reason: String },
    #[error("address {ip} is {reason}: refused by the SSRF guard; {}", allow_hint(.ip))]
    ForbiddenAddress { ip: IpAddr, reason: &'static str },
    #[error(
        "webhook host {host} points at {ip}, which is {reason}: refused by the SSRF guard; {}",
        allow_hint(.ip)
    )]
    ForbiddenHost {
        host: String,
        ip: IpAddr,
        reason: &'static str,
    },
}

/// How an operator lets `ip` through, for the end of a refusal: the network to
/// add to `[webhooks] allow_networks`.
///
/// Loopback gets its whole range (`127.0.0.0/8`, `::1/128`): it is only this
/// machine, and a local receiver for tests may sit on any of its addresses.
/// Anything else gets exactly the one address, because a private or
/// link-local range holds other hosts (the cloud metadata service among them)
/// that allowing one receiver must not open up.
fn allow_network(ip: IpAddr) -> Cidr {
    let v4 = match ip {
        IpAddr::V4(v4) => Some(v4),
        IpAddr::V6(v6) => v6.to_ipv4_mapped(),
    };
    match (ip, v4) {
        // A mapped ::ffff:127.x is matched by an IPv4 network (see `Cidr::contains`).
        (_, Some(v4)) if v4.is_loopback() => Cidr {
            network: IpAddr::V4(Ipv4Addr::new(127, 0, 0, 0)),
            prefix: 8,
        },
        (IpAddr::V4(_), _) => Cidr {
            network: ip,
            prefix: 32,
        },
        (IpAddr::V6(_), _) => Cidr {
            network: ip,
            prefix: 128,
        },
    }
}

fn allow_hint(ip: &IpAddr) -> String {
    format!(
        "to allow it, add \"{}\" to [webhooks] allow_networks in the server config",
        allow_network(*ip)
    )
}

/// The forbidden-address policy plus the operator's explicit allowances.
///
/// `Guard::default()` allows nothing beyond public addresses, which is what
/// production wants; tests and deliberate on-premises setups pass the ranges
/// they mean to reach (e.g. `127.0.0.0/8`) to [`Guard::new`].
#[derive(Debug, Clone, Default)]
pub struct Guard {
    allowed: Vec<Cidr>,
}

impl Guard {
    pub fn new(allow: Vec<Cidr>) -> Guard {
        Guard { allowed: allow }
    }

    /// The ranges this guard lets through although they are forbidden.
    pub fn allowed(&self) -> &[Cidr] {
        &self.allowed
    }

    /// Err with a person-readable reason if `ip` is forbidden and not
    /// explicitly allowed.
    pub fn check_ip(&self, ip: IpAddr) -> Result<(), SsrfError> {
        match self.refusal(ip) {
            None => Ok(()),
            Some(reason) => Err(SsrfError::ForbiddenAddress { ip, reason }),
        }
    }

    /// The reason `ip` is refused under this guard, if it is.
    fn refusal(&self, ip: IpAddr) -> Option<&'static str> {
        if self.allowed.iter().any(|cidr| cidr.contains(ip)) {
            return None;
        }
        forbidden_reason(ip)
    }

    /// Registration-time check of a webhook URL.
    ///
    /// The scheme must be http or https, there must be a host and no
    /// `user:pass@` (credentials in a URL get logged and shown back), and
    /// every address the host resolves to now must be allowed: one
    /// forbidden answer is enough to refuse, since the client could connect
    /// to any of them. A name that does not resolve is refused too, because a
    /// URL we cannot check now is one we cannot vouch for.
    ///
    /// This resolves with the blocking system resolver; from async code call
    /// [`Guard::check_url_async`] instead so a slow DNS server does not stall
    /// a runtime worker.
    pub fn check_url(&self, url: &str) -> Result<(), SsrfError> {
        match self.static_checks(url)? {
            Target::Literal { host, ip } => self.check_literal(host, ip),
            Target::Name { host, port } => {
                let found = (host.as_str(), port).to_socket_addrs().map_err(|e| {
                    SsrfError::Unresolvable {
                        host: host.clone(),
                        reason: e.to_string(),
                    }
                })?;
                self.check_all(&host, found)
            }
        }
    }

    /// [`Guard::check_url`] for async callers: the same checks, resolving
    /// with `tokio::net::lookup_host`.
    pub async fn check_url_async(&self, url: &str) -> Result<(), SsrfError> {
        match self.static_checks(url)? {
            Target::Literal { host, ip } => self.check_literal(host, ip),
            Target::Name { host, port } => {
                let found = tokio::net::lookup_host((host.as_str(), port))
                    .await
                    .map_err(|e| SsrfError::Unresolvable {
                        host: host.clone(),
                        reason: e.to_string(),
                    })?;
                self.check_all(&host, found)
            }
        }
    }

    /// Connect-time check for the part the resolver cannot see.
    ///
    /// reqwest consults [`GuardedResolver`] only for host names; a URL whose
    /// host is an IP literal (`http://10.0.0.1/`, `http://[::1]/`) connects
    /// without any lookup. So callers run this before each send: it refuses
    /// forbidden literals (and a scheme, missing host or userinfo that
    /// [`Guard::check_url`] would have refused) and passes names through,
    /// leaving them to the resolver, which sees the addresses actually used.
    pub fn check_connect_target(&self, url: &reqwest::Url) -> Result<(), SsrfError> {
        match self.static_checks_parsed(url)? {
            Target::Literal { host, ip } => self.check_literal(host, ip),
            Target::Name { .. } => Ok(()),
        }
    }

    /// A blocking client builder wired for webhook delivery under this guard.
    ///
    /// Besides plugging in [`GuardedResolver`] it turns off two ways around
    /// the guard: proxies (with a proxy the resolver would look up the
    /// proxy's name, and the proxy would connect to the target unchecked) and
    /// redirects (a `302` to `http://127.0.0.1/` would be followed without a
    /// lookup or a [`Guard::check_connect_target`] call; a 3xx is returned to
    /// the caller as the response instead). [`Guard::check_connect_target`]
    /// is still the caller's job before each send.
    pub fn client_builder(&self) -> reqwest::blocking::ClientBuilder {
        Guard::client_builder_with(GuardedResolver::new(self.clone()))
    }

    /// [`Guard::client_builder`] over a resolver of the caller's choosing,
    /// typically one made with [`GuardedResolver::with_lookup`].
    ///
    /// This is the seam for tests that need DNS to answer something chosen
    /// (a name that rebinds to 127.0.0.1 between two sends), and for
    /// operators who resolve webhook hosts some other way than the system
    /// resolver. The guard that judges addresses is the one inside
    /// `resolver`; proxies and redirects are turned off exactly as in
    /// [`Guard::client_builder`].
    pub fn client_builder_with(resolver: GuardedResolver) -> reqwest::blocking::ClientBuilder {
        reqwest::blocking::Client::builder()
            .dns_resolver(Arc::new(resolver))
            .no_proxy()
            .redirect(reqwest::redirect::Policy::none())
    }

    fn check_literal(&self, host: String, ip: IpAddr) -> Result<(), SsrfError> {
        match self.refusal(ip) {
            None => Ok(()),
            Some(reason) => Err(SsrfError::ForbiddenHost { host, ip, reason }),
        }
    }

    /// Refuses if any of `found` is refused, or if there is none.
    fn check_all(
        &self,
        host: &str,
        found: impl IntoIterator<Item = SocketAddr>,
    ) -> Result<(), SsrfError> {
        let mut any = false;
        for addr in found {
            any = true;
            self.check_literal(host.to_owned(), addr.ip())?;
        }
        if any { Ok(()) } else { Err(no_addresses(host)) }
    }

    /// Keeps the allowed addresses of `found`; if none is left, the error
    /// names the first refused one (or says there were none at all).
    fn keep_allowed(
        &self,
        host: &str,
        found: impl IntoIterator<Item = SocketAddr>,
    ) -> Result<Vec<SocketAddr>, SsrfError> {
        let mut kept = Vec::new();
        let mut first_refused = None;
        for addr in found {
            match self.refusal(addr.ip()) {
                None => kept.push(addr),
                Some(reason) => {
                    first_refused.get_or_insert((addr.ip(), reason));
                }
            }
        }
        match (kept.is_empty(), first_refused) {
            (false, _) => Ok(kept),
            (true, Some((ip, reason))) => Err(SsrfError::ForbiddenHost {
                host: host.to_owned(),
                ip,
                reason,
            }),
            (true, None) => Err(no_addresses(host)),
        }
    }

    fn static_checks(&self, url: &str) -> Result<Target, SsrfError> {
        let parsed = reqwest::Url::parse(url).map_err(|e| SsrfError::InvalidUrl {
            url: url.to_owned(),
            reason: e.to_string(),
        })?;
        self.static_checks_parsed(&parsed)
    }

    fn static_checks_parsed(&self, url: &reqwest::Url) -> Result<Target, SsrfError> {
        if !matches!(url.scheme(), "http" | "https") {
            return Err(SsrfError::Scheme {
                scheme: url.scheme().to_owned(),
            });
        }
        let no_host = || SsrfError::NoHost {
            url: url.as_str().to_owned(),
        };
        let host = url.host_str().ok_or_else(no_host)?.to_owned();
        if !url.username().is_empty() || url.password().is_some() {
            return Err(SsrfError::UserInfo { host });
        }
        // The URL parser has already normalised IPv4 literals (`0x7f.1`,
        // `2130706433`) to dotted form and wraps IPv6 ones in brackets, so a
        // host that parses as an address here is exactly a literal.
        let bare = host
            .strip_prefix('[')
            .and_then(|h| h.strip_suffix(']'))
            .unwrap_or(&host);
        Ok(match bare.parse::<IpAddr>() {
            Ok(ip) => Target::Literal { host, ip },
            Err(_) => Target::Name {
                host,
                // Only http and https get here, and both have a default port.
                port: url.port_or_known_default().unwrap_or(80),
            },
        })
    }
}

fn no_addresses(host: &str) -> SsrfError {
    SsrfError::Unresolvable {
        host: host.to_owned(),
        reason: "the name has no addresses".to_owned(),
    }
}

/// What a URL's host turned out to be after the checks that need no DNS.
enum Target {
    /// An IP literal: checked directly, no resolver involved.
    Literal { host: String, ip: IpAddr },
    /// A name: its addresses are what is checked.
    Name { host: String, port: u16 },
}

/// A reqwest DNS resolver that resolves with the system resolver and drops
/// every forbidden address; if none is left the lookup fails with an error
/// naming the host and why, so the request is never sent.
///
/// This is the connect-time half of the guard: since the addresses it
/// returns are the ones the client connects to, a name that was public at
/// registration and points at 127.0.0.1 now (DNS rebinding) is stopped here.
/// It does not see IP-literal hosts; see [`Guard::check_connect_target`].
pub struct GuardedResolver {
    guard: Arc<Guard>,
    lookup: Lookup,
}

/// A custom name lookup for [`GuardedResolver::with_lookup`]: the host name
/// in, its addresses out (empty when it does not resolve).
pub type LookupFn = Arc<dyn Fn(&str) -> Vec<IpAddr> + Send + Sync>;

/// Where a [`GuardedResolver`] gets its answers from.
enum Lookup {
    /// `tokio::net::lookup_host`, i.e. the system resolver.
    System,
    /// A caller-supplied function, run on a blocking thread.
    Custom(LookupFn),
}

impl GuardedResolver {
    /// A resolver that asks the system resolver and applies `guard`.
    pub fn new(guard: Guard) -> GuardedResolver {
        GuardedResolver {
            guard: Arc::new(guard),
            lookup: Lookup::System,
        }
    }

    /// A resolver that asks `lookup` instead of the system resolver and
    /// applies `guard` to its answers exactly as [`GuardedResolver::new`]
    /// does: forbidden addresses are dropped and, if none is left, the
    /// request fails before it connects.
    ///
    /// This is the seam for tests (a lookup that answers a public address
    /// first and 127.0.0.1 next shows the guard stopping DNS rebinding) and
    /// for operators who resolve webhook hosts their own way. `lookup` is
    /// called once per connection attempt, on a blocking thread, so it may
    /// block; an empty answer means the name does not resolve.
    pub fn with_lookup(guard: Guard, lookup: LookupFn) -> GuardedResolver {
        GuardedResolver {
            guard: Arc::new(guard),
            lookup: Lookup::Custom(lookup),
        }
    }

    fn lookup(&self, host: String) -> impl Future<Output = Result<Addrs, SsrfError>> + use<> {
        let guard = Arc::clone(&self.guard);
        let custom = match &self.lookup {
            Lookup::System => None,
            Lookup::Custom(lookup) => Some(Arc::clone(lookup)),
        };
        async move {
            let unresolvable = |reason: String| SsrfError::Unresolvable {
                host: host.clone(),
                reason,
            };
            let found: Vec<SocketAddr> = match custom {
                // Port 0: reqwest puts the URL's port (or the scheme's) in.
                None => tokio::net::lookup_host((host.as_str(), 0))
                    .await
                    .map_err(|e| unresolvable(e.to_string()))?
                    .collect(),
                Some(lookup) => {
                    let name = host.clone();
                    tokio::task::spawn_blocking(move || lookup(&name))
                        .await
                        .map_err(|e| unresolvable(format!("the custom lookup failed: {e}")))?
                        .into_iter()
                        .map(|ip| SocketAddr::new(ip, 0))
                        .collect()
                }
            };
            let kept = guard.keep_allowed(&host, found)?;
            Ok(Box::new(kept.into_iter()) as Addrs)
        }
    }
}

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let lookup = self.lookup(name.as_str().to_owned());
        Box::pin(async move { lookup.await.map_err(Into::into) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Write};
    use std::net::{TcpListener, TcpStream};
    use std::sync::Mutex;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::{Duration, Instant};

    fn ip(text: &str) -> IpAddr {
        text.parse().expect("test address parses")
    }

    fn cidr(text: &str) -> Cidr {
        text.parse().expect("test network parses")
    }

    /// `(address, expected reason fragment or None for allowed)`.
    const TABLE: &[(&str, Option<&str>)] = &[
        // IPv4 public
        ("8.8.8.8", None),
        ("1.1.1.1", None),
        ("100.128.0.1", None),
        ("100.63.255.255", None),
        ("172.32.0.1", None),
        ("172.15.255.255", None),
        ("192.169.0.1", None),
        ("198.20.0.1", None),
        ("223.255.255.255", None),
        ("192.0.1.1", None),
        // IPv4 forbidden
        ("0.0.0.0", Some("unspecified")),
        ("0.1.2.3", Some("unspecified")),
        ("10.0.0.1", Some("RFC 1918")),
        ("172.16.0.1", Some("RFC 1918")),
        ("172.31.255.255", Some("RFC 1918")),
        ("192.168.1.1", Some("RFC 1918")),
        ("100.64.0.1", Some("CGNAT")),
        ("100.127.255.255", Some("CGNAT")),
        ("127.0.0.1", Some("loopback")),
        ("127.255.255.254", Some("loopback")),
        ("169.254.169.254", Some("metadata")),
        ("169.254.0.1", Some("link-local")),
        ("192.0.0.9", Some("IETF protocol")),
        ("192.0.0.170", Some("IETF protocol")),
        ("192.0.2.1", Some("documentation")),
        ("198.51.100.7", Some("documentation")),
        ("203.0.113.200", Some("documentation")),
        ("198.18.0.1", Some("benchmarking")),
        ("198.19.255.255", Some("benchmarking")),
        ("224.0.0.1", Some("multicast")),
        ("239.255.255.250", Some("multicast")),
        ("240.0.0.1", Some("reserved")),
        ("255.255.255.255", Some("broadcast")),
        // IPv6 public
        ("2606:4700:4700::1111", None),
        ("2001:4860:4860::8888", None),
        ("::ffff:8.8.8.8", None),
        ("64:ff9b::808:808", None),
        ("2002:808:808::1", None),
        // IPv6 forbidden
        ("::", Some("unspecified")),
        ("::1", Some("loopback")),
        ("fe80::1", Some("link-local")),
        ("febf:ffff::1", Some("link-local")),
        ("fec0::1", Some("site-local")),
        ("fd00::1", Some("unique local")),
        ("fc00::1", Some("unique local")),
        ("fd00:ec2::254", Some("unique local")),
        ("ff02::1", Some("multicast")),
        ("ff0e::1", Some("multicast")),
        ("2001:db8::1", Some("documentation")),
        ("3fff::1", Some("documentation")),
        ("2001:2::1", Some("benchmarking")),
        ("100::1", Some("discard-only")),
        ("64:ff9b:1::1", Some("NAT64 local")),
        ("::1:2:3:4", Some("reserved")),
        // IPv4 hidden in IPv6
        ("::ffff:127.0.0.1", Some("loopback")),
        ("::ffff:169.254.169.254", Some("metadata")),
        ("::ffff:10.1.2.3", Some("RFC 1918")),
        ("::ffff:0:127.0.0.1", Some("loopback")),
        ("::127.0.0.1", Some("loopback")),
        ("::8.8.8.8", Some("IPv4-compatible")),
        ("64:ff9b::a9fe:a9fe", Some("metadata")),
        ("64:ff9b::7f00:1", Some("loopback")),
        ("2002:7f00:1::", Some("loopback")),
        ("2002:a9fe:a9fe::1", Some("metadata")),
        ("2002:c0a8:101::1", Some("RFC 1918")),
        // Teredo with client 127.0.0.1 (inverted: 80ff:fffe)
        ("2001:0:4136:e378:8000:63bf:80ff:fffe", Some("loopback")),
    ];

    #[test]
    fn table_of_addresses() {
        assert!(TABLE.len() >= 40);
        let mut wrong = Vec::new();
        for (text, expected) in TABLE {
            let got = forbidden_reason(ip(text));
            let ok = match (expected, got) {
                (None, None) => true,
                (Some(fragment), Some(reason)) => reason.contains(fragment),
                _ => false,
            };
            if !ok {
                wrong.push(format!("{text}: expected {expected:?}, got {got:?}"));
            }
        }
        assert!(wrong.is_empty(), "misjudged:\n{}", wrong.join("\n"));
    }

    #[test]
    fn default_guard_agrees_with_table() {
        let guard = Guard::default();
        for (text, expected) in TABLE {
            assert_eq!(
                guard.check_ip(ip(text)).is_ok(),
                expected.is_none(),
                "{text}"
            );
        }
    }

    #[test]
    fn cidr_parses_good_networks() {
        let net = cidr("10.0.0.0/8");
        assert_eq!(net.to_string(), "10.0.0.0/8");
        assert_eq!(cidr("10.1.2.3/8"), net, "host bits are cleared");
        assert_eq!(cidr("::1/128").to_string(), "::1/128");
        assert_eq!(cidr("0.0.0.0/0").to_string(), "0.0.0.0/0");
        assert_eq!(cidr("fe80::1/10").to_string(), "fe80::/10");
        assert_eq!(cidr(" 1.2.3.4/32 ").to_string(), "1.2.3.4/32");
    }

    #[test]
    fn cidr_refuses_bad_text_and_names_it() {
        for bad in [
            "10.0.0.0/33",
            "1.2.3/8",
            "10.0.0.0",
            "::1/129",
            "10.0.0.0/",
            "10.0.0.0/x",
            "/8",
            "localhost/8",
            "",
        ] {
            let err = bad.parse::<Cidr>().expect_err(bad);
            assert!(err.contains(&format!("{bad:?}")), "{bad}: {err}");
        }
        let err = "10.0.0.0".parse::<Cidr>().expect_err("no prefix");
        assert!(err.contains("missing /prefix"), "{err}");
        let err = "10.0.0.0/33".parse::<Cidr>().expect_err("too long");
        assert!(err.contains("at most 32"), "{err}");
    }

    #[test]
    fn cidr_contains_v4_and_v6() {
        let v4 = cidr("10.0.0.0/8");
        assert!(v4.contains(ip("10.0.0.0")));
        assert!(v4.contains(ip("10.255.255.255")));
        assert!(!v4.contains(ip("11.0.0.0")));
        assert!(!v4.contains(ip("9.255.255.255")));
        assert!(
            v4.contains(ip("::ffff:10.1.2.3")),
            "mapped form is the same host"
        );
        assert!(!v4.contains(ip("::10.1.2.3")));
        assert!(!v4.contains(ip("a00::1")));

        let v6 = cidr("fd00::/8");
        assert!(v6.contains(ip("fd12:3456::1")));
        assert!(!v6.contains(ip("fc00::1")));
        assert!(!v6.contains(ip("253.0.0.1")));

        let one = cidr("::1/128");
        assert!(one.contains(ip("::1")));
        assert!(!one.contains(ip("::2")));
        assert!(!one.contains(ip("127.0.0.1")));

        assert!(cidr("0.0.0.0/0").contains(ip("203.0.113.9")));
        assert!(cidr("::/0").contains(ip("2606:4700::1")));
        assert!(cidr("192.168.1.7/32").contains(ip("192.168.1.7")));
        assert!(!cidr("192.168.1.7/32").contains(ip("192.168.1.8")));
        assert!(cidr("::ffff:0:0/96").contains(ip("1.2.3.4")));
    }

    #[test]
    fn allowance_opens_only_what_it_names() {
        let guard = Guard::new(vec![cidr("127.0.0.0/8")]);
        assert_eq!(guard.check_ip(ip("127.0.0.1")), Ok(()));
        assert_eq!(guard.check_ip(ip("127.1.2.3")), Ok(()));
        assert_eq!(guard.check_ip(ip("::ffff:127.0.0.1")), Ok(()));
        assert_eq!(
            guard.check_ip(ip("10.0.0.1")),
            Err(SsrfError::ForbiddenAddress {
                ip: ip("10.0.0.1"),
                reason: "private (RFC 1918)"
            })
        );
        let err = guard.check_ip(ip("::1")).expect_err("::1 is not allowed");
        assert!(err.to_string().contains("loopback"), "{err}");
        assert!(guard.check_ip(ip("8.8.8.8")).is_ok());
    }

    #[test]
    fn check_url_refuses_loopback_literal_unless_allowed() {
        let url = "http://127.0.0.1:8080/x";
        let err = Guard::default().check_url(url).expect_err("loopback");
        let text = err.to_string();
        assert!(text.contains("loopback"), "{text}");
        assert!(text.contains("127.0.0.1"), "{text}");
        assert!(text.contains("SSRF guard"), "{text}");
        let allowed = Guard::new(vec![cidr("127.0.0.0/8")]);
        assert_eq!(allowed.check_url(url), Ok(()));
    }

    #[test]
    fn check_url_refuses_other_schemes_and_userinfo() {
        let guard = Guard::default();
        assert_eq!(
            guard.check_url("ftp://example.com/"),
            Err(SsrfError::Scheme {
                scheme: "ftp".into()
            })
        );
        assert!(matches!(
            guard.check_url("file:///etc/passwd"),
            Err(SsrfError::Scheme { .. })
        ));
        let err = guard
            .check_url("http://user:pw@1.2.3.4/")
            .expect_err("userinfo");
        assert_eq!(
            err,
            SsrfError::UserInfo {
                host: "1.2.3.4".into()
            }
        );
        assert!(!err.to_string().contains("pw"), "no password echoed: {err}");
        assert!(matches!(
            guard.check_url("https://user@1.2.3.4/"),
            Err(SsrfError::UserInfo { .. })
        ));
        assert!(matches!(
            guard.check_url("not a url"),
            Err(SsrfError::InvalidUrl { .. })
        ));
        // Public literals pass without any DNS.
        assert_eq!(guard.check_url("https://1.2.3.4/hook"), Ok(()));
        assert_eq!(
            guard.check_url("https://[2606:4700:4700::1111]:8443/"),
            Ok(())
        );
    }

    #[test]
    fn check_url_refuses_names_and_literals_that_reach_inside() {
        let guard = Guard::default();
        let err = guard.check_url("http://localhost/").expect_err("localhost");
        assert!(
            matches!(&err, SsrfError::ForbiddenHost { host, reason: "loopback", .. } if host == "localhost"),
            "{err:?}"
        );

        let err = guard
            .check_url("http://[::ffff:127.0.0.1]/")
            .expect_err("mapped loopback");
        assert!(err.to_string().contains("loopback"), "{err}");

        let err = guard
            .check_url("http://169.254.169.254/latest/meta-data")
            .expect_err("metadata");
        let text = err.to_string();
        assert!(
            text.contains("metadata") && text.contains("link-local"),
            "{text}"
        );

        // Odd spellings the URL parser normalises to 127.0.0.1.
        for odd in ["http://2130706433/", "http://0x7f.1/", "http://127.1/"] {
            let err = guard.check_url(odd).expect_err(odd);
            assert!(err.to_string().contains("loopback"), "{odd}: {err}");
        }
        assert!(matches!(
            guard.check_url("http://[::]/"),
            Err(SsrfError::ForbiddenHost { .. })
        ));
    }

    #[test]
    fn check_url_refuses_names_that_do_not_resolve() {
        let err = Guard::default()
            .check_url("http://no-such-host.invalid/")
            .expect_err(".invalid never resolves");
        assert!(matches!(err, SsrfError::Unresolvable { .. }), "{err:?}");
    }

    #[test]
    fn check_url_async_matches_blocking() {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
            .expect("runtime");
        runtime.block_on(async {
            let guard = Guard::default();
            let err = guard
                .check_url_async("http://localhost:9/")
                .await
                .expect_err("localhost");
            assert!(err.to_string().contains("loopback"), "{err}");
            assert!(matches!(
                guard.check_url_async("gopher://example.com/").await,
                Err(SsrfError::Scheme { .. })
            ));
            let allowed = Guard::new(vec![cidr("127.0.0.0/8"), cidr("::1/128")]);
            assert_eq!(allowed.check_url_async("http://localhost:9/").await, Ok(()));
        });
    }

    #[test]
    fn check_connect_target_checks_literals_and_leaves_names_to_resolver() {
        let guard = Guard::default();
        let url = |text: &str| reqwest::Url::parse(text).expect("test URL parses");
        let err = guard
            .check_connect_target(&url("http://10.0.0.1/hook"))
            .expect_err("private literal");
        assert!(err.to_string().contains("RFC 1918"), "{err}");
        assert!(
            guard
                .check_connect_target(&url("http://[fe80::1]/"))
                .is_err()
        );
        assert_eq!(guard.check_connect_target(&url("https://8.8.8.8/")), Ok(()));
        // A name is not looked up here: the resolver sees its addresses.
        assert_eq!(
            guard.check_connect_target(&url("http://localhost/")),
            Ok(())
        );
        assert!(
            Guard::new(vec![cidr("10.0.0.0/8")])
                .check_connect_target(&url("http://10.0.0.1/"))
                .is_ok()
        );
    }

    #[test]
    fn resolver_keeps_allowed_answers_and_names_the_refused_one() {
        let guard = Guard::default();
        let mixed = [
            SocketAddr::new(ip("127.0.0.1"), 0),
            SocketAddr::new(ip("8.8.8.8"), 0),
        ];
        assert_eq!(
            guard.keep_allowed("rebind.example", mixed),
            Ok(vec![SocketAddr::new(ip("8.8.8.8"), 0)])
        );
        assert_eq!(
            guard.keep_allowed("rebind.example", [SocketAddr::new(ip("10.0.0.1"), 0)]),
            Err(SsrfError::ForbiddenHost {
                host: "rebind.example".into(),
                ip: ip("10.0.0.1"),
                reason: "private (RFC 1918)",
            })
        );
        assert!(matches!(
            guard.keep_allowed("empty.example", []),
            Err(SsrfError::Unresolvable { .. })
        ));
    }

    /// A listener on 127.0.0.1 that records the peer of every connection and
    /// answers each request with an empty 200.
    fn recording_listener() -> (u16, Arc<Mutex<Vec<SocketAddr>>>) {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind listener");
        let port = listener.local_addr().expect("listener address").port();
        let peers = Arc::new(Mutex::new(Vec::new()));
        let seen = Arc::clone(&peers);
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { continue };
                if let Ok(peer) = stream.peer_addr() {
                    seen.lock().expect("peers lock").push(peer);
                }
                let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
                let mut request = Vec::new();
                let mut buf = [0u8; 1024];
                while !request.windows(4).any(|w| w == b"\r\n\r\n") {
                    match stream.read(&mut buf) {
                        Ok(0) | Err(_) => break,
                        Ok(n) => request.extend_from_slice(&buf[..n]),
                    }
                }
                let _ = stream.write_all(
                    b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: close\r\n\r\n",
                );
            }
        });
        (port, peers)
    }

    fn error_chain(err: &dyn std::error::Error) -> String {
        let mut text = err.to_string();
        let mut source = err.source();
        while let Some(inner) = source {
            text.push_str(" / ");
            text.push_str(&inner.to_string());
            source = inner.source();
        }
        text
    }

    #[test]
    fn resolver_stops_the_request_before_it_connects() {
        let (port, peers) = recording_listener();
        let client = reqwest::blocking::Client::builder()
            .dns_resolver(Arc::new(GuardedResolver::new(Guard::default())))
            .no_proxy()
            .timeout(Duration::from_secs(10))
            .build()
            .expect("client");
        let err = client
            .get(format!("http://localhost:{port}/"))
            .send()
            .expect_err("the guard refuses localhost");
        let text = error_chain(&err);
        assert!(text.contains("SSRF guard"), "{text}");
        assert!(
            text.contains("localhost") && text.contains("loopback"),
            "{text}"
        );
        // What a delivery records says how to let a local receiver through.
        assert!(
            text.contains("to [webhooks] allow_networks in the server config"),
            "{text}"
        );

        assert_no_connection_but_a_sentinel(port, &peers);
    }

    /// Defect: a refusal did not say how to allow a receiver on purpose. Each
    /// refusal names the network to add to `[webhooks] allow_networks`, and
    /// adding exactly that network lets the address through.
    #[test]
    fn a_refusal_names_the_network_that_allows_it() {
        for (address, network) in [
            ("127.0.0.1", "127.0.0.0/8"),
            ("127.5.6.7", "127.0.0.0/8"),
            ("::ffff:127.0.0.1", "127.0.0.0/8"),
            ("::1", "::1/128"),
            ("10.1.2.3", "10.1.2.3/32"),
            ("192.168.0.20", "192.168.0.20/32"),
            ("169.254.169.254", "169.254.169.254/32"),
            ("fd00::5", "fd00::5/128"),
            ("::ffff:10.0.0.1", "::ffff:10.0.0.1/128"),
        ] {
            let err = Guard::default()
                .check_ip(ip(address))
                .expect_err("forbidden by default");
            let text = err.to_string();
            let hint = format!(
                "to allow it, add \"{network}\" to [webhooks] allow_networks in the server config"
            );
            assert!(text.ends_with(&hint), "{address}: {text}");
            let allowed = Guard::new(vec![cidr(network)]);
            assert_eq!(
                allowed.check_ip(ip(address)),
                Ok(()),
                "{address} with {network}"
            );
        }
        // The host form (registration, and a literal at delivery) says it too.
        let err = Guard::default()
            .check_url("http://127.0.0.1:9000/hook")
            .expect_err("loopback");
        assert!(
            err.to_string()
                .contains("add \"127.0.0.0/8\" to [webhooks] allow_networks"),
            "{err}"
        );
        let url = reqwest::Url::parse("http://[::1]:9000/hook").expect("url");
        let err = Guard::default()
            .check_connect_target(&url)
            .expect_err("loopback literal at send");
        assert!(
            err.to_string()
                .contains("add \"::1/128\" to [webhooks] allow_networks"),
            "{err}"
        );
    }

    /// Asserts the listener at `port` accepted no connection before now.
    ///
    /// A sentinel connection proves the listener is alive and counting:
    /// once it shows up, it must be the only connection ever accepted.
    fn assert_no_connection_but_a_sentinel(port: u16, peers: &Mutex<Vec<SocketAddr>>) {
        let sentinel = TcpStream::connect(("127.0.0.1", port)).expect("sentinel connects");
        let sentinel_addr = sentinel.local_addr().expect("sentinel address");
        drop(sentinel);
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let seen = peers.lock().expect("peers lock").clone();
            if seen.contains(&sentinel_addr) {
                assert_eq!(seen, vec![sentinel_addr], "the guarded request connected");
                break;
            }
            assert!(Instant::now() < deadline, "listener never saw the sentinel");
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// RELIABILITY promise 8: a name that resolves to a public address on
    /// one send and to 127.0.0.1 on the next (DNS rebinding) is stopped on
    /// the second send, before anything connects to loopback.
    #[test]
    fn a_rebinding_name_is_stopped_on_the_second_send() {
        let (port, peers) = recording_listener();
        let calls = Arc::new(AtomicUsize::new(0));
        let counted = Arc::clone(&calls);
        let lookup: LookupFn = Arc::new(move |host: &str| {
            assert_eq!(host, "rebind.test");
            // A public address nothing answers on here (and the tests have
            // no network): allowed by the guard, merely unreachable.
            match counted.fetch_add(1, Ordering::SeqCst) {
                0 => vec![ip("93.184.216.34")],
                _ => vec![ip("127.0.0.1")],
            }
        });
        let client =
            Guard::client_builder_with(GuardedResolver::with_lookup(Guard::default(), lookup))
                // No pooled connection may spare the second send its lookup.
                .pool_max_idle_per_host(0)
                .connect_timeout(Duration::from_millis(300))
                .timeout(Duration::from_secs(1))
                .build()
                .expect("client");
        let url = format!("http://rebind.test:{port}/hook");

        let first = client.post(&url).send();
        assert_eq!(calls.load(Ordering::SeqCst), 1, "first send looked up once");
        if let Err(err) = &first {
            let text = error_chain(err);
            assert!(
                !text.contains("SSRF guard"),
                "the public answer was refused: {text}"
            );
        }

        let err = client
            .post(&url)
            .send()
            .expect_err("the guard refuses the rebound name");
        assert_eq!(
            calls.load(Ordering::SeqCst),
            2,
            "second send looked up again"
        );
        let text = error_chain(&err);
        assert!(text.contains("SSRF guard"), "{text}");
        assert!(
            text.contains("rebind.test") && text.contains("loopback"),
            "{text}"
        );

        assert_no_connection_but_a_sentinel(port, &peers);
    }

    #[test]
    fn resolver_lets_allowed_ranges_through() {
        let (port, peers) = recording_listener();
        let guard = Guard::new(vec![
            "127.0.0.0/8".parse().expect("v4 loopback"),
            "::1/128".parse().expect("v6 loopback"),
        ]);
        let client = guard
            .client_builder()
            .timeout(Duration::from_secs(10))
            .build()
            .expect("client");
        let url = reqwest::Url::parse(&format!("http://localhost:{port}/")).expect("url");
        assert_eq!(guard.check_connect_target(&url), Ok(()));
        let response = client.get(url).send().expect("allowed request is sent");
        assert_eq!(response.status(), reqwest::StatusCode::OK);
        assert_eq!(peers.lock().expect("peers lock").len(), 1);
    }
}
