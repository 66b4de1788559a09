//! The built-in vendor packs encode every port and range of the vendor documents they cite.
//!
//! The tables below are written by hand from the documents in /work/shared/seeds (not generated from
//! the packs): one row per (document, protocol, port or range) the text names, with the table or
//! section it comes from. Each row must be covered by a `required-flow` requirement of the pack that
//! encodes that document. Known defects of the documents are listed with the value the packs must
//! use instead ("SNMP TLS 097" -> 8097, "10000-2000" -> 10000-20000).

use std::collections::BTreeMap;

use portaudit::pack::{builtin_packs, load_pack, Check, Pack};
use portaudit::sets::{parse_net, PortSet};
use portaudit::source::{Encoding, FileStore};

const TCP: u8 = 6;
const UDP: u8 = 17;

#[derive(Clone, Copy, Debug)]
enum Parity {
    All,
    Even,
    Odd,
}
use Parity::{All, Even, Odd};

/// (document, protocol, first port, last port, parity, where in the document)
type Row = (&'static str, u8, u16, u16, Parity, &'static str);

const WFO: &str = "000_635159d580e3ad70.txt";
const CIC: &str = "001_cb4cbd1ca92ab5a7.txt";
const UC: &str = "002_5539a479628a78e2.txt";
const SINCH: &str = "004_7ac725733a5d06a8.txt";

#[rustfmt::skip]
const ROWS: &[Row] = &[
    // ---- 000 inContact WFO (HTTP/HTTPS transports are TCP)
    (WFO, TCP, 2010, 2010, All, "Connection Pooling: 2010 HTTP"),
    (WFO, TCP, 2012, 2012, All, "client PCs: 2012 HTTP"),
    (WFO, TCP, 4510, 4510, All, "client PCs: 4510 TCP"),
    (WFO, TCP, 443, 443, All, "client PCs: 443 HTTPS"),
    (WFO, TCP, 943, 943, All, "client PCs: 943 TCP"),
    (WFO, TCP, 80, 80, All, "client PCs: 80 HTTP"),
    (WFO, TCP, 2015, 2015, All, "client PCs: 2015 HTTP"),
    (WFO, TCP, 5638, 5638, All, "client PCs: 5638 TCP error logging"),
    (WFO, TCP, 5638, 5638, All, "Screen Recording: 5638 TCP"),
    (WFO, TCP, 5634, 5634, All, "Desktop Analytics: 5634 TCP"),
    // ---- 001 Genesys PureConnect CIC 2019 R3 port maps
    // Client operations (Interaction Desktop / Administrator / Designer / Attendant)
    (CIC, TCP, 5597, 5597, All, "Client operations: Notifier TCP SSL 5597"),
    (CIC, TCP, 6234, 6234, All, "Client operations: Notifier TCP TLS 6234"),
    (CIC, UDP, 6235, 6235, All, "Client operations: Notifier UDP 6235"),
    (CIC, TCP, 2633, 2633, All, "Client operations: Notifier TCP 2633"),
    (CIC, TCP, 3952, 3952, All, "Client operations: Session Manager TCP 3952"),
    (CIC, TCP, 445, 445, All, "Client operations: SMB TCP 445"),
    (CIC, TCP, 8018, 8018, All, "Client operations: Session Manager ION TCP 8018"),
    (CIC, TCP, 8108, 8108, All, "Client operations: Session Manager ION TCP 8108"),
    (CIC, TCP, 8019, 8019, All, "Client operations: Session Manager ION TCP/TLS 8019"),
    (CIC, TCP, 8109, 8109, All, "Client operations: Session Manager ION TCP/TLS 8109"),
    // Interactive Update
    (CIC, TCP, 8092, 8092, All, "Interactive Update: HTTP TCP 8092"),
    (CIC, TCP, 8094, 8094, All, "Interactive Update: ClientApp TCP 8094"),
    (CIC, TCP, 8042, 8042, All, "Interactive Update: ClientConfig TCP 8042"),
    (CIC, TCP, 80, 80, All, "Interactive Update: updates.inin.com HTTP TCP 80"),
    (CIC, TCP, 443, 443, All, "Interactive Update: updates.inin.com TCP/TLS 443"),
    // Screen Recorder Client
    (CIC, TCP, 80, 80, All, "Screen Recorder Client: reverse proxy TCP 80"),
    (CIC, TCP, 443, 443, All, "Screen Recorder Client: reverse proxy TCP 443"),
    // Interaction Edge
    (CIC, TCP, 80, 80, All, "Edge: HTTP TCP 80"),
    (CIC, TCP, 8081, 8081, All, "Edge: HTTP TCP 8081"),
    (CIC, TCP, 443, 443, All, "Edge: HTTPS TLS 443"),
    (CIC, TCP, 20, 21, All, "Edge: FTP 20, 21"),
    (CIC, TCP, 8082, 8082, All, "Edge: Interaction Gateway HTTP TCP 8082"),
    (CIC, TCP, 444, 444, All, "Edge: Interaction Gateway HTTPS TLS 444"),
    (CIC, TCP, 8083, 8083, All, "Edge: Media Server (hosted) HTTP TCP 8083"),
    (CIC, TCP, 446, 446, All, "Edge: Media Server (hosted) HTTPS TLS 446"),
    (CIC, TCP, 8080, 8080, All, "Edge: SIP Proxy (hosted) HTTP TCP 8080"),
    (CIC, TCP, 442, 442, All, "Edge: SIP Proxy (hosted) HTTPS TLS 442"),
    (CIC, TCP, 623, 623, All, "Edge: remote console RMCP TCP 623"),
    (CIC, UDP, 623, 623, All, "Edge: remote console RMCP UDP 623"),
    (CIC, TCP, 5900, 5900, All, "Edge: remote console VNC TCP 5900"),
    (CIC, TCP, 8112, 8112, All, "Edge: Media Server (hosted) HTTP Fax Retrieval TCP 8112"),
    (CIC, TCP, 8113, 8113, All, "Edge: Media Server (hosted) HTTPS Fax Retrieval TCP 8113"),
    (CIC, TCP, 8098, 8098, All, "Edge: Media Server (hosted) Prompt Server TCP 8098"),
    (CIC, TCP, 8102, 8102, All, "Edge: recording / voice mail retrieval TCP 8102"),
    (CIC, TCP, 8103, 8103, All, "Edge: recording / voice mail retrieval TLS 8103"),
    (CIC, UDP, 32768, 40960, All, "Edge: RTP 32768 - 40960 to Interaction Gateway"),
    (CIC, UDP, 40961, 49152, All, "Edge: UDPTL 40961 - 49152 to Interaction Gateway"),
    (CIC, UDP, 6000, 9291, All, "Edge: Audiocodes 6000-9291"),
    // IWP and Interaction Marquee
    (CIC, TCP, 80, 80, All, "IWP: HTTP TCP 80"),
    (CIC, TCP, 443, 443, All, "IWP: HTTPS TLS 443"),
    (CIC, TCP, 445, 445, All, "IWP: SMB TCP 445"),
    (CIC, TCP, 8070, 8070, All, "IWP: All purpose TCP 8070"),
    (CIC, TCP, 8106, 8106, All, "IWP: Without IRRCS / All purpose TCP 8106"),
    (CIC, TCP, 3952, 3952, All, "IWP: Session Manager TCP 3952"),
    (CIC, TCP, 389, 389, All, "IWP: LDS TCP 389"),
    (CIC, TCP, 1521, 1521, All, "IWP: Oracle SQL TCP 1521"),
    (CIC, TCP, 1433, 1433, All, "IWP: Microsoft SQL TCP 1433"),
    // Reports and Scheduled Reports
    (CIC, TCP, 1521, 1521, All, "Reports: Oracle SQL TCP 1521"),
    (CIC, TCP, 1433, 1433, All, "Reports: Microsoft SQL TCP 1433"),
    (CIC, TCP, 1434, 1434, All, "Reports: Microsoft SQL TCP 1434"),
    // IP Phone Operations
    (CIC, UDP, 2222, 2269, All, "IP phones: Polycom 2222-2269"),
    (CIC, UDP, 2222, 2317, All, "IP phones: Polycom VVX-1500 2222-2317"),
    (CIC, UDP, 4000, 4003, All, "IP phones: Audiocodes 4000-4003"),
    (CIC, UDP, 4000, 4001, All, "IP phones: Interaction SIP Station (SIP100) 4000-4001"),
    (CIC, UDP, 4000, 4003, All, "IP phones: Interaction SIP Station II (SIP200) 4000-4003"),
    (CIC, TCP, 5060, 5060, All, "IP phones: SIP TCP 5060"),
    (CIC, UDP, 5060, 5060, All, "IP phones: SIP UDP 5060"),
    (CIC, TCP, 5061, 5061, All, "IP phones: SIP TLS TCP 5061"),
    (CIC, TCP, 8060, 8060, All, "IP phones: SIP TCP 8060"),
    (CIC, UDP, 8060, 8060, All, "IP phones: SIP UDP 8060"),
    (CIC, TCP, 8088, 8088, All, "IP phones: HTTP (Provisioning) TCP 8088"),
    (CIC, TCP, 8089, 8089, All, "IP phones: HTTPS (Provisioning) TCP 8089"),
    (CIC, UDP, 123, 123, All, "IP phones: NTP UDP 123"),
    (CIC, UDP, 67, 67, All, "IP phones: DHCP UDP 67"),
    (CIC, UDP, 53, 53, All, "IP phones: DNS UDP 53"),
    // SIP Communication
    (CIC, TCP, 8078, 8078, All, "SIP: SIP Bridge HTTP (Provisioning) TCP 8078"),
    (CIC, TCP, 8079, 8079, All, "SIP: SIP Bridge HTTPS (Provisioning) TCP 8079"),
    (CIC, TCP, 8061, 8061, All, "SIP: CIC Servers TLS/TCP 8061"),
    // Off-Server Session Manager
    (CIC, TCP, 8951, 8951, All, "OSSM: WebSocket TCP 8951"),
    (CIC, TCP, 8952, 8952, All, "OSSM: WebSocket TCP TLS 8952"),
    // Interaction Scripter .NET
    (CIC, TCP, 445, 445, All, "Scripter .NET: SMB TCP 445"),
    // Monitoring and Management
    (CIC, TCP, 80, 80, All, "Monitoring: Media Server / SIP Proxy HTTP TCP 80"),
    (CIC, TCP, 443, 443, All, "Monitoring: HTTPS / HPILO TCP 443"),
    (CIC, TCP, 8443, 8443, All, "Monitoring: HTTPS TCP 8443"),
    (CIC, TCP, 343, 343, All, "Monitoring: HTTPS TCP 343"),
    (CIC, TCP, 4433, 4433, All, "Monitoring: HTTPS TCP 4433"),
    (CIC, TCP, 3389, 3389, All, "Monitoring: RDP TCP 3389"),
    // Change log
    (CIC, TCP, 8019, 8019, All, "Change log 2018-10-19: SSO Session Manager TCP 8019"),
    (CIC, TCP, 8043, 8043, All, "Change log 2018-10-19: SSO Secure Token Server TCP 8043"),
    (CIC, TCP, 443, 443, All, "Change log 2018-03-12: Gmail HTTPS TLS 443"),
    (CIC, TCP, 465, 465, All, "Change log 2018-03-12: Gmail SMTP TLS 465"),
    (CIC, TCP, 993, 993, All, "Change log 2018-03-12: Gmail IMAP TLS 993"),
    (CIC, TCP, 445, 445, All, "Change log 2018-03-12: IMS/FBMC file share TLS 445"),
    (CIC, TCP, 1434, 1434, All, "Change log 2018-08-03: Microsoft SQL TCP 1434"),
    (CIC, TCP, 8106, 8107, All, "Change log 2017-06-22: IRRCS to CIC server 8106 and 8107"),
    (CIC, TCP, 8096, 8096, All, "Change log 2014-09-19: Appliance Monitor SNMP TCP 8096"),
    (CIC, TCP, 8097, 8097, All, "Change log 2014-09-19: SNMP TLS \"097\" (defect) = 8097"),
    (CIC, UDP, 8888, 8888, All, "Change log 2014-05-28: Switchover UDP 8888"),
    // ---- 002 uContact
    (UC, UDP, 3478, 3478, All, "item 1: 3478 UDP"),
    (UC, TCP, 3478, 3478, All, "item 1: 3478 TCP"),
    (UC, UDP, 8089, 8089, All, "item 2: 8089 UDP"),
    (UC, TCP, 8089, 8089, All, "item 2: 8089 TCP"),
    (UC, UDP, 443, 443, All, "item 3: 443 UDP"),
    (UC, TCP, 443, 443, All, "item 3: 443 TCP"),
    (UC, UDP, 10000, 20000, All, "item 4: \"10000-2000\" UDP (defect) = 10000-20000"),
    (UC, TCP, 80, 80, All, "item 5: http://cacerts.geotrust.com (http:// = TCP 80)"),
    // ---- 004 Sinch Contact Center
    (SINCH, TCP, 21018, 21018, All, "Agent Server TCP 21018"),
    (SINCH, TCP, 21013, 21013, All, "Alarm Server TCP 21013"),
    (SINCH, TCP, 21000, 21000, All, "Call Dispatcher TCP 21000"),
    (SINCH, TCP, 21019, 21019, All, "CEM Server TCP 21019"),
    (SINCH, TCP, 8088, 8088, All, "CEM Server TCP 8088 (Universal Queue REST)"),
    (SINCH, TCP, 21004, 21004, All, "Chat Server TCP 21004"),
    (SINCH, TCP, 21020, 21020, All, "Chat Portal Server TCP 21020"),
    (SINCH, UDP, 5004, 5030, Even, "Communication Desktop UDP 5004-5030 even (RTP)"),
    (SINCH, UDP, 5005, 5031, Odd, "Communication Desktop UDP 5005-5031 odd (RTCP)"),
    (SINCH, TCP, 21002, 21002, All, "Connection Server TCP 21002 (clients)"),
    (SINCH, TCP, 21017, 21017, All, "Connection Server TCP 21017 (servers)"),
    (SINCH, TCP, 21009, 21009, All, "Data Collector TCP 21009"),
    (SINCH, TCP, 21021, 21021, All, "Directory Server TCP 21021"),
    (SINCH, TCP, 443, 443, All, "ECF Web Server HTTPS 443"),
    (SINCH, TCP, 21024, 21024, All, "ECF Web Server TCP 21024"),
    (SINCH, TCP, 21015, 21015, All, "External Terminal Controller TCP 21015"),
    (SINCH, TCP, 21008, 21008, All, "File Replication Server TCP 21008"),
    (SINCH, TCP, 21003, 21003, All, "H323 Bridge TCP 21003"),
    (SINCH, TCP, 1720, 1720, All, "H323 Bridge TCP 1720"),
    (SINCH, TCP, 21012, 21012, All, "HAC 21012 (no protocol given: TCP)"),
    (SINCH, TCP, 21014, 21014, All, "HAC Administrator 21014 (no protocol given: TCP)"),
    (SINCH, TCP, 21010, 21010, All, "Media Routing Server TCP 21010"),
    (SINCH, UDP, 8000, 8400, All, "MRS prompts: 8000 + 2 x 200 (default)"),
    (SINCH, UDP, 9000, 10200, All, "MRS recordings: 9000 + 6 x 200 (default)"),
    (SINCH, TCP, 21097, 21097, All, "OII TCP 21097"),
    (SINCH, TCP, 21022, 21022, All, "PSI TCP 21022"),
    (SINCH, TCP, 21016, 21016, All, "QMS TCP 21016"),
    (SINCH, TCP, 21006, 21006, All, "SIP Bridge TCP 21006 (gatekeeper)"),
    (SINCH, TCP, 21007, 21007, All, "SIP Bridge TCP 21007 (gateway)"),
    (SINCH, UDP, 5060, 5060, All, "SIP Bridge UDP 5060"),
    (SINCH, TCP, 5060, 5060, All, "SIP Bridge TCP 5060"),
    (SINCH, TCP, 5061, 5061, All, "SIP Bridge TLS 5061"),
    (SINCH, TCP, 21023, 21023, All, "Terminal Server TCP 21023"),
    (SINCH, TCP, 80, 80, All, "Web Server HTTP 80"),
    (SINCH, TCP, 443, 443, All, "Web Server HTTPS 443"),
];

/// Addresses the documents name: (document, CIDR).
const ADDRESSES: &[(&str, &str)] = &[
    (WFO, "207.166.94.0/24"),
    (WFO, "207.166.95.0/24"),
    (UC, "104.197.204.63/32"),
    (UC, "74.125.134.127/32"),
];

/// Host names the documents name: (document, host).
const HOSTS: &[(&str, &str)] = &[
    (CIC, "updates.inin.com"),
    (UC, "stun.ucontactcloud.com"),
    (UC, "*.ucontactcloud.com"),
    (UC, "cacerts.geotrust.com"),
    (UC, "redirector.gvt1.com"),
    (UC, "us-central1-licenciator.cloudfunctions.net"),
    (UC, "monitor.ucontactcloud.com"),
    (UC, "*.github.com"),
];

fn packs() -> Vec<Pack> {
    let mut store = FileStore::new();
    builtin_packs()
        .iter()
        .map(|(name, text)| {
            let id = store.add_text(*name, None, (*text).to_owned(), Encoding::Utf8);
            load_pack(store.get(id), true, &BTreeMap::new())
                .unwrap_or_else(|e| panic!("{name}: {e:?}"))
        })
        .collect()
}

/// The pack that encodes a document (the one whose `sources` name it), exactly one.
fn pack_for<'a>(packs: &'a [Pack], document: &str) -> &'a Pack {
    let vendor: Vec<&Pack> = packs
        .iter()
        .filter(|p| {
            p.sources
                .iter()
                .any(|s| s.document.as_deref() == Some(document))
        })
        .filter(|p| {
            p.requirements
                .iter()
                .any(|r| matches!(r.check, Check::RequiredFlow { .. }))
        })
        .collect();
    assert_eq!(
        vendor.len(),
        1,
        "{document}: expected one vendor pack, found {}",
        vendor.len()
    );
    vendor[0]
}

fn row_ports(lo: u16, hi: u16, parity: Parity) -> PortSet {
    match parity {
        All => PortSet::range(lo.into(), hi.into()),
        Even | Odd => {
            let want = u16::from(matches!(parity, Odd));
            PortSet::from_ranges(
                (lo..=hi)
                    .filter(|p| p % 2 == want)
                    .map(|p| (u128::from(p), u128::from(p))),
            )
        }
    }
}

/// Rows of `rows` not covered by a required-flow requirement of their pack.
fn uncovered(packs: &[Pack], rows: &[Row]) -> Vec<String> {
    let mut missing = Vec::new();
    for &(doc, proto, lo, hi, parity, what) in rows {
        let pack = pack_for(packs, doc);
        let want = row_ports(lo, hi, parity);
        let covered = pack.requirements.iter().any(|r| match &r.check {
            Check::RequiredFlow { flow, .. } => {
                flow.protocols.contains(u128::from(proto)) && want.is_subset(&flow.ports)
            }
            _ => false,
        });
        if !covered {
            let name = if proto == TCP { "tcp" } else { "udp" };
            missing.push(format!(
                "{doc} ({}): {name} {lo}-{hi} {parity:?}: {what}",
                pack.id
            ));
        }
    }
    missing
}

#[test]
fn every_document_port_is_covered_by_its_pack() {
    let packs = packs();
    let missing = uncovered(&packs, ROWS);
    assert!(
        missing.is_empty(),
        "ports of the documents not encoded:\n{}",
        missing.join("\n")
    );
}

/// The coverage test can fail: drop the one requirement holding a port and the row is reported.
#[test]
fn coverage_check_reports_a_removed_port() {
    let all = packs();
    let mut packs = all.clone();
    let sinch = packs
        .iter_mut()
        .find(|p| p.id == "sinch-contact-center")
        .unwrap();
    sinch.requirements.retain(|r| r.id != "SINCH-H323-TRUNK");
    let missing = uncovered(&packs, ROWS);
    assert_eq!(missing.len(), 1, "{missing:#?}");
    assert!(missing[0].contains("tcp 1720-1720"), "{missing:#?}");
    // A protocol mismatch is not coverage either.
    let udp_1720: &[Row] = &[(
        SINCH,
        UDP,
        1720,
        1720,
        All,
        "udp 1720 (not in the document)",
    )];
    assert_eq!(uncovered(&all, udp_1720).len(), 1);
    // Nor is half of a range.
    let wide: &[Row] = &[(SINCH, UDP, 8000, 8401, All, "one past the prompt area")];
    assert_eq!(uncovered(&all, wide).len(), 1);
}

#[test]
fn document_defects_are_not_copied() {
    let packs = packs();
    let flows = |id: &str| -> Vec<PortSet> {
        packs
            .iter()
            .find(|p| p.id == id)
            .unwrap()
            .requirements
            .iter()
            .filter_map(|r| match &r.check {
                Check::RequiredFlow { flow, .. } => Some(flow.ports.clone()),
                _ => None,
            })
            .collect()
    };
    // "SNMP TLS 097/WAN": port 97 is not required, 8097 is (checked above), and the notes say so.
    assert!(flows("genesys-pureconnect").iter().all(|p| !p.contains(97)));
    let cic = packs
        .iter()
        .find(|p| p.id == "genesys-pureconnect")
        .unwrap();
    let snmp = cic
        .requirements
        .iter()
        .find(|r| r.id == "CIC-SNMP-APPLIANCE-MONITOR")
        .unwrap();
    assert!(snmp.notes.as_deref().unwrap_or("").contains("8097"));
    // "10000-2000": neither 2000-10000 nor a range ending at 2000.
    assert!(flows("ucontact")
        .iter()
        .all(|p| !p.contains(2000) && !p.contains(5000)));
    let uc = packs.iter().find(|p| p.id == "ucontact").unwrap();
    let media = uc.requirements.iter().find(|r| r.id == "UC-MEDIA").unwrap();
    assert!(media.notes.as_deref().unwrap_or("").contains("10000-2000"));
    // WFO lists 5638 twice: the pack says so.
    let wfo = packs.iter().find(|p| p.id == "incontact-wfo").unwrap();
    assert!(wfo.notes.as_deref().unwrap_or("").contains("5638 twice"));
}

#[test]
fn document_addresses_and_hosts_are_in_pack_roles() {
    let packs = packs();
    for &(doc, cidr) in ADDRESSES {
        let pack = pack_for(&packs, doc);
        let want = parse_net(cidr).unwrap();
        let found = pack.roles.values().any(|r| {
            r.addresses
                .iter()
                .filter_map(|a| parse_net(a))
                .any(|a| want.is_subset(&a))
        });
        assert!(found, "{doc}: {cidr} is not in any role of {}", pack.id);
    }
    for &(doc, host) in HOSTS {
        let pack = pack_for(&packs, doc);
        let found = pack
            .roles
            .values()
            .any(|r| r.hosts.iter().any(|h| h == host));
        assert!(
            found,
            "{doc}: host {host} is not in any role of {}",
            pack.id
        );
    }
}

#[test]
fn every_requirement_is_documented() {
    for pack in packs() {
        let sources: Vec<&str> = pack.sources.iter().map(|s| s.id.as_str()).collect();
        for r in &pack.requirements {
            let at = format!("{} {}", pack.id, r.id);
            assert!(!r.references.is_empty(), "{at}: no references");
            assert!(
                r.references.iter().all(|x| !x.trim().is_empty()),
                "{at}: empty reference"
            );
            let src = r
                .source
                .as_ref()
                .unwrap_or_else(|| panic!("{at}: no source"));
            assert!(
                sources.contains(&src.id.as_str()),
                "{at}: unknown source {}",
                src.id
            );
            assert!(!r.rationale.trim().is_empty(), "{at}: no rationale");
            assert!(!r.remediation.trim().is_empty(), "{at}: no remediation");
        }
    }
}

#[test]
fn vendor_flows_have_endpoints_sections_and_cite_their_document() {
    let packs = packs();
    for doc in [WFO, CIC, UC, SINCH] {
        let pack = pack_for(&packs, doc);
        for r in &pack.requirements {
            let at = format!("{} {}", pack.id, r.id);
            let section = r.source.as_ref().and_then(|s| s.section.as_deref());
            assert!(
                section.is_some_and(|s| !s.trim().is_empty()),
                "{at}: no source section"
            );
            assert!(
                r.references.iter().any(|x| x.contains(doc)),
                "{at}: no reference to {doc}"
            );
            if let Check::RequiredFlow { from, to, flow, .. } = &r.check {
                assert!(
                    from.is_some() && to.is_some(),
                    "{at}: flow without from/to roles"
                );
                assert!(
                    !flow.ports.is_empty() && !flow.protocols.is_empty(),
                    "{at}: empty flow"
                );
                if r.optional {
                    assert!(r.component.is_some(), "{at}: optional without a component");
                }
            }
        }
    }
}
