//! Synthetic fleets for benchmarks: N devices spread over every supported format, R rules each,
//! deterministic from a seed. Every device is first drawn as a vendor-neutral [`Plan`] (address
//! objects, groups, services, rules), then written in its vendor's syntax.
//!
//! Shared by the `genfleet` binary, the criterion benchmarks and `tests/genfleet.rs` (included
//! with `#[path]`, so the library does not carry it).

use std::fmt::Write as _;

/// splitmix64: small, fast, and the same sequence on every platform.
#[derive(Clone, Debug)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (n > 0).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n.max(1)
    }

    /// True with probability `pct` percent.
    pub fn chance(&mut self, pct: u64) -> bool {
        self.below(100) < pct
    }
}

/// One output flavour per parser entry point (some formats have two syntaxes).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Fortios,
    Asa,
    Ios,
    JunosSet,
    JunosCurly,
    PanosXml,
    PanosSet,
    Pfsense,
    Opnsense,
    Iptables,
    NftText,
    NftJson,
    Mikrotik,
    Checkpoint,
    Aws,
    Azure,
    Gcp,
    Ucontact,
}

impl Kind {
    pub const ALL: [Kind; 18] = [
        Kind::Fortios,
        Kind::Asa,
        Kind::Ios,
        Kind::JunosSet,
        Kind::JunosCurly,
        Kind::PanosXml,
        Kind::PanosSet,
        Kind::Pfsense,
        Kind::Opnsense,
        Kind::Iptables,
        Kind::NftText,
        Kind::NftJson,
        Kind::Mikrotik,
        Kind::Checkpoint,
        Kind::Aws,
        Kind::Azure,
        Kind::Gcp,
        Kind::Ucontact,
    ];

    /// Short name used in file names.
    pub fn slug(self) -> &'static str {
        match self {
            Kind::Fortios => "fortios",
            Kind::Asa => "asa",
            Kind::Ios => "ios",
            Kind::JunosSet => "junos-set",
            Kind::JunosCurly => "junos-curly",
            Kind::PanosXml => "panos-xml",
            Kind::PanosSet => "panos-set",
            Kind::Pfsense => "pfsense",
            Kind::Opnsense => "opnsense",
            Kind::Iptables => "iptables",
            Kind::NftText => "nftables-text",
            Kind::NftJson => "nftables-json",
            Kind::Mikrotik => "mikrotik",
            Kind::Checkpoint => "checkpoint",
            Kind::Aws => "aws",
            Kind::Azure => "azure",
            Kind::Gcp => "gcp",
            Kind::Ucontact => "ucontact",
        }
    }

    /// The portaudit format id (`Format::id`) the file must be recognised as.
    pub fn format_id(self) -> &'static str {
        match self {
            Kind::JunosSet | Kind::JunosCurly => "junos",
            Kind::PanosXml | Kind::PanosSet => "panos",
            Kind::NftText | Kind::NftJson => "nftables",
            k => k.slug(),
        }
    }

    pub fn ext(self) -> &'static str {
        match self {
            Kind::Fortios | Kind::JunosCurly => "conf",
            Kind::Asa | Kind::Ios => "cfg",
            Kind::JunosSet | Kind::PanosSet => "set",
            Kind::PanosXml | Kind::Pfsense | Kind::Opnsense => "xml",
            Kind::Iptables => "rules",
            Kind::NftText => "nft",
            Kind::NftJson | Kind::Checkpoint | Kind::Aws | Kind::Azure | Kind::Gcp => "json",
            Kind::Mikrotik => "rsc",
            Kind::Ucontact => "yaml",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Proto {
    Tcp,
    Udp,
}

impl Proto {
    fn name(self) -> &'static str {
        match self {
            Proto::Tcp => "tcp",
            Proto::Udp => "udp",
        }
    }
    fn number(self) -> u8 {
        match self {
            Proto::Tcp => 6,
            Proto::Udp => 17,
        }
    }
}

/// A destination service: protocol and port range.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Svc {
    pub proto: Proto,
    pub lo: u16,
    pub hi: u16,
}

impl Svc {
    fn ports(&self, sep: &str) -> String {
        if self.lo == self.hi {
            self.lo.to_string()
        } else {
            format!("{}{sep}{}", self.lo, self.hi)
        }
    }
    fn name(&self) -> String {
        if self.lo == self.hi {
            format!("{}-{}", self.proto.name(), self.lo)
        } else {
            format!("{}-{}-{}", self.proto.name(), self.lo, self.hi)
        }
    }
}

/// An IPv4 network (a host when `len` is 32).
#[derive(Clone, Copy, Debug)]
pub struct Net {
    pub ip: [u8; 4],
    pub len: u8,
}

impl Net {
    fn addr(&self) -> String {
        let [a, b, c, d] = self.ip;
        format!("{a}.{b}.{c}.{d}")
    }
    fn cidr(&self) -> String {
        format!("{}/{}", self.addr(), self.len)
    }
    fn mask_bits(&self) -> u32 {
        if self.len == 0 {
            0
        } else {
            u32::MAX << (32 - self.len as u32)
        }
    }
    fn mask(&self) -> String {
        let m = self.mask_bits().to_be_bytes();
        format!("{}.{}.{}.{}", m[0], m[1], m[2], m[3])
    }
    fn wildcard(&self) -> String {
        let m = (!self.mask_bits()).to_be_bytes();
        format!("{}.{}.{}.{}", m[0], m[1], m[2], m[3])
    }
}

/// A rule's source or destination.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Addr {
    Any,
    Obj(usize),
    Grp(usize),
}

#[derive(Clone, Debug)]
pub struct Rule {
    pub name: String,
    pub allow: bool,
    /// None: any protocol and port.
    pub svc: Option<usize>,
    pub src: Addr,
    pub dst: Addr,
    pub disabled: bool,
    pub log: bool,
}

/// One device, vendor-neutral.
#[derive(Clone, Debug)]
pub struct Plan {
    pub host: String,
    /// SIP helper / ALG on (the vendor default for most) or explicitly off.
    pub sip_helper: bool,
    pub objs: Vec<Net>,
    pub grps: Vec<Vec<usize>>,
    pub svcs: Vec<Svc>,
    pub rules: Vec<Rule>,
}

const SIP: Svc = Svc {
    proto: Proto::Udp,
    lo: 5060,
    hi: 5060,
};
const SIP_TCP: Svc = Svc {
    proto: Proto::Tcp,
    lo: 5060,
    hi: 5061,
};
const RTP: Svc = Svc {
    proto: Proto::Udp,
    lo: 10000,
    hi: 20000,
};
const RTP_LOW: Svc = Svc {
    proto: Proto::Udp,
    lo: 16384,
    hi: 32767,
};
const TELNET: Svc = Svc {
    proto: Proto::Tcp,
    lo: 23,
    hi: 23,
};
const FTP: Svc = Svc {
    proto: Proto::Tcp,
    lo: 21,
    hi: 21,
};
const COMMON_TCP: [u16; 10] = [443, 80, 22, 3389, 8443, 1433, 25, 389, 636, 5432];

impl Plan {
    /// Draw a device with `rules` rules.
    pub fn new(host: String, rules: usize, rng: &mut Rng) -> Plan {
        let n_objs = (rules / 6).clamp(8, 20_000);
        let objs: Vec<Net> = (0..n_objs)
            .map(|i| {
                let b = ((i / 200) % 250) as u8 + 1;
                let c = (i % 200) as u8 + 1;
                if rng.chance(25) {
                    Net {
                        ip: [10, b, c, 0],
                        len: 24,
                    }
                } else {
                    Net {
                        ip: [10, b, c, (rng.below(250) + 2) as u8],
                        len: 32,
                    }
                }
            })
            .collect();
        let n_grps = (rules / 40).clamp(2, 2_000);
        let grps = (0..n_grps)
            .map(|_| {
                let k = 2 + rng.below(3) as usize;
                (0..k).map(|_| rng.below(n_objs as u64) as usize).collect()
            })
            .collect();
        let mut svcs = vec![SIP, SIP_TCP, RTP, RTP_LOW, TELNET, FTP];
        svcs.extend(COMMON_TCP.iter().map(|&p| Svc {
            proto: Proto::Tcp,
            lo: p,
            hi: p,
        }));
        svcs.push(Svc {
            proto: Proto::Udp,
            lo: 53,
            hi: 53,
        });
        let n_svcs = svcs.len() as u64;
        let mut plan = Plan {
            host,
            sip_helper: rng.chance(50),
            objs,
            grps,
            svcs,
            rules: Vec::with_capacity(rules),
        };
        // Beyond this many rules a device has about as many `any` sides and broad rules as one
        // of this size: large rule bases name their endpoints. At 5 % of sides for any size, a
        // 100,000-rule device had an any-to-any rule for each service within its first few
        // hundred rules and 88 % of its rules unreachable behind them.
        const BROAD_UP_TO: u64 = 1000;
        let few =
            |rng: &mut Rng| rules as u64 <= BROAD_UP_TO || rng.below(rules as u64) < BROAD_UP_TO;
        let addr = |rng: &mut Rng, plan: &Plan| -> Addr {
            // `any` on 5 % of sides, so ~0.25 % of rules are any-to-any for their service:
            // shadowed rules stay a minority, as in real exports.
            match rng.below(20) {
                // Past the guard, a 0 falls through to an object.
                0 if few(rng) => Addr::Any,
                1..=4 => Addr::Grp(rng.below(plan.grps.len() as u64) as usize),
                _ => Addr::Obj(rng.below(plan.objs.len() as u64) as usize),
            }
        };
        for k in 0..rules.saturating_sub(1) {
            let roll = rng.below(100);
            let (svc, allow, src, dst) = match roll {
                0..=7 => (Some(0), true, Addr::Grp(0), addr(rng, &plan)),
                8..=10 => (Some(1), true, addr(rng, &plan), addr(rng, &plan)),
                11..=17 => (
                    Some(if rng.chance(70) { 2 } else { 3 }),
                    true,
                    addr(rng, &plan),
                    addr(rng, &plan),
                ),
                18..=20 => (Some(4), true, addr(rng, &plan), addr(rng, &plan)),
                21..=22 => (Some(5), true, addr(rng, &plan), addr(rng, &plan)),
                // Broad outbound rules (a source group to anywhere, any service) rather than
                // any-any permits: those are rare in real exports and, when present, sit at the
                // end (below). One early any-any would make every later rule unreachable and the
                // fleet a benchmark of that one finding. Broad rules shadow later rules from the
                // group's members, so they are kept to ~0.5 % of rules.
                23..=24 if rng.chance(25) && few(rng) => (
                    None,
                    true,
                    Addr::Grp(rng.below(plan.grps.len() as u64) as usize),
                    Addr::Any,
                ),
                25..=34 => (
                    Some(rng.below(n_svcs) as usize),
                    false,
                    addr(rng, &plan),
                    addr(rng, &plan),
                ),
                _ => (
                    Some(6 + rng.below(n_svcs - 6) as usize),
                    true,
                    addr(rng, &plan),
                    addr(rng, &plan),
                ),
            };
            plan.rules.push(Rule {
                name: format!("r{k}"),
                allow,
                svc,
                src,
                dst,
                disabled: rng.chance(5),
                log: rng.chance(30),
            });
        }
        // A quarter of the devices end with an any-any permit just above the final deny.
        if rules > 1 && rng.chance(25) {
            let last = plan.rules.len() - 1;
            plan.rules[last] = Rule {
                name: "allow-any".into(),
                allow: true,
                svc: None,
                src: Addr::Any,
                dst: Addr::Any,
                disabled: false,
                log: false,
            };
        }
        if rules > 0 {
            plan.rules.push(Rule {
                name: "deny-rest".into(),
                allow: false,
                svc: None,
                src: Addr::Any,
                dst: Addr::Any,
                disabled: false,
                log: true,
            });
        }
        plan
    }

    fn obj_name(i: usize) -> String {
        format!("obj{i}")
    }
    fn grp_name(i: usize) -> String {
        format!("grp{i}")
    }
    fn addr_name(a: Addr) -> String {
        match a {
            Addr::Any => "any".into(),
            Addr::Obj(i) => Self::obj_name(i),
            Addr::Grp(i) => Self::grp_name(i),
        }
    }
    /// The networks an address stands for (empty for any).
    fn nets(&self, a: Addr) -> Vec<Net> {
        match a {
            Addr::Any => Vec::new(),
            Addr::Obj(i) => vec![self.objs[i]],
            Addr::Grp(i) => self.grps[i].iter().map(|&o| self.objs[o]).collect(),
        }
    }
    fn cidrs(&self, a: Addr) -> Vec<String> {
        self.nets(a).iter().map(Net::cidr).collect()
    }
}

/// Write one device in a format.
pub fn render(kind: Kind, plan: &Plan) -> String {
    match kind {
        Kind::Fortios => fortios(plan),
        Kind::Asa => asa(plan),
        Kind::Ios => ios(plan),
        Kind::JunosSet => junos_set(plan),
        Kind::JunosCurly => junos_curly(plan),
        Kind::PanosXml => panos_xml(plan),
        Kind::PanosSet => panos_set(plan),
        Kind::Pfsense => pf(plan, false),
        Kind::Opnsense => pf(plan, true),
        Kind::Iptables => iptables(plan),
        Kind::NftText => nft_text(plan),
        Kind::NftJson => nft_json(plan),
        Kind::Mikrotik => mikrotik(plan),
        Kind::Checkpoint => checkpoint(plan),
        Kind::Aws => aws(plan),
        Kind::Azure => azure(plan),
        Kind::Gcp => gcp(plan),
        Kind::Ucontact => ucontact(plan),
    }
}

/// Device `index` of a fleet: its format (round robin over [`Kind::ALL`]), file name and text.
pub fn device(seed: u64, index: usize, rules: usize) -> (Kind, String, String) {
    let (kind, plan) = device_plan(seed, index, rules);
    let text = render(kind, &plan);
    (kind, format!("{}.{}", plan.host, kind.ext()), text)
}

/// The plan behind [`device`].
pub fn device_plan(seed: u64, index: usize, rules: usize) -> (Kind, Plan) {
    let kind = Kind::ALL[index % Kind::ALL.len()];
    let mut rng = Rng::new(seed ^ (index as u64).wrapping_mul(0xA24B_AED4_963E_E407));
    let host = format!("cc-{}-{index:05}", kind.slug());
    let mut plan = Plan::new(host, rules, &mut rng);
    // On in the first round of formats, off in the next, and so on: both occur in any fleet of
    // at least two rounds.
    plan.sip_helper = (index / Kind::ALL.len()).is_multiple_of(2);
    (kind, plan)
}

// ---------------------------------------------------------------------------------------------
// Renderers. `let _ = write!(..)` on a String cannot fail.

fn fortios(p: &Plan) -> String {
    let mut s = String::new();
    s.push_str("#config-version=FG200F-7.2.8-FW-build1639-240313:opmode=0:vdom=0:user=bench\n");
    s.push_str("#conf_file_ver=71828182845904\n#buildno=1639\n#global_vdom=1\n");
    let _ = write!(
        s,
        "config system global\n    set hostname \"{}\"\nend\n",
        p.host
    );
    let mode = if p.sip_helper {
        "proxy-based"
    } else {
        "kernel-helper-based"
    };
    let _ = writeln!(
        s,
        "config system settings\n    set default-voip-alg-mode {mode}\n    set sip-expectation disable\nend"
    );
    s.push_str("config system session-helper\n    edit 1\n        set name pptp\n        set protocol 6\n        set port 1723\n    next\n");
    if p.sip_helper {
        s.push_str("    edit 13\n        set name sip\n        set protocol 17\n        set port 5060\n    next\n");
    }
    s.push_str("end\n");
    s.push_str("config system interface\n    edit \"port1\"\n        set vdom \"root\"\n        set ip 203.0.113.2 255.255.255.248\n        set role wan\n    next\n    edit \"port2\"\n        set vdom \"root\"\n        set ip 10.0.0.1 255.0.0.0\n        set role lan\n    next\nend\n");
    s.push_str("config firewall address\n");
    for (i, o) in p.objs.iter().enumerate() {
        let _ = write!(
            s,
            "    edit \"{}\"\n        set subnet {} {}\n    next\n",
            Plan::obj_name(i),
            o.addr(),
            o.mask()
        );
    }
    s.push_str("end\nconfig firewall addrgrp\n");
    for (i, g) in p.grps.iter().enumerate() {
        let members: Vec<String> = g
            .iter()
            .map(|&o| format!("\"{}\"", Plan::obj_name(o)))
            .collect();
        let _ = write!(
            s,
            "    edit \"{}\"\n        set member {}\n    next\n",
            Plan::grp_name(i),
            members.join(" ")
        );
    }
    s.push_str("end\nconfig firewall service custom\n");
    for v in &p.svcs {
        let _ = write!(
            s,
            "    edit \"{}\"\n        set {}-portrange {}\n    next\n",
            v.name(),
            v.proto.name(),
            v.ports("-")
        );
    }
    s.push_str("end\nconfig firewall policy\n");
    let fa = |a: Addr| match a {
        Addr::Any => "all".to_string(),
        a => Plan::addr_name(a),
    };
    for (k, r) in p.rules.iter().enumerate() {
        let svc = r.svc.map_or("ALL".into(), |i| p.svcs[i].name());
        let _ = write!(
            s,
            "    edit {}\n        set name \"{}\"\n        set srcintf \"port2\"\n        set dstintf \"port1\"\n        set action {}\n        set srcaddr \"{}\"\n        set dstaddr \"{}\"\n        set schedule \"always\"\n        set service \"{}\"\n",
            k + 1,
            r.name,
            if r.allow { "accept" } else { "deny" },
            fa(r.src),
            fa(r.dst),
            svc
        );
        if r.log {
            s.push_str("        set logtraffic all\n");
        }
        if r.disabled {
            s.push_str("        set status disable\n");
        }
        s.push_str("    next\n");
    }
    s.push_str("end\n");
    s
}

fn cisco_addr(p: &Plan, a: Addr, asa: bool) -> String {
    match a {
        Addr::Any => "any".into(),
        Addr::Obj(i) if asa => format!("object {}", Plan::obj_name(i)),
        Addr::Obj(i) => {
            let o = p.objs[i];
            if o.len == 32 {
                format!("host {}", o.addr())
            } else {
                format!("{} {}", o.addr(), o.wildcard())
            }
        }
        Addr::Grp(i) => format!("object-group {}", Plan::grp_name(i)),
    }
}

fn cisco_ports(v: &Svc) -> String {
    if v.lo == v.hi {
        format!(" eq {}", v.lo)
    } else {
        format!(" range {} {}", v.lo, v.hi)
    }
}

fn asa(p: &Plan) -> String {
    let mut s = String::new();
    let _ = write!(s, "ASA Version 9.16(2)\n!\nhostname {}\n!\n", p.host);
    s.push_str("interface GigabitEthernet0/0\n nameif outside\n security-level 0\n ip address 203.0.113.10 255.255.255.0\n!\n");
    s.push_str("interface GigabitEthernet0/1\n nameif inside\n security-level 100\n ip address 10.0.0.1 255.0.0.0\n!\n");
    for (i, o) in p.objs.iter().enumerate() {
        if o.len == 32 {
            let _ = writeln!(
                s,
                "object network {}\n host {}",
                Plan::obj_name(i),
                o.addr()
            );
        } else {
            let _ = writeln!(
                s,
                "object network {}\n subnet {} {}",
                Plan::obj_name(i),
                o.addr(),
                o.mask()
            );
        }
    }
    for (i, g) in p.grps.iter().enumerate() {
        let _ = writeln!(s, "object-group network {}", Plan::grp_name(i));
        for &o in g {
            let _ = writeln!(s, " network-object object {}", Plan::obj_name(o));
        }
    }
    s.push_str("!\n");
    for r in &p.rules {
        let verb = if r.allow { "permit" } else { "deny" };
        let (proto, ports) = match r.svc {
            None => ("ip".to_string(), String::new()),
            Some(i) => (p.svcs[i].proto.name().to_string(), cisco_ports(&p.svcs[i])),
        };
        let _ = writeln!(
            s,
            "access-list outside_in remark {}\naccess-list outside_in extended {verb} {proto} {} {}{ports}{}{}",
            r.name,
            cisco_addr(p, r.src, true),
            cisco_addr(p, r.dst, true),
            if r.log { " log" } else { "" },
            if r.disabled { " inactive" } else { "" }
        );
    }
    s.push_str("!\naccess-group outside_in in interface outside\n!\n");
    s.push_str(
        "policy-map global_policy\n class inspection_default\n  inspect dns\n  inspect ftp\n",
    );
    if p.sip_helper {
        s.push_str("  inspect sip\n");
    }
    s.push_str("!\nservice-policy global_policy global\n");
    s
}

fn ios(p: &Plan) -> String {
    let mut s = String::new();
    let _ = write!(
        s,
        "!\nversion 15.7\nservice timestamps log datetime msec\n!\nhostname {}\n!\n",
        p.host
    );
    s.push_str("interface GigabitEthernet0/0\n description WAN\n ip address 203.0.113.6 255.255.255.252\n ip access-group WAN-IN in\n ip nat outside\n!\n");
    s.push_str("interface GigabitEthernet0/1\n description LAN\n ip address 10.0.0.1 255.0.0.0\n ip nat inside\n!\n");
    s.push_str("ip nat inside source list NAT-LAN interface GigabitEthernet0/0 overload\n");
    if !p.sip_helper {
        s.push_str("no ip nat service sip udp port 5060\nno ip nat service sip tcp port 5060\n");
    }
    s.push_str("!\nip access-list standard NAT-LAN\n permit 10.0.0.0 0.255.255.255\n!\n");
    for (i, g) in p.grps.iter().enumerate() {
        let _ = writeln!(s, "object-group network {}", Plan::grp_name(i));
        for &o in g {
            let n = p.objs[o];
            if n.len == 32 {
                let _ = writeln!(s, " host {}", n.addr());
            } else {
                let _ = writeln!(s, " {} {}", n.addr(), n.mask());
            }
        }
    }
    s.push_str("!\nip access-list extended WAN-IN\n");
    for r in &p.rules {
        // IOS has no per-entry disable: a disabled rule is left out, as a remark.
        if r.disabled {
            let _ = writeln!(s, " remark {} (disabled)", r.name);
            continue;
        }
        let verb = if r.allow { "permit" } else { "deny  " };
        let (proto, ports) = match r.svc {
            None => ("ip".to_string(), String::new()),
            Some(i) => (p.svcs[i].proto.name().to_string(), cisco_ports(&p.svcs[i])),
        };
        let _ = writeln!(
            s,
            " {verb} {proto} {} {}{ports}{}",
            cisco_addr(p, r.src, false),
            cisco_addr(p, r.dst, false),
            if r.log { " log" } else { "" }
        );
    }
    s.push_str("!\nline vty 0 4\n transport input ssh\n!\nend\n");
    s
}

fn junos_app(p: &Plan, svc: Option<usize>) -> String {
    match svc {
        None => "any".into(),
        Some(i) if p.svcs[i] == TELNET => "junos-telnet".into(),
        Some(i) => format!("app-{}", p.svcs[i].name()),
    }
}

fn junos_set(p: &Plan) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "set version 21.4R3\nset system host-name {}", p.host);
    if !p.sip_helper {
        s.push_str("set security alg sip disable\n");
    }
    s.push_str("set security zones security-zone trust interfaces ge-0/0/1.0\n");
    s.push_str("set security zones security-zone untrust interfaces ge-0/0/0.0\n");
    for (i, o) in p.objs.iter().enumerate() {
        let _ = writeln!(
            s,
            "set security address-book global address {} {}",
            Plan::obj_name(i),
            o.cidr()
        );
    }
    for (i, g) in p.grps.iter().enumerate() {
        for &o in g {
            let _ = writeln!(
                s,
                "set security address-book global address-set {} address {}",
                Plan::grp_name(i),
                Plan::obj_name(o)
            );
        }
    }
    for v in &p.svcs {
        if *v == TELNET {
            continue;
        }
        let _ = writeln!(
            s,
            "set applications application app-{n} protocol {}\nset applications application app-{n} destination-port {}",
            v.proto.name(),
            v.ports("-"),
            n = v.name()
        );
    }
    for r in &p.rules {
        let pre = format!(
            "set security policies from-zone untrust to-zone trust policy {}",
            r.name
        );
        let _ = writeln!(
            s,
            "{pre} match source-address {}\n{pre} match destination-address {}\n{pre} match application {}\n{pre} then {}",
            Plan::addr_name(r.src),
            Plan::addr_name(r.dst),
            junos_app(p, r.svc),
            if r.allow { "permit" } else { "deny" }
        );
        if r.log {
            let _ = writeln!(s, "{pre} then log session-close");
        }
        if r.disabled {
            let _ = writeln!(
                s,
                "deactivate security policies from-zone untrust to-zone trust policy {}",
                r.name
            );
        }
    }
    s
}

fn junos_curly(p: &Plan) -> String {
    let mut s = String::new();
    // No `version 21.4R3;` line: IOS sniffing currently claims Junos files that have one at the
    // start of a line (being fixed upstream); the set flavour carries the version instead.
    s.push_str("## Last changed: 2026-01-10 10:00:00 UTC\n");
    let _ = writeln!(s, "system {{\n    host-name {};\n}}", p.host);
    s.push_str("security {\n");
    if !p.sip_helper {
        s.push_str("    alg {\n        sip disable;\n    }\n");
    }
    s.push_str("    address-book {\n        global {\n");
    for (i, o) in p.objs.iter().enumerate() {
        let _ = writeln!(s, "            address {} {};", Plan::obj_name(i), o.cidr());
    }
    for (i, g) in p.grps.iter().enumerate() {
        let _ = writeln!(s, "            address-set {} {{", Plan::grp_name(i));
        for &o in g {
            let _ = writeln!(s, "                address {};", Plan::obj_name(o));
        }
        s.push_str("            }\n");
    }
    s.push_str("        }\n    }\n");
    s.push_str("    zones {\n        security-zone trust {\n            interfaces {\n                ge-0/0/1.0;\n            }\n        }\n        security-zone untrust {\n            interfaces {\n                ge-0/0/0.0;\n            }\n        }\n    }\n");
    s.push_str("    policies {\n        from-zone untrust to-zone trust {\n");
    for r in &p.rules {
        let _ = writeln!(
            s,
            "            {}policy {} {{\n                match {{\n                    source-address {};\n                    destination-address {};\n                    application {};\n                }}\n                then {{\n                    {};{}\n                }}\n            }}",
            if r.disabled { "inactive: " } else { "" },
            r.name,
            Plan::addr_name(r.src),
            Plan::addr_name(r.dst),
            junos_app(p, r.svc),
            if r.allow { "permit" } else { "deny" },
            if r.log {
                "\n                    log {\n                        session-close;\n                    }"
            } else {
                ""
            }
        );
    }
    s.push_str("        }\n    }\n}\napplications {\n");
    for v in &p.svcs {
        if *v == TELNET {
            continue;
        }
        let _ = writeln!(
            s,
            "    application app-{} {{\n        protocol {};\n        destination-port {};\n    }}",
            v.name(),
            v.proto.name(),
            v.ports("-")
        );
    }
    s.push_str("}\n");
    s
}

fn xml_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

fn panos_xml(p: &Plan) -> String {
    let mut s = String::new();
    s.push_str("<?xml version=\"1.0\"?>\n<config version=\"10.2.0\">\n");
    if !p.sip_helper {
        s.push_str("  <shared>\n    <alg-override>\n      <application>\n        <entry name=\"sip\">\n          <alg-disabled>yes</alg-disabled>\n        </entry>\n      </application>\n    </alg-override>\n  </shared>\n");
    }
    s.push_str("  <devices>\n    <entry name=\"localhost.localdomain\">\n      <deviceconfig>\n        <system>\n");
    let _ = writeln!(s, "          <hostname>{}</hostname>", xml_escape(&p.host));
    s.push_str(
        "        </system>\n      </deviceconfig>\n      <vsys>\n        <entry name=\"vsys1\">\n",
    );
    s.push_str("          <zone>\n            <entry name=\"trust\"/>\n            <entry name=\"untrust\"/>\n          </zone>\n");
    s.push_str("          <address>\n");
    for (i, o) in p.objs.iter().enumerate() {
        let _ = writeln!(
            s,
            "            <entry name=\"{}\">\n              <ip-netmask>{}</ip-netmask>\n            </entry>",
            Plan::obj_name(i),
            o.cidr()
        );
    }
    s.push_str("          </address>\n          <address-group>\n");
    for (i, g) in p.grps.iter().enumerate() {
        let _ = writeln!(
            s,
            "            <entry name=\"{}\">\n              <static>",
            Plan::grp_name(i)
        );
        for &o in g {
            let _ = writeln!(s, "                <member>{}</member>", Plan::obj_name(o));
        }
        s.push_str("              </static>\n            </entry>\n");
    }
    s.push_str("          </address-group>\n          <service>\n");
    for v in &p.svcs {
        let _ = writeln!(
            s,
            "            <entry name=\"{}\">\n              <protocol>\n                <{p}>\n                  <port>{}</port>\n                </{p}>\n              </protocol>\n            </entry>",
            v.name(),
            v.ports("-"),
            p = v.proto.name()
        );
    }
    s.push_str("          </service>\n          <rulebase>\n            <security>\n              <rules>\n");
    for r in &p.rules {
        let _ = writeln!(
            s,
            "                <entry name=\"{}\">\n                  <from><member>untrust</member></from>\n                  <to><member>trust</member></to>\n                  <source><member>{}</member></source>\n                  <destination><member>{}</member></destination>\n                  <service><member>{}</member></service>\n                  <application><member>any</member></application>\n                  <action>{}</action>{}{}\n                </entry>",
            r.name,
            Plan::addr_name(r.src),
            Plan::addr_name(r.dst),
            r.svc.map_or("any".into(), |i| p.svcs[i].name()),
            if r.allow { "allow" } else { "deny" },
            if r.log { "\n                  <log-end>yes</log-end>" } else { "" },
            if r.disabled { "\n                  <disabled>yes</disabled>" } else { "" },
        );
    }
    s.push_str("              </rules>\n            </security>\n          </rulebase>\n        </entry>\n      </vsys>\n    </entry>\n  </devices>\n</config>\n");
    s
}

fn panos_set(p: &Plan) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "set deviceconfig system hostname {}", p.host);
    s.push_str(
        "set zone trust network layer3 ethernet1/1\nset zone untrust network layer3 ethernet1/2\n",
    );
    for (i, o) in p.objs.iter().enumerate() {
        let _ = writeln!(
            s,
            "set address {} ip-netmask {}",
            Plan::obj_name(i),
            o.cidr()
        );
    }
    for (i, g) in p.grps.iter().enumerate() {
        let m: Vec<String> = g.iter().map(|&o| Plan::obj_name(o)).collect();
        let _ = writeln!(
            s,
            "set address-group {} static [ {} ]",
            Plan::grp_name(i),
            m.join(" ")
        );
    }
    for v in &p.svcs {
        let _ = writeln!(
            s,
            "set service {} protocol {} port {}",
            v.name(),
            v.proto.name(),
            v.ports("-")
        );
    }
    if !p.sip_helper {
        s.push_str("set shared alg-override application sip alg-disabled yes\n");
    }
    for r in &p.rules {
        let pre = format!("set rulebase security rules \"{}\"", r.name);
        let _ = writeln!(
            s,
            "{pre} from untrust\n{pre} to trust\n{pre} source {}\n{pre} destination {}\n{pre} service {}\n{pre} application any\n{pre} action {}",
            Plan::addr_name(r.src),
            Plan::addr_name(r.dst),
            r.svc.map_or("any".into(), |i| p.svcs[i].name()),
            if r.allow { "allow" } else { "deny" }
        );
        if r.disabled {
            let _ = writeln!(s, "{pre} disabled yes");
        }
    }
    s
}

fn pf(p: &Plan, opnsense: bool) -> String {
    let root = if opnsense { "opnsense" } else { "pfsense" };
    let mut s = String::new();
    let _ = writeln!(s, "<?xml version=\"1.0\"?>\n<{root}>");
    let _ = writeln!(
        s,
        "  <system>\n    <hostname>{}</hostname>\n  </system>",
        xml_escape(&p.host)
    );
    s.push_str("  <interfaces>\n    <wan>\n      <enable>1</enable>\n      <if>igb0</if>\n      <ipaddr>203.0.113.2</ipaddr>\n      <subnet>24</subnet>\n    </wan>\n    <lan>\n      <enable>1</enable>\n      <if>igb1</if>\n      <ipaddr>10.0.0.1</ipaddr>\n      <subnet>8</subnet>\n    </lan>\n  </interfaces>\n");
    // Groups are aliases; single objects are written inline.
    let mut aliases = String::new();
    for (i, g) in p.grps.iter().enumerate() {
        let m: Vec<String> = g.iter().map(|&o| p.objs[o].cidr()).collect();
        if opnsense {
            let _ = writeln!(
                aliases,
                "          <alias uuid=\"00000000-0000-0000-0000-{i:012}\">\n            <enabled>1</enabled>\n            <name>{}</name>\n            <type>network</type>\n            <content>{}</content>\n          </alias>",
                Plan::grp_name(i),
                m.join("\n")
            );
        } else {
            let _ = writeln!(
                aliases,
                "    <alias>\n      <name>{}</name>\n      <type>network</type>\n      <address>{}</address>\n    </alias>",
                Plan::grp_name(i),
                m.join(" ")
            );
        }
    }
    if !opnsense {
        let _ = write!(s, "  <aliases>\n{aliases}  </aliases>\n");
    }
    s.push_str("  <filter>\n");
    let end = |a: Addr, port: Option<String>| -> String {
        let what = match a {
            Addr::Any => "<any/>".to_string(),
            Addr::Obj(i) => format!("<address>{}</address>", p.objs[i].cidr()),
            Addr::Grp(i) => format!("<address>{}</address>", Plan::grp_name(i)),
        };
        match port {
            Some(port) => format!("{what}<port>{port}</port>"),
            None => what,
        }
    };
    for r in &p.rules {
        let (proto, port) = match r.svc {
            None => (String::new(), None),
            Some(i) => (
                format!("\n      <protocol>{}</protocol>", p.svcs[i].proto.name()),
                Some(p.svcs[i].ports("-")),
            ),
        };
        let _ = writeln!(
            s,
            "    <rule>\n      <type>{}</type>\n      <interface>wan</interface>\n      <ipprotocol>inet</ipprotocol>{proto}\n      <source>{}</source>\n      <destination>{}</destination>{}{}\n      <descr><![CDATA[{}]]></descr>\n    </rule>",
            if r.allow { "pass" } else { "block" },
            end(r.src, None),
            end(r.dst, port),
            if r.log { "\n      <log/>" } else { "" },
            if r.disabled { "\n      <disabled/>" } else { "" },
            r.name
        );
    }
    s.push_str("  </filter>\n");
    if opnsense {
        let _ = write!(
            s,
            "  <OPNsense>\n    <Firewall>\n      <Alias version=\"1.0.1\">\n        <aliases>\n{aliases}        </aliases>\n      </Alias>\n    </Firewall>\n    <IDS version=\"1.0.9\">\n      <general>\n        <enabled>{e}</enabled>\n        <ips>{e}</ips>\n        <interfaces>wan</interfaces>\n      </general>\n    </IDS>\n  </OPNsense>\n",
            e = u8::from(p.sip_helper)
        );
    } else if p.sip_helper {
        s.push_str("  <installedpackages>\n    <package>\n      <name>siproxd</name>\n    </package>\n    <siproxdsettings>\n      <config>\n        <sipenable>on</sipenable>\n        <if_inbound>lan</if_inbound>\n        <if_outbound>wan</if_outbound>\n      </config>\n    </siproxdsettings>\n  </installedpackages>\n");
    }
    let _ = writeln!(s, "</{root}>");
    s
}

/// Expand a rule into (source, destination) network pairs for formats without groups.
fn pairs(p: &Plan, r: &Rule) -> Vec<(Option<Net>, Option<Net>)> {
    let side = |a: Addr| -> Vec<Option<Net>> {
        match a {
            Addr::Any => vec![None],
            a => p.nets(a).into_iter().map(Some).collect(),
        }
    };
    let mut out = Vec::new();
    for s in side(r.src) {
        for d in side(r.dst) {
            out.push((s, d));
        }
    }
    out
}

fn iptables(p: &Plan) -> String {
    let mut s = String::new();
    let stamp = "Tue Mar  4 09:00:00 2025";
    if p.sip_helper {
        let _ = writeln!(
            s,
            "# Generated by iptables-save v1.8.7 on {stamp}\n*raw\n:PREROUTING ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n-A PREROUTING -p udp -m udp --dport 5060 -j CT --helper sip\n-A PREROUTING -p tcp -m tcp --dport 5060 -j CT --helper sip\nCOMMIT\n# Completed on {stamp}"
        );
    }
    let _ = writeln!(
        s,
        "# Generated by iptables-save v1.8.7 on {stamp}\n*filter\n:INPUT DROP [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]\n-A INPUT -i lo -j ACCEPT\n-A INPUT -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT\n-A FORWARD -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT"
    );
    for r in &p.rules {
        for (src, dst) in pairs(p, r) {
            let mut line = String::from("-A FORWARD");
            if let Some(n) = src {
                let _ = write!(line, " -s {}", n.cidr());
            }
            if let Some(n) = dst {
                let _ = write!(line, " -d {}", n.cidr());
            }
            if let Some(i) = r.svc {
                let v = p.svcs[i];
                let _ = write!(
                    line,
                    " -p {0} -m {0} --dport {1}",
                    v.proto.name(),
                    v.ports(":")
                );
            }
            let _ = write!(
                line,
                " -m comment --comment \"{}\" -j {}",
                r.name,
                if r.allow { "ACCEPT" } else { "DROP" }
            );
            if r.disabled {
                // iptables has no disabled rules: a commented-out line, as people keep them.
                let _ = writeln!(s, "# disabled: {line}");
            } else {
                let _ = writeln!(s, "{line}");
            }
        }
    }
    let _ = writeln!(s, "COMMIT\n# Completed on {stamp}");
    s
}

fn nft_text(p: &Plan) -> String {
    let mut s = String::from("table inet filter {\n");
    for (i, g) in p.grps.iter().enumerate() {
        let m: Vec<String> = g.iter().map(|&o| p.objs[o].cidr()).collect();
        let _ = writeln!(
            s,
            "\tset {} {{\n\t\ttype ipv4_addr\n\t\tflags interval\n\t\tauto-merge\n\t\telements = {{ {} }}\n\t}}\n",
            Plan::grp_name(i),
            m.join(", ")
        );
    }
    if p.sip_helper {
        s.push_str("\tct helper sip-5060 {\n\t\ttype \"sip\" protocol udp\n\t\tl3proto inet\n\t}\n\n\tchain pre {\n\t\ttype filter hook prerouting priority filter; policy accept;\n\t\tudp dport 5060 ct helper set \"sip-5060\"\n\t}\n\n");
    }
    s.push_str("\tchain forward {\n\t\ttype filter hook forward priority filter; policy drop;\n\t\tct state established,related accept\n");
    let side = |dir: &str, a: Addr| -> String {
        match a {
            Addr::Any => String::new(),
            Addr::Obj(i) => format!("ip {dir} {} ", p.objs[i].cidr()),
            Addr::Grp(i) => format!("ip {dir} @{} ", Plan::grp_name(i)),
        }
    };
    for r in &p.rules {
        let ports = r.svc.map_or(String::new(), |i| {
            let v = p.svcs[i];
            format!("{} dport {} ", v.proto.name(), v.ports("-"))
        });
        let _ = writeln!(
            s,
            "\t\t{}{}{}{ports}{}{} comment \"{}\"",
            if r.disabled { "# disabled: " } else { "" },
            side("saddr", r.src),
            side("daddr", r.dst),
            if r.log { "log " } else { "" },
            if r.allow { "accept" } else { "drop" },
            r.name
        );
    }
    s.push_str("\t}\n}\n");
    s
}

fn nft_json(p: &Plan) -> String {
    let mut items: Vec<String> = vec![
        r#"{"metainfo": {"version": "1.0.9", "release_name": "Old Doc Yak #3", "json_schema_version": 1}}"#.into(),
        r#"{"table": {"family": "inet", "name": "filter", "handle": 1}}"#.into(),
    ];
    let mut handle = 2;
    let mut next = || {
        handle += 1;
        handle
    };
    let prefix = |n: &Net| -> String {
        if n.len == 32 {
            format!("\"{}\"", n.addr())
        } else {
            format!(
                "{{\"prefix\": {{\"addr\": \"{}\", \"len\": {}}}}}",
                n.addr(),
                n.len
            )
        }
    };
    for (i, g) in p.grps.iter().enumerate() {
        let elems: Vec<String> = g.iter().map(|&o| prefix(&p.objs[o])).collect();
        items.push(format!(
            "{{\"set\": {{\"family\": \"inet\", \"name\": \"{}\", \"table\": \"filter\", \"type\": \"ipv4_addr\", \"handle\": {}, \"flags\": [\"interval\"], \"elem\": [{}]}}}}",
            Plan::grp_name(i),
            next(),
            elems.join(", ")
        ));
    }
    if p.sip_helper {
        items.push(format!("{{\"ct helper\": {{\"family\": \"inet\", \"name\": \"sip-5060\", \"table\": \"filter\", \"handle\": {}, \"type\": \"sip\", \"protocol\": \"udp\", \"l3proto\": \"inet\"}}}}", next()));
        items.push(format!("{{\"chain\": {{\"family\": \"inet\", \"table\": \"filter\", \"name\": \"pre\", \"handle\": {}, \"type\": \"filter\", \"hook\": \"prerouting\", \"prio\": 0, \"policy\": \"accept\"}}}}", next()));
        items.push(format!("{{\"rule\": {{\"family\": \"inet\", \"table\": \"filter\", \"chain\": \"pre\", \"handle\": {}, \"expr\": [{{\"match\": {{\"op\": \"==\", \"left\": {{\"payload\": {{\"protocol\": \"udp\", \"field\": \"dport\"}}}}, \"right\": 5060}}}}, {{\"ct helper\": \"sip-5060\"}}]}}}}", next()));
    }
    items.push(format!("{{\"chain\": {{\"family\": \"inet\", \"table\": \"filter\", \"name\": \"forward\", \"handle\": {}, \"type\": \"filter\", \"hook\": \"forward\", \"prio\": 0, \"policy\": \"drop\"}}}}", next()));
    let m = |proto: &str, field: &str, right: String| {
        format!(
            "{{\"match\": {{\"op\": \"==\", \"left\": {{\"payload\": {{\"protocol\": \"{proto}\", \"field\": \"{field}\"}}}}, \"right\": {right}}}}}"
        )
    };
    for r in &p.rules {
        // nft has no disabled rules; a disabled rule is simply not in the ruleset.
        if r.disabled {
            continue;
        }
        let mut expr = Vec::new();
        for (field, a) in [("saddr", r.src), ("daddr", r.dst)] {
            match a {
                Addr::Any => {}
                Addr::Obj(i) => expr.push(m("ip", field, prefix(&p.objs[i]))),
                Addr::Grp(i) => expr.push(m("ip", field, format!("\"@{}\"", Plan::grp_name(i)))),
            }
        }
        if let Some(i) = r.svc {
            let v = p.svcs[i];
            let right = if v.lo == v.hi {
                v.lo.to_string()
            } else {
                format!("{{\"range\": [{}, {}]}}", v.lo, v.hi)
            };
            expr.push(m(v.proto.name(), "dport", right));
        }
        if r.log {
            expr.push("{\"log\": null}".into());
        }
        expr.push(if r.allow {
            "{\"accept\": null}".into()
        } else {
            "{\"drop\": null}".into()
        });
        items.push(format!(
            "{{\"rule\": {{\"family\": \"inet\", \"table\": \"filter\", \"chain\": \"forward\", \"handle\": {}, \"comment\": \"{}\", \"expr\": [{}]}}}}",
            next(),
            r.name,
            expr.join(", ")
        ));
    }
    format!("{{\"nftables\": [\n  {}\n]}}\n", items.join(",\n  "))
}

fn mikrotik(p: &Plan) -> String {
    let mut s =
        String::from("# 2026-01-15 10:00:00 by RouterOS 7.16.2\n# software id = BENCH-0001\n#\n");
    s.push_str("/interface list\nadd name=WAN\nadd name=LAN\n/interface list member\nadd interface=ether1 list=WAN\nadd interface=bridge list=LAN\n");
    s.push_str("/ip firewall address-list\n");
    for (i, g) in p.grps.iter().enumerate() {
        for &o in g {
            let _ = writeln!(
                s,
                "add address={} list={}",
                p.objs[o].cidr(),
                Plan::grp_name(i)
            );
        }
    }
    s.push_str("/ip firewall filter\nadd action=accept chain=forward comment=\"established\" connection-state=established,related\n");
    let side = |dir: &str, a: Addr| -> String {
        match a {
            Addr::Any => String::new(),
            Addr::Obj(i) => format!(" {dir}-address={}", p.objs[i].cidr()),
            Addr::Grp(i) => format!(" {dir}-address-list={}", Plan::grp_name(i)),
        }
    };
    for r in &p.rules {
        let ports = r.svc.map_or(String::new(), |i| {
            let v = p.svcs[i];
            format!(" dst-port={} protocol={}", v.ports("-"), v.proto.name())
        });
        let _ = writeln!(
            s,
            "add action={} chain=forward comment=\"{}\"{}{} \\\n    {}{ports}{}",
            if r.allow { "accept" } else { "drop" },
            r.name,
            if r.disabled { " disabled=yes" } else { "" },
            if r.log { " log=yes" } else { "" },
            side("src", r.src).trim_start(),
            side("dst", r.dst),
        );
    }
    if !p.sip_helper {
        s.push_str("/ip firewall service-port\nset sip disabled=yes\n");
    }
    let _ = writeln!(s, "/system identity\nset name={}", p.host);
    s
}

fn checkpoint(p: &Plan) -> String {
    const ANY: &str = "97aeb369-9aea-11d5-bd16-0090272ccb30";
    const ACCEPT: &str = "6c488338-8eec-4103-ad21-cd461ac2c472";
    const DROP: &str = "6c488338-8eec-4103-ad21-cd461ac2c473";
    const TARGETS: &str = "6c488338-8eec-4103-ad21-cd461ac2c476";
    let obj_uid = |i: usize| format!("a0000000-0000-0000-0000-{i:012}");
    let grp_uid = |i: usize| format!("a1000000-0000-0000-0000-{i:012}");
    let svc_uid = |i: usize| format!("b0000000-0000-0000-0000-{i:012}");
    let uid = |a: Addr| match a {
        Addr::Any => ANY.to_string(),
        Addr::Obj(i) => obj_uid(i),
        Addr::Grp(i) => grp_uid(i),
    };
    let mut rules = Vec::new();
    for (k, r) in p.rules.iter().enumerate() {
        rules.push(format!(
            "    {{\n      \"uid\": \"c0000000-0000-0000-0000-{k:012}\",\n      \"name\": \"{}\",\n      \"type\": \"access-rule\",\n      \"domain\": {{\"uid\": \"41e821a0-3720-11e3-aa6e-0800200c9fde\", \"name\": \"SMC User\", \"domain-type\": \"domain\"}},\n      \"rule-number\": {},\n      \"source\": [\"{}\"],\n      \"source-negate\": false,\n      \"destination\": [\"{}\"],\n      \"destination-negate\": false,\n      \"service\": [\"{}\"],\n      \"service-negate\": false,\n      \"action\": \"{}\",\n      \"track\": {{\"type\": \"{}\"}},\n      \"enabled\": {},\n      \"install-on\": [\"{TARGETS}\"],\n      \"comments\": \"\"\n    }}",
            r.name,
            k + 1,
            uid(r.src),
            uid(r.dst),
            r.svc.map_or(ANY.to_string(), svc_uid),
            if r.allow { ACCEPT } else { DROP },
            if r.log { "Log" } else { "None" },
            !r.disabled
        ));
    }
    let mut objs = vec![
        format!("    {{\"uid\": \"{ANY}\", \"name\": \"Any\", \"type\": \"CpmiAnyObject\"}}"),
        format!(
            "    {{\"uid\": \"{ACCEPT}\", \"name\": \"Accept\", \"type\": \"RulebaseAction\"}}"
        ),
        format!("    {{\"uid\": \"{DROP}\", \"name\": \"Drop\", \"type\": \"RulebaseAction\"}}"),
        format!(
            "    {{\"uid\": \"{TARGETS}\", \"name\": \"Policy Targets\", \"type\": \"Global\"}}"
        ),
    ];
    for (i, o) in p.objs.iter().enumerate() {
        objs.push(if o.len == 32 {
            format!(
                "    {{\"uid\": \"{}\", \"name\": \"{}\", \"type\": \"host\", \"ipv4-address\": \"{}\"}}",
                obj_uid(i),
                Plan::obj_name(i),
                o.addr()
            )
        } else {
            format!(
                "    {{\"uid\": \"{}\", \"name\": \"{}\", \"type\": \"network\", \"subnet4\": \"{}\", \"mask-length4\": {}}}",
                obj_uid(i),
                Plan::obj_name(i),
                o.addr(),
                o.len
            )
        });
    }
    for (i, g) in p.grps.iter().enumerate() {
        let m: Vec<String> = g.iter().map(|&o| format!("\"{}\"", obj_uid(o))).collect();
        objs.push(format!(
            "    {{\"uid\": \"{}\", \"name\": \"{}\", \"type\": \"group\", \"members\": [{}]}}",
            grp_uid(i),
            Plan::grp_name(i),
            m.join(", ")
        ));
    }
    for (i, v) in p.svcs.iter().enumerate() {
        // Check Point inspects SIP when the service carries the SIP protocol handler.
        let handler = match (v.proto, v.lo, p.sip_helper) {
            (Proto::Udp, 5060, true) => ", \"protocol\": \"SIP_UDP\"",
            (Proto::Tcp, 5060, true) => ", \"protocol\": \"SIP_TCP_PROTO\"",
            _ => "",
        };
        objs.push(format!(
            "    {{\"uid\": \"{}\", \"name\": \"{}\", \"type\": \"service-{}\", \"port\": \"{}\"{handler}}}",
            svc_uid(i),
            v.name(),
            v.proto.name(),
            v.ports("-")
        ));
    }
    format!(
        "{{\n  \"uid\": \"e0000000-0000-0000-0000-000000000001\",\n  \"name\": \"Network\",\n  \"rulebase\": [\n{}\n  ],\n  \"objects-dictionary\": [\n{}\n  ],\n  \"from\": 1,\n  \"to\": {n},\n  \"total\": {n}\n}}\n",
        rules.join(",\n"),
        objs.join(",\n"),
        n = p.rules.len()
    )
}

fn aws(p: &Plan) -> String {
    // Security groups only allow: allow rules go there; every rule is also a network ACL entry.
    let mut perms = Vec::new();
    let mut entries = Vec::new();
    let mut number = 0;
    for r in p.rules.iter().filter(|r| !r.disabled) {
        let (proto, ports) = match r.svc {
            None => ("-1".to_string(), None),
            Some(i) => (p.svcs[i].proto.name().to_string(), Some(p.svcs[i])),
        };
        let srcs = match r.src {
            Addr::Any => vec!["0.0.0.0/0".to_string()],
            a => p.cidrs(a),
        };
        if r.allow {
            let ranges: Vec<String> = srcs
                .iter()
                .map(|c| format!("{{\"CidrIp\": \"{c}\", \"Description\": \"{}\"}}", r.name))
                .collect();
            let port_fields = ports.map_or(String::new(), |v| {
                format!("\"FromPort\": {}, \"ToPort\": {}, ", v.lo, v.hi)
            });
            perms.push(format!(
                "        {{\"IpProtocol\": \"{proto}\", {port_fields}\"IpRanges\": [{}], \"Ipv6Ranges\": [], \"PrefixListIds\": [], \"UserIdGroupPairs\": []}}",
                ranges.join(", ")
            ));
        }
        for c in &srcs {
            number += 1;
            let nproto = ports.map_or("-1".to_string(), |v| v.proto.number().to_string());
            let range = ports.map_or(String::new(), |v| {
                format!(", \"PortRange\": {{\"From\": {}, \"To\": {}}}", v.lo, v.hi)
            });
            entries.push(format!(
                "        {{\"CidrBlock\": \"{c}\", \"Egress\": false, \"Protocol\": \"{nproto}\"{range}, \"RuleAction\": \"{}\", \"RuleNumber\": {number}}}",
                if r.allow { "allow" } else { "deny" }
            ));
        }
    }
    format!(
        "{{\n  \"SecurityGroups\": [\n    {{\n      \"Description\": \"{h}\",\n      \"GroupId\": \"sg-0bench\",\n      \"GroupName\": \"{h}\",\n      \"IpPermissions\": [\n{}\n      ],\n      \"IpPermissionsEgress\": [\n        {{\"IpProtocol\": \"-1\", \"IpRanges\": [{{\"CidrIp\": \"0.0.0.0/0\"}}]}}\n      ],\n      \"VpcId\": \"vpc-0bench\"\n    }}\n  ],\n  \"NetworkAcls\": [\n    {{\n      \"NetworkAclId\": \"acl-0bench\",\n      \"Entries\": [\n{}\n      ],\n      \"IsDefault\": false,\n      \"VpcId\": \"vpc-0bench\"\n    }}\n  ]\n}}\n",
        perms.join(",\n"),
        entries.join(",\n"),
        h = p.host
    )
}

fn azure(p: &Plan) -> String {
    let prefixes = |key: &str, a: Addr| -> String {
        match a {
            Addr::Any => format!("\"{key}Prefix\": \"*\""),
            Addr::Obj(i) => format!("\"{key}Prefix\": \"{}\"", p.objs[i].cidr()),
            a => {
                let c: Vec<String> = p.cidrs(a).iter().map(|c| format!("\"{c}\"")).collect();
                format!("\"{key}Prefixes\": [{}]", c.join(", "))
            }
        }
    };
    let mut rules = Vec::new();
    // NSG rules cannot be disabled; disabled plan rules are left out.
    for (k, r) in p.rules.iter().filter(|r| !r.disabled).enumerate() {
        let (proto, port) = match r.svc {
            None => ("*", "*".to_string()),
            Some(i) => (
                match p.svcs[i].proto {
                    Proto::Tcp => "Tcp",
                    Proto::Udp => "Udp",
                },
                p.svcs[i].ports("-"),
            ),
        };
        rules.push(format!(
            "      {{\n        \"name\": \"{}\",\n        \"properties\": {{\n          \"protocol\": \"{proto}\",\n          \"sourcePortRange\": \"*\",\n          \"destinationPortRange\": \"{port}\",\n          {},\n          {},\n          \"access\": \"{}\",\n          \"priority\": {},\n          \"direction\": \"Inbound\"\n        }}\n      }}",
            r.name,
            prefixes("sourceAddress", r.src),
            prefixes("destinationAddress", r.dst),
            if r.allow { "Allow" } else { "Deny" },
            100 + k
        ));
    }
    format!(
        "{{\n  \"id\": \"/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/voice/providers/Microsoft.Network/networkSecurityGroups/{h}\",\n  \"name\": \"{h}\",\n  \"type\": \"Microsoft.Network/networkSecurityGroups\",\n  \"location\": \"westeurope\",\n  \"properties\": {{\n    \"securityRules\": [\n{}\n    ]\n  }}\n}}\n",
        rules.join(",\n"),
        h = p.host
    )
}

fn gcp(p: &Plan) -> String {
    let mut rules = Vec::new();
    for (k, r) in p.rules.iter().enumerate() {
        let srcs = match r.src {
            Addr::Any => vec!["\"0.0.0.0/0\"".to_string()],
            a => p.cidrs(a).iter().map(|c| format!("\"{c}\"")).collect(),
        };
        let verdict = match r.svc {
            None => "{\"IPProtocol\": \"all\"}".to_string(),
            Some(i) => format!(
                "{{\"IPProtocol\": \"{}\", \"ports\": [\"{}\"]}}",
                p.svcs[i].proto.name(),
                p.svcs[i].ports("-")
            ),
        };
        let targets = match r.dst {
            Addr::Any => String::new(),
            a => format!(",\n    \"targetTags\": [\"{}\"]", Plan::addr_name(a)),
        };
        rules.push(format!(
            "  {{\n    \"kind\": \"compute#firewall\",\n    \"name\": \"{}\",\n    \"network\": \"projects/bench/global/networks/{}\",\n    \"direction\": \"INGRESS\",\n    \"priority\": {},\n    \"disabled\": {},\n    \"sourceRanges\": [{}]{targets},\n    \"{}\": [{verdict}]\n  }}",
            r.name,
            p.host,
            1000 + k,
            r.disabled,
            srcs.join(", "),
            if r.allow { "allowed" } else { "denied" }
        ));
    }
    format!("[\n{}\n]\n", rules.join(",\n"))
}

fn ucontact(p: &Plan) -> String {
    // A settings dump: its "rules" are users; the security settings are weak or strong.
    let strong = p.sip_helper;
    let mut s = String::new();
    let _ = write!(
        s,
        "# uContact settings dump (generated)\nkind: ucontact-settings\nversion: 1\ninstance: {}.ucontactcloud.com\nexported: 2026-11-01\n",
        p.host
    );
    let _ = write!(
        s,
        "security:\n  company_message:\n    enabled: {strong}\n    text: \"Authorised use only.\"\n  show_last_login: {strong}\n  password:\n    expiry_days: {}\n    history: {}\n    min_length: {}\n    require_letters: true\n    require_digits: {strong}\n    require_uppercase: {strong}\n    require_special: {strong}\n  lockout:\n    max_attempts: {}\n    duration_minutes: 30\n  inactive_disable_days: 90\n  session:\n    idle_timeout_minutes: {}\n  mfa:\n    enabled: {strong}\n",
        if strong { 90 } else { 180 },
        if strong { 4 } else { 2 },
        if strong { 12 } else { 8 },
        if strong { 6 } else { 15 },
        if strong { 15 } else { 0 },
    );
    s.push_str("users:\n");
    const DAYS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];
    for (k, r) in p.rules.iter().enumerate() {
        let role = if k % 10 == 0 { "supervisor" } else { "agent" };
        let d0 = k % 5;
        let days = DAYS[d0..d0 + 3].join(", ");
        let _ = writeln!(
            s,
            "  - name: user{k:05}\n    role: {role}\n    login_schedule: {{ days: [{days}], from: \"0{}:00\", to: \"1{}:00\" }}{}",
            k % 10,
            k % 10,
            if r.disabled {
                "\n    temporary: { expires: 2026-12-31 }"
            } else {
                ""
            }
        );
    }
    s
}
