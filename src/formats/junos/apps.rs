//! Junos predefined applications (`junos-*`) and the port names Junos accepts.

use crate::sets::{proto, PortSet, ProtoSet};

/// One alternative of an application: protocol x source ports x destination ports.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AppTerm {
    pub proto: ProtoSet,
    pub sport: PortSet,
    pub dport: PortSet,
}

impl AppTerm {
    pub fn any() -> Self {
        AppTerm {
            proto: ProtoSet::full(),
            sport: PortSet::full(),
            dport: PortSet::full(),
        }
    }
    fn port(p: u128, lo: u128, hi: u128) -> Self {
        AppTerm {
            proto: ProtoSet::single(p),
            sport: PortSet::full(),
            dport: PortSet::range(lo, hi),
        }
    }
    fn proto_only(p: u128) -> Self {
        AppTerm {
            proto: ProtoSet::single(p),
            sport: PortSet::full(),
            dport: PortSet::full(),
        }
    }
}

/// A predefined application: its terms, and a note when Junos matches less than the terms say
/// (ICMP type restrictions).
pub struct Predefined {
    pub terms: Vec<AppTerm>,
    pub note: Option<&'static str>,
}

const T: u128 = proto::TCP;
const U: u128 = proto::UDP;

/// The predefined `junos-*` applications (and `any`) that portaudit knows.
pub fn predefined(name: &str) -> Option<Predefined> {
    let tcp = |lo, hi| AppTerm::port(T, lo, hi);
    let udp = |lo, hi| AppTerm::port(U, lo, hi);
    let mut note = None;
    let terms = match name {
        "any" => vec![AppTerm::any()],
        "junos-ftp" => vec![tcp(21, 21)],
        "junos-ftp-data" => vec![tcp(20, 20)],
        "junos-tftp" => vec![udp(69, 69)],
        "junos-ssh" => vec![tcp(22, 22)],
        "junos-telnet" => vec![tcp(23, 23)],
        "junos-smtp" => vec![tcp(25, 25)],
        "junos-smtps" => vec![tcp(465, 465)],
        "junos-dns-udp" => vec![udp(53, 53)],
        "junos-dns-tcp" => vec![tcp(53, 53)],
        "junos-http" => vec![tcp(80, 80)],
        "junos-https" => vec![tcp(443, 443)],
        "junos-http-ext" => vec![tcp(7001, 7001)],
        "junos-pop3" => vec![tcp(110, 110)],
        "junos-imap" => vec![tcp(143, 143)],
        "junos-imaps" => vec![tcp(993, 993)],
        "junos-ntp" => vec![udp(123, 123)],
        "junos-snmp-get" | "junos-snmp-get-next" | "junos-snmp-response" => {
            vec![udp(161, 161)]
        }
        "junos-snmp-trap" => vec![udp(162, 162)],
        "junos-snmp-agentx" => vec![tcp(705, 705)],
        "junos-sip" => vec![udp(5060, 5060), tcp(5060, 5060)],
        "junos-rdp" | "junos-ms-rdp" => vec![tcp(3389, 3389)],
        "junos-ldap" => vec![tcp(389, 389)],
        "junos-bgp" => vec![tcp(179, 179)],
        "junos-syslog" => vec![udp(514, 514)],
        "junos-radius" => vec![udp(1812, 1812)],
        "junos-radacct" => vec![udp(1813, 1813)],
        "junos-ike" => vec![udp(500, 500)],
        "junos-ike-nat" => vec![udp(4500, 4500)],
        "junos-dhcp-client" => vec![udp(68, 68)],
        "junos-dhcp-server" => vec![udp(67, 67)],
        "junos-bootpc" => vec![udp(68, 68)],
        "junos-bootps" => vec![udp(67, 67)],
        "junos-mssql" => vec![tcp(1433, 1433)],
        "junos-mysql" => vec![tcp(3306, 3306)],
        "junos-sqlnet-v2" => vec![tcp(1521, 1521)],
        "junos-nntp" => vec![tcp(119, 119)],
        "junos-pptp" => vec![tcp(1723, 1723)],
        "junos-rtsp" => vec![tcp(554, 554)],
        "junos-smb" | "junos-smb-session" => vec![tcp(445, 445)],
        "junos-netbios-session" => vec![tcp(139, 139)],
        "junos-sccp" => vec![tcp(2000, 2000)],
        "junos-mgcp-ua" => vec![udp(2427, 2427)],
        "junos-mgcp-ca" => vec![udp(2727, 2727)],
        "junos-h323" => vec![tcp(1720, 1720), udp(1719, 1719)],
        "junos-vnc" => vec![tcp(5800, 5800), tcp(5900, 5900)],
        "junos-x-windows" => vec![tcp(6000, 6063)],
        "junos-ident" => vec![tcp(113, 113)],
        "junos-whois" => vec![tcp(43, 43)],
        "junos-tcp-any" => vec![tcp(0, 65535)],
        "junos-udp-any" => vec![udp(0, 65535)],
        "junos-gre" => vec![AppTerm::proto_only(47)],
        "junos-ospf" => vec![AppTerm::proto_only(89)],
        "junos-icmp-all" => vec![AppTerm::proto_only(proto::ICMP)],
        "junos-icmp6-all" => vec![AppTerm::proto_only(proto::ICMPV6)],
        "junos-ping" | "junos-icmp-ping" => {
            note = Some("matches only ICMP echo (type 8), not every ICMP type");
            vec![AppTerm::proto_only(proto::ICMP)]
        }
        "junos-pingv6" => {
            note = Some("matches only ICMPv6 echo (type 128), not every ICMPv6 type");
            vec![AppTerm::proto_only(proto::ICMPV6)]
        }
        _ => return None,
    };
    Some(Predefined { terms, note })
}

/// Port numbers for the names Junos accepts in `destination-port` / `source-port`.
pub fn port_by_name(name: &str) -> Option<u128> {
    Some(match name {
        "ftp-data" => 20,
        "ftp" => 21,
        "ssh" => 22,
        "telnet" => 23,
        "smtp" => 25,
        "tacacs" => 49,
        "tacacs-ds" => 65,
        "domain" => 53,
        "bootps" => 67,
        "bootpc" => 68,
        "tftp" => 69,
        "finger" => 79,
        "http" => 80,
        "kerberos-sec" => 88,
        "pop3" => 110,
        "sunrpc" => 111,
        "ident" => 113,
        "nntp" => 119,
        "ntp" => 123,
        "netbios-ns" => 137,
        "netbios-dgm" => 138,
        "netbios-ssn" => 139,
        "imap" => 143,
        "snmp" => 161,
        "snmptrap" => 162,
        "xdmcp" => 177,
        "bgp" => 179,
        "ldap" => 389,
        "mobileip-agent" => 434,
        "mobilip-mn" => 435,
        "https" => 443,
        "exec" => 512,
        "login" => 513,
        "cmd" | "syslog" => 514,
        "printer" => 515,
        "talk" => 517,
        "ntalk" => 518,
        "rip" => 520,
        "timed" => 525,
        "klogin" => 543,
        "kpasswd" => 761,
        "krb-prop" => 754,
        "krbupdate" => 760,
        "eklogin" => 2105,
        "kshell" => 544,
        "ldp" => 646,
        "radius" => 1812,
        "radacct" => 1813,
        "nfsd" => 2049,
        "cvspserver" => 2401,
        "sip" => 5060,
        "zephyr-clt" => 2103,
        "zephyr-hm" => 2104,
        "zephyr-srv" => 2102,
        "socks" => 1080,
        "pptp" => 1723,
        "biff" => 512,
        "who" => 513,
        "dhcp" => 67,
        "afs" => 1483,
        "bfd-control" => 3784,
        "bfd-echo" => 3785,
        "http-alt" => 8080,
        _ => return None,
    })
}

/// Parse a Junos port value: `80`, `http`, `10000-20000`, `http-8080`... `None` when not
/// understood.
pub fn parse_ports(v: &str) -> Option<PortSet> {
    let one = |s: &str| -> Option<u128> {
        s.parse::<u128>()
            .ok()
            .filter(|&n| n <= 65535)
            .or_else(|| port_by_name(s))
    };
    if let Some(p) = one(v) {
        return Some(PortSet::single(p));
    }
    // A range: split at each `-` and keep the split where both sides are ports (names may
    // contain `-` themselves: `ftp-data-ftp`).
    for (i, _) in v.match_indices('-') {
        if let (Some(lo), Some(hi)) = (one(&v[..i]), one(&v[i + 1..])) {
            if lo <= hi {
                return Some(PortSet::range(lo, hi));
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ports_and_predefined() {
        assert_eq!(
            parse_ports("10000-20000"),
            Some(PortSet::range(10000, 20000))
        );
        assert_eq!(parse_ports("pop3"), Some(PortSet::single(110)));
        assert_eq!(parse_ports("ftp-data-ftp"), Some(PortSet::range(20, 21)));
        assert_eq!(parse_ports("nonsense"), None);
        let sip = predefined("junos-sip").unwrap();
        assert_eq!(sip.terms.len(), 2);
        assert!(sip.terms.iter().any(|t| t.proto == ProtoSet::single(U)));
        assert!(sip.terms.iter().any(|t| t.proto == ProtoSet::single(T)));
        assert!(sip.terms.iter().all(|t| t.dport == PortSet::single(5060)));
        assert!(predefined("junos-nope").is_none());
    }
}
