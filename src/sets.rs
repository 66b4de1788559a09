//! Set algebra for header-space evaluation: interval sets over protocol numbers, ports and
//! addresses, name sets over interfaces and zones, and [`Space`], their product.

use std::collections::BTreeSet;
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use smallvec::{smallvec, SmallVec};

/// Ranges of an [`IntervalSet`]: most sets are one range (a port, a prefix, everything), kept
/// inline so building and cloning a [`Space`] does not allocate.
type Ranges = SmallVec<[(u128, u128); 1]>;

/// A set of integers in `0..=MAX`, kept as sorted, disjoint, non-adjacent inclusive ranges.
#[derive(PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct IntervalSet<const MAX: u128> {
    ranges: Ranges,
}

/// A copy of the ranges as one block (the derived clone copied them one by one through an
/// iterator: sets are cloned with every match space, half a million times on a fleet).
impl<const MAX: u128> Clone for IntervalSet<MAX> {
    fn clone(&self) -> Self {
        IntervalSet {
            ranges: Ranges::from_slice(&self.ranges),
        }
    }
}

pub type ProtoSet = IntervalSet<255>;
pub type PortSet = IntervalSet<65535>;
/// Addresses as IPv6; IPv4 addresses are mapped into `::ffff:0:0/96`.
pub type AddrSet = IntervalSet<{ u128::MAX }>;

impl<const MAX: u128> IntervalSet<MAX> {
    pub fn empty() -> Self {
        IntervalSet {
            ranges: SmallVec::new(),
        }
    }
    pub fn full() -> Self {
        IntervalSet {
            ranges: smallvec![(0, MAX)],
        }
    }
    pub fn single(v: u128) -> Self {
        Self::range(v, v)
    }
    /// `lo..=hi`; reversed bounds are swapped, values above MAX are clamped.
    pub fn range(lo: u128, hi: u128) -> Self {
        let (lo, hi) = if lo <= hi { (lo, hi) } else { (hi, lo) };
        if lo > MAX {
            return Self::empty();
        }
        IntervalSet {
            ranges: smallvec![(lo, hi.min(MAX))],
        }
    }
    pub fn from_ranges(it: impl IntoIterator<Item = (u128, u128)>) -> Self {
        let mut v: Vec<(u128, u128)> = it
            .into_iter()
            .filter(|&(lo, hi)| lo.min(hi) <= MAX)
            .map(|(lo, hi)| {
                if lo <= hi {
                    (lo, hi.min(MAX))
                } else {
                    (hi, lo.min(MAX))
                }
            })
            .collect();
        v.sort_unstable();
        let mut out: Ranges = SmallVec::with_capacity(v.len());
        for (lo, hi) in v {
            if let Some(last) = out.last_mut() {
                if lo <= last.1.saturating_add(1) {
                    last.1 = last.1.max(hi);
                    continue;
                }
            }
            out.push((lo, hi));
        }
        IntervalSet { ranges: out }
    }
    pub fn ranges(&self) -> &[(u128, u128)] {
        &self.ranges
    }
    pub fn is_empty(&self) -> bool {
        self.ranges.is_empty()
    }
    pub fn is_full(&self) -> bool {
        self.ranges[..] == [(0, MAX)]
    }
    pub fn contains(&self, v: u128) -> bool {
        self.ranges.iter().any(|&(lo, hi)| lo <= v && v <= hi)
    }
    /// Number of values, saturating.
    pub fn count(&self) -> u128 {
        self.ranges.iter().fold(0u128, |acc, &(lo, hi)| {
            acc.saturating_add((hi - lo).saturating_add(1))
        })
    }
    pub fn union(&self, other: &Self) -> Self {
        Self::from_ranges(self.ranges.iter().chain(other.ranges.iter()).copied())
    }
    pub fn intersect(&self, other: &Self) -> Self {
        // Most sets are one range. Two of them meet in at most one range, without the sweep.
        if let ([(a0, a1)], [(b0, b1)]) = (&self.ranges[..], &other.ranges[..]) {
            let (lo, hi) = ((*a0).max(*b0), (*a1).min(*b1));
            return if lo <= hi {
                IntervalSet {
                    ranges: smallvec![(lo, hi)],
                }
            } else {
                IntervalSet::empty()
            };
        }
        // One range against several: the other set's ranges that meet it, clipped, found by a
        // binary search and counted first, so the result is built at its size (a growing
        // result moved to the heap and grew there range by range).
        if let ([(lo, hi)], many) | (many, [(lo, hi)]) = (&self.ranges[..], &other.ranges[..]) {
            let (lo, hi) = (*lo, *hi);
            let first = many.partition_point(|&(_, a1)| a1 < lo);
            let meeting = &many[first..];
            let n = meeting.partition_point(|&(a0, _)| a0 <= hi);
            let mut out = Ranges::with_capacity(n);
            out.extend(
                meeting[..n]
                    .iter()
                    .map(|&(a0, a1)| (a0.max(lo), a1.min(hi))),
            );
            return IntervalSet { ranges: out };
        }
        let (mut i, mut j) = (0, 0);
        let mut out = Ranges::new();
        while i < self.ranges.len() && j < other.ranges.len() {
            let (a0, a1) = self.ranges[i];
            let (b0, b1) = other.ranges[j];
            let lo = a0.max(b0);
            let hi = a1.min(b1);
            if lo <= hi {
                out.push((lo, hi));
            }
            if a1 < b1 {
                i += 1;
            } else {
                j += 1;
            }
        }
        IntervalSet { ranges: out }
    }
    pub fn complement(&self) -> Self {
        let mut out = Ranges::new();
        let mut next: u128 = 0;
        let mut done = false;
        for &(lo, hi) in &self.ranges {
            if lo > next {
                out.push((next, lo - 1));
            }
            if hi == MAX {
                done = true;
                break;
            }
            next = hi + 1;
        }
        if !done {
            out.push((next, MAX));
        }
        IntervalSet { ranges: out }
    }
    pub fn difference(&self, other: &Self) -> Self {
        if other.is_empty() || self.is_empty() {
            return self.clone();
        }
        // One sweep over both (sorted, disjoint) lists: what each range of `self` keeps between
        // the ranges of `other` that overlap it.
        let mut out = Ranges::new();
        let mut j = 0;
        for &(lo, hi) in &self.ranges {
            while j < other.ranges.len() && other.ranges[j].1 < lo {
                j += 1;
            }
            let mut lo = lo;
            let mut covered = false;
            while j < other.ranges.len() && other.ranges[j].0 <= hi {
                let (b0, b1) = other.ranges[j];
                if b0 > lo {
                    out.push((lo, b0 - 1));
                }
                if b1 >= hi {
                    // `other.ranges[j]` may reach into the next range of `self`: keep it.
                    covered = true;
                    break;
                }
                lo = b1 + 1;
                j += 1;
            }
            if !covered {
                out.push((lo, hi));
            }
        }
        IntervalSet { ranges: out }
    }
    /// Whether every value of `self` is in `other`, without building the difference: each range
    /// of `self` must lie inside one range of `other` (ranges are canonical, never adjacent).
    pub fn is_subset(&self, other: &Self) -> bool {
        let mut j = 0;
        for &(lo, hi) in &self.ranges {
            while j < other.ranges.len() && other.ranges[j].1 < lo {
                j += 1;
            }
            match other.ranges.get(j) {
                Some(&(b0, b1)) if b0 <= lo && hi <= b1 => {}
                _ => return false,
            }
        }
        true
    }
    /// `!self.intersect(other).is_empty()`, without building the intersection.
    pub fn intersects(&self, other: &Self) -> bool {
        let (mut i, mut j) = (0, 0);
        while i < self.ranges.len() && j < other.ranges.len() {
            let (a0, a1) = self.ranges[i];
            let (b0, b1) = other.ranges[j];
            if a0.max(b0) <= a1.min(b1) {
                return true;
            }
            if a1 < b1 {
                i += 1;
            } else {
                j += 1;
            }
        }
        false
    }
}

impl<const MAX: u128> fmt::Debug for IntervalSet<MAX> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{{")?;
        for (i, (lo, hi)) in self.ranges.iter().enumerate() {
            if i > 0 {
                write!(f, ",")?;
            }
            if lo == hi {
                write!(f, "{lo}")?;
            } else {
                write!(f, "{lo}-{hi}")?;
            }
        }
        write!(f, "}}")
    }
}

impl PortSet {
    /// `5060`, `10000-20000`, `5060,5061` (as in pack files and reports).
    pub fn render(&self) -> String {
        if self.is_full() {
            return "any".into();
        }
        self.ranges
            .iter()
            .map(|&(lo, hi)| {
                if lo == hi {
                    lo.to_string()
                } else {
                    format!("{lo}-{hi}")
                }
            })
            .collect::<Vec<_>>()
            .join(",")
    }
}

/// IP protocol numbers used by the model.
pub mod proto {
    pub const ICMP: u128 = 1;
    pub const TCP: u128 = 6;
    pub const UDP: u128 = 17;
    pub const ICMPV6: u128 = 58;
    pub const SCTP: u128 = 132;

    /// Protocol number from a name or number as written in exports.
    pub fn from_name(s: &str) -> Option<u128> {
        let l = s.to_ascii_lowercase();
        Some(match l.as_str() {
            "icmp" => ICMP,
            "igmp" => 2,
            "ipip" | "ipinip" | "ipencap" => 4,
            "tcp" => TCP,
            "udp" => UDP,
            "gre" => 47,
            "esp" => 50,
            "ah" => 51,
            "icmpv6" | "ipv6-icmp" | "icmp6" => ICMPV6,
            "eigrp" => 88,
            "ospf" | "ospfigp" => 89,
            "pim" => 103,
            "vrrp" => 112,
            "l2tp" => 115,
            "sctp" => SCTP,
            _ => return l.parse::<u8>().ok().map(u128::from),
        })
    }

    pub fn name(p: u128) -> String {
        match p {
            ICMP => "icmp".into(),
            TCP => "tcp".into(),
            UDP => "udp".into(),
            ICMPV6 => "icmpv6".into(),
            SCTP => "sctp".into(),
            47 => "gre".into(),
            50 => "esp".into(),
            51 => "ah".into(),
            _ => p.to_string(),
        }
    }

    /// Protocols that carry ports.
    pub fn has_ports(p: u128) -> bool {
        matches!(p, TCP | UDP | SCTP)
    }
}

const V4_MAPPED: u128 = 0xffff_0000_0000;

/// The address as a point in the model's address space.
pub fn addr_value(ip: IpAddr) -> u128 {
    match ip {
        IpAddr::V4(v4) => (V4_MAPPED << 32) | u128::from(u32::from(v4)),
        IpAddr::V6(v6) => u128::from(v6),
    }
}

/// The reserved block 240.0.0.0/5 where host names get their pseudo addresses.
pub fn host_block() -> AddrSet {
    AddrSet::range(
        (V4_MAPPED << 32) | 0xf000_0000,
        (V4_MAPPED << 32) | 0xf7ff_ffff,
    )
}

/// A host name (or an FQDN pattern such as `*.example.com`) as a deterministic pseudo address in
/// the reserved block 240.0.0.0/5: FNV-1a of the lower-cased name, trailing dot removed. An FQDN
/// object is the set of the pseudo addresses of its names, so `any` covers every name while an
/// address object never does; which names a pattern matches is decided on the names themselves
/// (see [`fqdn_matches`]), the addresses only say which rules name them.
pub fn host_addr(name: &str) -> u128 {
    let mut h: u32 = 0x811c_9dc5;
    for b in normalize_host(name).bytes() {
        h ^= u32::from(b);
        h = h.wrapping_mul(0x0100_0193);
    }
    (V4_MAPPED << 32) | 0xf000_0000 | u128::from(h & 0x07ff_ffff)
}

/// A host name or pattern as compared: lower case, surrounding spaces, quotes and the trailing
/// dot removed.
pub fn normalize_host(name: &str) -> String {
    name.trim()
        .trim_matches('"')
        .trim_end_matches('.')
        .to_ascii_lowercase()
}

/// Whether the FQDN `pattern` (a name, or `*.domain` for every name under the domain) matches
/// the host `host` (a name, or `*.domain` standing for some name under the domain that no exact
/// object is known to name). A wildcard matches names strictly under its domain (`*.example.com`
/// does not match `example.com`), as FortiGate, PAN-OS and the others do; a wildcard host is
/// matched by wildcards for its domain or a parent domain.
pub fn fqdn_matches(pattern: &str, host: &str) -> bool {
    let p = normalize_host(pattern);
    let h = normalize_host(host);
    if p.is_empty() || h.is_empty() {
        return false;
    }
    if p == h {
        return true;
    }
    let Some(pd) = p.strip_prefix("*.") else {
        return false;
    };
    // An exact host, or the domain of a wildcard host: strictly under the pattern's domain.
    // (`*.a.com` against `*.a.com` was the equality above.)
    let hd = h.strip_prefix("*.").unwrap_or(&h);
    hd.strip_suffix(pd)
        .is_some_and(|head| head.len() > 1 && head.ends_with('.'))
}

/// Whether a string looks like a DNS name (letters, digits, `-`, `.`, `_`, an optional leading
/// `*.`) with at least one dot and a label that is not all digits, so addresses are not taken for
/// names.
pub fn looks_like_fqdn(s: &str) -> bool {
    let n = normalize_host(s);
    let body = n.strip_prefix("*.").unwrap_or(&n);
    !body.is_empty()
        && body.len() <= 253
        && body.contains('.')
        && body.split('.').all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && l.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        })
        && body
            .rsplit('.')
            .next()
            .is_some_and(|tld| !tld.bytes().all(|b| b.is_ascii_digit()))
}

/// All IPv4 addresses.
pub fn all_v4() -> AddrSet {
    AddrSet::range(V4_MAPPED << 32, (V4_MAPPED << 32) | u128::from(u32::MAX))
}

/// All IPv6 addresses that are not IPv4-mapped.
pub fn all_v6() -> AddrSet {
    all_v4().complement()
}

/// One special-purpose IPv4 block, with which of portaudit's "not public" sets hold it.
#[derive(Clone, Copy, Debug)]
pub struct SpecialV4 {
    pub net: &'static str,
    /// What the block is (IANA IPv4 Special-Purpose Address Registry, RFC 6890 and its
    /// successors; multicast and the reserved class E).
    pub what: &'static str,
    /// In [`non_public_v4`]: not "the internet" as a source (`forbidden-exposure`).
    pub non_public: bool,
    /// In [`non_host_v4`]: not an address a public host name resolves to (required flows to
    /// host roles).
    pub non_host: bool,
    /// In [`bogons_v4`]: blocked by pfSense/OPNsense "Block bogon networks".
    pub bogon: bool,
}

/// The special-purpose IPv4 blocks portaudit knows, each with the sets that hold it. The three
/// sets differ on purpose:
/// - [`non_public_v4`] (untrusted sources, `forbidden-exposure`) leaves out only what cannot come
///   from the internet in practice: private, shared (CGN), loopback, link-local and "this
///   network". Everything else counts as public, so an exposure check errs towards reporting:
///   benchmarking, documentation (TEST-NET) and IETF-assigned blocks stay untrusted, and so do
///   multicast and 240.0.0.0/4, where FQDN objects get their pseudo addresses ([`host_block`]),
///   so a rule from a named internet host is a rule from an untrusted source.
/// - [`non_host_v4`] (the addresses a public host name may resolve to are the rest) also leaves
///   out the IETF protocol assignments, benchmarking, multicast and reserved blocks, which DNS
///   does not hand out for a public name; 240.0.0.0/4 holds the pseudo addresses of names, which
///   are not what a name resolves to. The documentation blocks stay in: samples and test
///   configurations use them for public servers, so a deny of one of them before the allow may
///   be a deny of what the name resolves to.
/// - [`bogons_v4`] approximates pfSense's bogon table, which also holds the documentation
///   blocks: a packet from those on the WAN is spoofed, whatever examples use them for.
pub const SPECIAL_V4: &[SpecialV4] = &[
    special("0.0.0.0/8", "\"this network\" (RFC 791)", true, true, true),
    special("10.0.0.0/8", "private (RFC 1918)", true, true, true),
    special(
        "100.64.0.0/10",
        "shared address space, CGN (RFC 6598)",
        true,
        true,
        true,
    ),
    special("127.0.0.0/8", "loopback (RFC 1122)", true, true, true),
    special("169.254.0.0/16", "link-local (RFC 3927)", true, true, true),
    special("172.16.0.0/12", "private (RFC 1918)", true, true, true),
    special(
        "192.0.0.0/24",
        "IETF protocol assignments (RFC 6890)",
        false,
        true,
        true,
    ),
    special(
        "192.0.2.0/24",
        "documentation, TEST-NET-1 (RFC 5737)",
        false,
        false,
        true,
    ),
    special("192.168.0.0/16", "private (RFC 1918)", true, true, true),
    special(
        "198.18.0.0/15",
        "benchmarking (RFC 2544)",
        false,
        true,
        true,
    ),
    special(
        "198.51.100.0/24",
        "documentation, TEST-NET-2 (RFC 5737)",
        false,
        false,
        true,
    ),
    special(
        "203.0.113.0/24",
        "documentation, TEST-NET-3 (RFC 5737)",
        false,
        false,
        true,
    ),
    special("224.0.0.0/4", "multicast (RFC 5771)", false, true, true),
    special(
        "240.0.0.0/4",
        "reserved, class E (RFC 1112)",
        false,
        true,
        true,
    ),
];

const fn special(
    net: &'static str,
    what: &'static str,
    non_public: bool,
    non_host: bool,
    bogon: bool,
) -> SpecialV4 {
    SpecialV4 {
        net,
        what,
        non_public,
        non_host,
        bogon,
    }
}

/// The union of the [`SPECIAL_V4`] blocks that `pick` selects.
fn special_v4(pick: fn(&SpecialV4) -> bool) -> AddrSet {
    SPECIAL_V4
        .iter()
        .filter(|b| pick(b))
        .filter_map(|b| parse_net(b.net))
        .fold(AddrSet::empty(), |acc, n| acc.union(&n))
}

/// IPv4 addresses that are not "the internet" as a source (see [`SPECIAL_V4`]).
pub fn non_public_v4() -> AddrSet {
    special_v4(|b| b.non_public)
}

/// IPv4 addresses a public host name does not resolve to (see [`SPECIAL_V4`]).
pub fn non_host_v4() -> AddrSet {
    special_v4(|b| b.non_host)
}

/// IPv4 bogons as pfSense/OPNsense "Block bogon networks" drops them (see [`SPECIAL_V4`]).
pub fn bogons_v4() -> AddrSet {
    special_v4(|b| b.bogon)
}

/// The set of addresses in a network.
pub fn net_set(net: ipnet::IpNet) -> AddrSet {
    AddrSet::range(addr_value(net.network()), addr_value(net.broadcast()))
}

/// Addresses from `lo` to `hi` inclusive.
pub fn addr_range(lo: IpAddr, hi: IpAddr) -> AddrSet {
    AddrSet::range(addr_value(lo), addr_value(hi))
}

/// Parse `A.B.C.D`, `A.B.C.D/len`, IPv6 forms, or `A.B.C.D MASK` is left to callers.
pub fn parse_net(s: &str) -> Option<AddrSet> {
    if let Ok(n) = s.parse::<ipnet::IpNet>() {
        return Some(net_set(n.trunc()));
    }
    if let Ok(ip) = s.parse::<IpAddr>() {
        return Some(AddrSet::single(addr_value(ip)));
    }
    None
}

/// Network from an address and a dotted netmask (`10.0.0.0 255.255.255.0`); a non-contiguous
/// mask gives None.
pub fn net_from_mask(addr: &str, mask: &str) -> Option<AddrSet> {
    let a: Ipv4Addr = addr.parse().ok()?;
    let m: Ipv4Addr = mask.parse().ok()?;
    let len = ipnet::ipv4_mask_to_prefix(m).ok()?;
    Some(net_set(ipnet::IpNet::V4(
        ipnet::Ipv4Net::new(a, len).ok()?.trunc(),
    )))
}

/// Render an address set compactly as CIDR blocks (at most `max` of them, then "…").
pub fn render_addrs(set: &AddrSet, max: usize) -> String {
    if set.is_full() {
        return "any".into();
    }
    if *set == all_v4() {
        return "any IPv4".into();
    }
    let mut out = Vec::new();
    'outer: for &(lo, hi) in set.ranges() {
        let mut cur = lo;
        loop {
            if out.len() >= max {
                out.push("…".to_string());
                break 'outer;
            }
            // Largest aligned block starting at cur that fits in [cur, hi].
            let mut size_bits = if cur == 0 { 128 } else { cur.trailing_zeros() };
            while size_bits > 0 {
                let last = if size_bits == 128 {
                    u128::MAX
                } else {
                    cur + ((1u128 << size_bits) - 1)
                };
                if last <= hi {
                    break;
                }
                size_bits -= 1;
            }
            out.push(render_block(cur, size_bits));
            let last = if size_bits == 128 {
                u128::MAX
            } else {
                cur + ((1u128 << size_bits) - 1)
            };
            if last >= hi {
                break;
            }
            cur = last + 1;
        }
    }
    out.join(", ")
}

fn render_block(start: u128, size_bits: u32) -> String {
    if start >> 32 == V4_MAPPED && size_bits <= 32 {
        let ip = Ipv4Addr::from((start & 0xffff_ffff) as u32);
        if size_bits == 0 {
            ip.to_string()
        } else {
            format!("{ip}/{}", 32 - size_bits)
        }
    } else {
        let ip = Ipv6Addr::from(start);
        if size_bits == 0 {
            ip.to_string()
        } else {
            format!("{ip}/{}", 128 - size_bits)
        }
    }
}

/// The names of a [`NameSet`], shared: spaces are copied at every split of the flow walk and
/// of the rule subtraction, and their zone sets almost never change there.
pub type Names = std::sync::Arc<BTreeSet<String>>;

/// A set of interface or zone names (an infinite universe, so complements are kept symbolic).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum NameSet {
    /// Every name.
    Any,
    /// Exactly these names.
    Only(Names),
    /// Every name except these.
    Except(Names),
}

impl NameSet {
    pub fn only<I: IntoIterator<Item = S>, S: Into<String>>(names: I) -> Self {
        NameSet::Only(Names::new(names.into_iter().map(Into::into).collect()))
    }
    pub fn is_empty(&self) -> bool {
        matches!(self, NameSet::Only(s) if s.is_empty())
    }
    pub fn is_any(&self) -> bool {
        matches!(self, NameSet::Any) || matches!(self, NameSet::Except(s) if s.is_empty())
    }
    pub fn contains(&self, name: &str) -> bool {
        match self {
            NameSet::Any => true,
            NameSet::Only(s) => s.contains(name),
            NameSet::Except(s) => !s.contains(name),
        }
    }
    /// One name of the set (the first of `Only`; for `Any` and `Except`, a name none of the
    /// exceptions is), or `None` when it is empty.
    pub fn member(&self) -> Option<String> {
        match self {
            NameSet::Only(s) => s.first().cloned(),
            NameSet::Any => Some(String::new()),
            NameSet::Except(s) => {
                let mut name = String::new();
                while s.contains(&name) {
                    name.push('~');
                }
                Some(name)
            }
        }
    }
    /// `NameSet::only(self.member())` of a set that is not empty, sharing what it can: a set of
    /// one name is its own, and every `Any` gives the same set of the empty name (corners are
    /// taken tens of thousands of times a fleet).
    fn one_member(&self) -> NameSet {
        static EMPTY_NAME: std::sync::LazyLock<Names> =
            std::sync::LazyLock::new(|| Names::new(BTreeSet::from([String::new()])));
        match self {
            NameSet::Only(s) if s.len() == 1 => NameSet::Only(s.clone()),
            NameSet::Any => NameSet::Only(EMPTY_NAME.clone()),
            _ => NameSet::only(self.member()),
        }
    }
    pub fn complement(&self) -> Self {
        match self {
            NameSet::Any => NameSet::Only(Names::default()),
            NameSet::Only(s) => NameSet::Except(s.clone()),
            NameSet::Except(s) => NameSet::Only(s.clone()),
        }
    }
    pub fn intersect(&self, other: &Self) -> Self {
        use NameSet::*;
        match (self, other) {
            (Any, x) | (x, Any) => x.clone(),
            // The same names on both sides (a rule's zones met by a part of the traffic that
            // came through them): shared, not rebuilt.
            (Only(a), Only(b)) if a == b => Only(a.clone()),
            (Only(a), Only(b)) => Only(Names::new(a.intersection(b).cloned().collect())),
            (Only(a), Except(b)) | (Except(b), Only(a)) if a.is_disjoint(b) => Only(a.clone()),
            (Only(a), Except(b)) | (Except(b), Only(a)) => {
                Only(Names::new(a.difference(b).cloned().collect()))
            }
            (Except(a), Except(b)) if a == b => Except(a.clone()),
            (Except(a), Except(b)) => Except(Names::new(a.union(b).cloned().collect())),
        }
    }
    /// `!self.intersect(other).is_empty()`, without building the intersection.
    pub fn intersects(&self, other: &Self) -> bool {
        use NameSet::*;
        match (self, other) {
            (Any, x) | (x, Any) => !x.is_empty(),
            // Looking each name of the smaller set up in the other: zone sets are a name or
            // two, for which building BTreeSet's intersection iterator costs more.
            (Only(a), Only(b)) => {
                let (small, large) = if a.len() <= b.len() { (a, b) } else { (b, a) };
                small.iter().any(|n| large.contains(n))
            }
            (Only(a), Except(b)) | (Except(b), Only(a)) => a.iter().any(|n| !b.contains(n)),
            (Except(_), Except(_)) => true,
        }
    }
    /// Whether every name of `self` is in `other`, without building the difference.
    pub fn is_subset(&self, other: &Self) -> bool {
        use NameSet::*;
        match (self, other) {
            (_, Any) => true,
            (Only(a), _) if a.is_empty() => true,
            (Any, Except(b)) => b.is_empty(),
            (Any, Only(_)) | (Except(_), Only(_)) => false,
            (Only(a), Only(b)) => a.is_subset(b),
            (Only(a), Except(b)) => a.is_disjoint(b),
            (Except(a), Except(b)) => b.is_subset(a),
        }
    }
    pub fn union(&self, other: &Self) -> Self {
        self.complement()
            .intersect(&other.complement())
            .complement()
    }
    pub fn difference(&self, other: &Self) -> Self {
        self.intersect(&other.complement())
    }
    pub fn render(&self) -> String {
        match self {
            NameSet::Any => "any".into(),
            NameSet::Only(s) => s.iter().cloned().collect::<Vec<_>>().join(","),
            NameSet::Except(s) if s.is_empty() => "any".into(),
            NameSet::Except(s) => {
                format!("not {}", s.iter().cloned().collect::<Vec<_>>().join(","))
            }
        }
    }
}

/// A product set of packet headers: protocol x source x destination x source port x
/// destination port x ingress interface/zone x egress interface/zone.
///
/// Ports constrain only protocols that carry them; a rule that matches "icmp" has full port sets.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Space {
    pub proto: ProtoSet,
    pub src: AddrSet,
    pub dst: AddrSet,
    pub sport: PortSet,
    pub dport: PortSet,
    pub src_zone: NameSet,
    pub dst_zone: NameSet,
}

impl Default for Space {
    fn default() -> Self {
        Space::all()
    }
}

impl Space {
    /// Every packet.
    pub fn all() -> Self {
        Space {
            proto: ProtoSet::full(),
            src: AddrSet::full(),
            dst: AddrSet::full(),
            sport: PortSet::full(),
            dport: PortSet::full(),
            src_zone: NameSet::Any,
            dst_zone: NameSet::Any,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.proto.is_empty()
            || self.src.is_empty()
            || self.dst.is_empty()
            || self.sport.is_empty()
            || self.dport.is_empty()
            || self.src_zone.is_empty()
            || self.dst_zone.is_empty()
    }

    pub fn intersect(&self, o: &Space) -> Space {
        Space {
            proto: self.proto.intersect(&o.proto),
            src: self.src.intersect(&o.src),
            dst: self.dst.intersect(&o.dst),
            sport: self.sport.intersect(&o.sport),
            dport: self.dport.intersect(&o.dport),
            src_zone: self.src_zone.intersect(&o.src_zone),
            dst_zone: self.dst_zone.intersect(&o.dst_zone),
        }
    }

    /// One packet of the space, as a space of single values (the lowest protocol, addresses
    /// and ports, and a member of each zone set), or `None` when the space is empty.
    pub fn corner(&self) -> Option<Space> {
        if self.is_empty() {
            return None;
        }
        let low = |r: &[(u128, u128)]| r[0].0;
        Some(Space {
            proto: ProtoSet::single(low(self.proto.ranges())),
            src: AddrSet::single(low(self.src.ranges())),
            dst: AddrSet::single(low(self.dst.ranges())),
            sport: PortSet::single(low(self.sport.ranges())),
            dport: PortSet::single(low(self.dport.ranges())),
            src_zone: self.src_zone.one_member(),
            dst_zone: self.dst_zone.one_member(),
        })
    }

    /// `!self.intersect(o).is_empty()`, without building the intersection (the cheap,
    /// most selective dimensions first).
    pub fn intersects(&self, o: &Space) -> bool {
        self.proto.intersects(&o.proto)
            && self.dport.intersects(&o.dport)
            && self.dst.intersects(&o.dst)
            && self.src.intersects(&o.src)
            && self.sport.intersects(&o.sport)
            && self.src_zone.intersects(&o.src_zone)
            && self.dst_zone.intersects(&o.dst_zone)
    }

    /// Dimension by dimension, without building anything: a non-empty product lies inside
    /// another exactly when each of its sets does.
    pub fn is_subset(&self, o: &Space) -> bool {
        self.is_empty()
            || (self.dport.is_subset(&o.dport)
                && self.dst.is_subset(&o.dst)
                && self.src.is_subset(&o.src)
                && self.proto.is_subset(&o.proto)
                && self.sport.is_subset(&o.sport)
                && self.src_zone.is_subset(&o.src_zone)
                && self.dst_zone.is_subset(&o.dst_zone))
    }

    /// `self \ o` as disjoint spaces.
    pub fn difference(&self, o: &Space) -> Vec<Space> {
        if !self.intersects(o) {
            return vec![self.clone()];
        }
        self.clone().split_off(o)
    }

    /// `self \ o` as disjoint spaces, taking `self` by value: each piece is one copy of what is
    /// left, and a dimension inside `o` is neither split nor copied. For a space that meets `o`
    /// this is [`Space::difference`]; one that does not may come back in several pieces.
    pub fn split_off(self, o: &Space) -> Vec<Space> {
        let mut out = Vec::new();
        let mut cur = self;
        macro_rules! split {
            ($f:ident) => {{
                if !cur.$f.is_subset(&o.$f) {
                    let inside = cur.$f.intersect(&o.$f);
                    cur.$f = cur.$f.difference(&o.$f);
                    out.push(cur.clone());
                    cur.$f = inside;
                }
            }};
        }
        split!(proto);
        split!(dport);
        split!(src);
        split!(dst);
        split!(sport);
        split!(src_zone);
        split!(dst_zone);
        out.retain(|s| !s.is_empty());
        out
    }
}

/// [`union_difference`] in place, for callers to whom the order of the pieces does not matter
/// (only what they cover and how many there are): pieces `o` does not meet stay where they
/// are, a piece it meets gives way to its first remainder and the others go at the end.
/// Returns whether `o` met any piece.
pub fn subtract(spaces: &mut Vec<Space>, o: &Space) -> bool {
    let mut emptied = Vec::new();
    let mut met = false;
    for i in 0..spaces.len() {
        if !spaces[i].intersects(o) {
            continue;
        }
        met = true;
        if spaces[i].is_subset(o) {
            emptied.push(i);
            continue;
        }
        let mut rest = std::mem::take(&mut spaces[i]).split_off(o).into_iter();
        match rest.next() {
            Some(first) => {
                spaces[i] = first;
                spaces.extend(rest);
            }
            None => emptied.push(i),
        }
    }
    // Highest first, so every index still points at the piece it named.
    for &i in emptied.iter().rev() {
        spaces.swap_remove(i);
    }
    met
}

/// Subtract `o` from every space of a union. Spaces that `o` does not meet are moved, not
/// copied: subtracting rule after rule from a fragmented remainder touches few of its pieces.
pub fn union_difference(spaces: Vec<Space>, o: &Space) -> Vec<Space> {
    let mut out = Vec::with_capacity(spaces.len());
    for s in spaces {
        if s.intersects(o) {
            out.extend(s.split_off(o));
        } else {
            out.push(s);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A corner's zones are `NameSet::only(member)`, shared or not: one name of the set (its
    /// own for a single name, the empty name for any, a name outside the exceptions).
    #[test]
    fn a_corner_takes_one_member_of_each_zone_set() {
        let sets = [
            NameSet::Any,
            NameSet::only(["inside"]),
            NameSet::only(["dmz", "inside"]),
            NameSet::Except(Names::new(BTreeSet::from([String::new(), "~".to_owned()]))),
        ];
        for z in &sets {
            let space = Space {
                src_zone: z.clone(),
                dst_zone: z.clone(),
                ..Space::all()
            };
            let corner = space.corner().unwrap();
            assert_eq!(corner.src_zone, NameSet::only(z.member()), "{z:?}");
            assert_eq!(corner.dst_zone, NameSet::only(z.member()), "{z:?}");
            assert!(corner.is_subset(&space), "{z:?}");
        }
        assert_eq!(
            Space::all().corner().unwrap().src_zone,
            NameSet::only([String::new()])
        );
    }

    /// The old literal lists each user of [`SPECIAL_V4`] had.
    fn union_of(list: &[&str]) -> AddrSet {
        list.iter()
            .map(|n| parse_net(n).unwrap())
            .fold(AddrSet::empty(), |a, b| a.union(&b))
    }

    #[test]
    fn special_v4_subsets_are_the_old_lists() {
        // exposure::NON_PUBLIC (its IPv4 part).
        assert_eq!(
            non_public_v4(),
            union_of(&[
                "0.0.0.0/8",
                "10.0.0.0/8",
                "100.64.0.0/10",
                "127.0.0.0/8",
                "169.254.0.0/16",
                "172.16.0.0/12",
                "192.168.0.0/16",
            ])
        );
        // required_flow::public_v4's exclusions.
        assert_eq!(
            non_host_v4(),
            union_of(&[
                "0.0.0.0/8",
                "10.0.0.0/8",
                "100.64.0.0/10",
                "127.0.0.0/8",
                "169.254.0.0/16",
                "172.16.0.0/12",
                "192.0.0.0/24",
                "192.168.0.0/16",
                "198.18.0.0/15",
                "224.0.0.0/3",
            ])
        );
        // pfxml::BOGONS_V4.
        assert_eq!(
            bogons_v4(),
            union_of(&[
                "0.0.0.0/8",
                "10.0.0.0/8",
                "100.64.0.0/10",
                "127.0.0.0/8",
                "169.254.0.0/16",
                "172.16.0.0/12",
                "192.0.0.0/24",
                "192.0.2.0/24",
                "192.168.0.0/16",
                "198.18.0.0/15",
                "198.51.100.0/24",
                "203.0.113.0/24",
                "224.0.0.0/4",
                "240.0.0.0/4",
            ])
        );
        for b in SPECIAL_V4 {
            let n = parse_net(b.net).unwrap();
            assert!(all_v4().intersect(&n) == n, "{} is not IPv4", b.net);
        }
    }

    #[test]
    fn host_names_and_patterns() {
        let a = host_addr("STUN.ucontactcloud.com.");
        assert_eq!(a, host_addr("stun.ucontactcloud.com"));
        assert!(host_block().contains(a));
        assert!(!host_block().contains(addr_value("8.8.8.8".parse().unwrap())));
        assert_ne!(a, host_addr("monitor.ucontactcloud.com"));
        assert!(all_v4().is_subset(&AddrSet::full()) && host_block().is_subset(&all_v4()));
        assert!(fqdn_matches(
            "stun.ucontactcloud.com",
            "Stun.UContactCloud.com"
        ));
        assert!(fqdn_matches(
            "*.ucontactcloud.com",
            "stun.ucontactcloud.com"
        ));
        assert!(fqdn_matches("*.ucontactcloud.com", "a.b.ucontactcloud.com"));
        assert!(!fqdn_matches("*.ucontactcloud.com", "ucontactcloud.com"));
        assert!(!fqdn_matches(
            "*.ucontactcloud.com",
            "evilucontactcloud.com"
        ));
        assert!(!fqdn_matches(
            "stun.ucontactcloud.com",
            "*.ucontactcloud.com"
        ));
        assert!(fqdn_matches("*.ucontactcloud.com", "*.ucontactcloud.com"));
        assert!(fqdn_matches("*.com", "*.ucontactcloud.com"));
        assert!(!fqdn_matches(
            "*.a.ucontactcloud.com",
            "*.ucontactcloud.com"
        ));
        assert!(!fqdn_matches("", "x.com"));
        assert!(looks_like_fqdn("www.example.com") && looks_like_fqdn("*.github.com"));
        assert!(
            !looks_like_fqdn("10.0.0.1") && !looks_like_fqdn("lan") && !looks_like_fqdn("a..b")
        );
    }

    #[test]
    fn interval_algebra() {
        let a = PortSet::range(10000, 20000);
        let b = PortSet::range(10000, 15000);
        assert_eq!(a.difference(&b), PortSet::range(15001, 20000));
        assert_eq!(PortSet::full().complement(), PortSet::empty());
        assert_eq!(PortSet::empty().complement(), PortSet::full());
        assert_eq!(
            PortSet::from_ranges([(5, 7), (8, 9), (1, 2)]).ranges(),
            &[(1, 2), (5, 9)]
        );
        assert_eq!(PortSet::range(1, 70000).ranges(), &[(1, 65535)]);
        assert_eq!(
            PortSet::from_ranges([(5060, 5061), (10000, 20000)]).render(),
            "5060-5061,10000-20000"
        );
    }

    #[test]
    fn intersects_agrees_with_intersect() {
        // Every pair of small interval sets over 0..12 drawn from a fixed list.
        let sets: Vec<PortSet> = [
            vec![],
            vec![(0, 0)],
            vec![(3, 5)],
            vec![(5, 5)],
            vec![(6, 9)],
            vec![(0, 2), (6, 7)],
            vec![(1, 1), (4, 4), (8, 11)],
            vec![(2, 3), (9, 9)],
            vec![(0, 65535)],
        ]
        .into_iter()
        .map(PortSet::from_ranges)
        .collect();
        for a in &sets {
            for b in &sets {
                assert_eq!(a.intersects(b), !a.intersect(b).is_empty(), "{a:?} {b:?}");
            }
        }
        let names = |v: &[&str]| Names::new(v.iter().map(|s| s.to_string()).collect());
        let ns = [
            NameSet::Any,
            NameSet::Only(names(&[])),
            NameSet::Only(names(&["a"])),
            NameSet::Only(names(&["a", "b"])),
            NameSet::Only(names(&["c"])),
            NameSet::Except(names(&[])),
            NameSet::Except(names(&["a"])),
            NameSet::Only(names(&["b", "c", "d"])),
            NameSet::Except(names(&["a", "b"])),
        ];
        for a in &ns {
            for b in &ns {
                assert_eq!(a.intersects(b), !a.intersect(b).is_empty(), "{a:?} {b:?}");
                assert_eq!(a.is_subset(b), a.difference(b).is_empty(), "{a:?} {b:?}");
            }
        }
        let mut x = Space::all();
        x.dport = PortSet::range(5060, 5060);
        let mut y = Space::all();
        y.dport = PortSet::range(10000, 20000);
        assert!(!x.intersects(&y) && x.intersect(&y).is_empty());
        assert!(x.intersects(&Space::all()));
        assert_eq!(x.difference(&y), vec![x.clone()]);
    }

    #[test]
    fn addr_render() {
        let s = parse_net("10.0.0.0/8").unwrap();
        assert_eq!(render_addrs(&s, 5), "10.0.0.0/8");
        let r = addr_range("10.0.0.1".parse().unwrap(), "10.0.0.6".parse().unwrap());
        assert_eq!(
            render_addrs(&r, 9),
            "10.0.0.1, 10.0.0.2/31, 10.0.0.4/31, 10.0.0.6"
        );
        assert!(
            net_from_mask("10.1.2.3", "255.255.0.0").unwrap() == parse_net("10.1.0.0/16").unwrap()
        );
        assert!(net_from_mask("10.1.2.3", "255.0.255.0").is_none());
    }

    /// The one-sweep difference is the intersection with the complement, range for range
    /// (same canonical ranges), on random sets that touch, nest, abut and reach both ends.
    #[test]
    fn interval_difference_is_intersection_with_complement() {
        let mut rng = crate::testing::Rng(0x9E37_79B9_7F4A_7C15);
        let mut next = |n: u64| rng.below(n) as u128;
        let random_set = |next: &mut dyn FnMut(u64) -> u128| {
            let n = next(5);
            PortSet::from_ranges((0..n).map(|_| {
                // Mostly small values, so ranges overlap; sometimes at either end.
                let lo = match next(6) {
                    0 => 0,
                    1 => 65535 - next(20),
                    _ => next(60),
                };
                (lo, (lo + next(20)).min(65535))
            }))
        };
        for _ in 0..20_000 {
            let a = random_set(&mut next);
            let b = random_set(&mut next);
            let want = a.intersect(&b.complement());
            assert_eq!(a.difference(&b), want, "{a:?} \\ {b:?}");
            assert_eq!(a.is_subset(&b), want.is_empty(), "{a:?} in {b:?}");
        }
        assert_eq!(
            PortSet::full().difference(&PortSet::range(0, 10)),
            PortSet::range(11, 65535)
        );
        assert_eq!(
            PortSet::full().difference(&PortSet::range(65000, 65535)),
            PortSet::range(0, 64999)
        );
        assert!(PortSet::range(5, 9).difference(&PortSet::full()).is_empty());
    }

    /// The intersection, value by value, of random sets of none, one and several ranges (the
    /// single-range shortcuts against the sweep): the values both hold, as canonical ranges.
    #[test]
    fn intersect_holds_the_values_both_hold() {
        let mut rng = crate::testing::Rng(0x2545_F491_4F6C_DD1D);
        let mut random_set = || {
            let n = rng.below(4);
            let ranges: Vec<(u128, u128)> = (0..n)
                .map(|_| {
                    let lo = rng.below(70) as u128;
                    (lo, lo + rng.below(12) as u128)
                })
                .collect();
            PortSet::from_ranges(ranges)
        };
        for _ in 0..20_000 {
            let (a, b) = (random_set(), random_set());
            let both = a.intersect(&b);
            let want = PortSet::from_ranges(
                (0..90)
                    .filter(|&v| a.contains(v) && b.contains(v))
                    .map(|v| (v, v)),
            );
            assert_eq!(both, want, "{a:?} & {b:?}");
            assert_eq!(b.intersect(&a), want, "{b:?} & {a:?}");
        }
    }

    /// In-place subtraction leaves the pieces `union_difference` gives, in some order.
    #[test]
    fn subtract_gives_the_pieces_of_union_difference() {
        let port = |lo, hi| Space {
            proto: ProtoSet::single(proto::UDP),
            dport: PortSet::range(lo, hi),
            ..Space::all()
        };
        let mut hole = port(15, 25);
        hole.src = parse_net("10.0.0.0/8").unwrap();
        let cuts = [hole, port(0, 12), port(30, 30), port(0, 65535)];
        let mut pieces = vec![port(10, 20), port(22, 40), port(100, 200)];
        for a in cuts.iter().chain(&pieces) {
            for b in cuts.iter().chain(&pieces) {
                assert_eq!(a.is_subset(b), a.difference(b).is_empty(), "{a:?} in {b:?}");
            }
        }
        let mut reference = pieces.clone();
        for cut in &cuts {
            let met = reference.iter().any(|p| p.intersects(cut));
            reference = union_difference(reference, cut);
            assert_eq!(subtract(&mut pieces, cut), met);
            let (mut a, mut b) = (pieces.clone(), reference.clone());
            a.sort();
            b.sort();
            assert_eq!(a, b);
        }
        assert!(pieces.is_empty());
    }

    #[test]
    fn space_difference_is_disjoint_and_complete() {
        let mut a = Space::all();
        a.proto = ProtoSet::single(proto::UDP);
        a.dport = PortSet::range(10000, 20000);
        let mut b = Space::all();
        b.dport = PortSet::range(12000, 13000);
        b.src = parse_net("10.0.0.0/8").unwrap();
        let d = a.difference(&b);
        for x in &d {
            assert!(x.intersect(&b).is_empty());
        }
        // the union of d and a∩b gives back a: check by volume on ports x src
        let ab = a.intersect(&b);
        assert!(!ab.is_empty());
        assert!(ab.is_subset(&a));
        assert_eq!(d.len(), 2);
    }

    #[test]
    fn names() {
        let a = NameSet::only(["wan"]);
        assert!(a.complement().contains("lan"));
        assert!(a.intersect(&a.complement()).is_empty());
        assert_eq!(
            NameSet::Any.difference(&a),
            NameSet::Except(Names::new(["wan".to_string()].into()))
        );
    }
}
