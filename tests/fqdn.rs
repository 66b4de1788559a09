//! Host roles against FQDN objects, end to end: the uContact pack on a FortiGate export with
//! FQDN and wildcard-FQDN addresses (fixtures/fortios/ucontact-fqdn.conf).

mod common;

use common::portaudit;

const FIXTURE: &str = "fixtures/fortios/ucontact-fqdn.conf";

/// (findings as (requirement, file, line, message), per-status counts of the ucontact pack).
fn check(path: &str) -> (Vec<(String, String, u64, String)>, serde_json::Value) {
    let out = portaudit()
        .args([
            "check",
            path,
            "--no-config",
            "--pack",
            "ucontact",
            "--format",
            "json",
        ])
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let findings = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["rule"].as_str().unwrap().to_owned(),
                f["file"].as_str().unwrap().to_owned(),
                f["line"].as_u64().unwrap(),
                f["message"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    (findings, v["summary"]["packs"][0]["results"].clone())
}

fn find<'a>(
    fs: &'a [(String, String, u64, String)],
    id: &str,
) -> Vec<&'a (String, String, u64, String)> {
    fs.iter().filter(|f| f.0 == id).collect()
}

#[test]
fn host_roles_pass_block_and_stay_unverifiable_as_the_fqdn_objects_say() {
    let (fs, results) = check(FIXTURE);
    // Passes: STUN by its FQDN object (policy 2), the instance flows by the wildcard object
    // *.ucontactcloud.com (policy 3).
    for id in ["UC-STUN-3478", "UC-8089", "UC-443", "UC-MEDIA"] {
        assert!(find(&fs, id).is_empty(), "{id}: {fs:?}");
    }
    // Blocked: the deny of policy 1 names monitor.ucontactcloud.com, before the allow-any of
    // policy 5 (line 43 is `edit 1`).
    let m = find(&fs, "UC-MONITOR");
    assert_eq!(m.len(), 1, "{fs:?}");
    assert_eq!((m[0].1.as_str(), m[0].2), (FIXTURE, 43));
    assert!(
        m[0].3.contains("is blocked") && m[0].3.contains("policy 1"),
        "{}",
        m[0].3
    );
    // Not verifiable: tcp/80 is allowed only to the address object of policy 4 (line 73).
    for id in ["UC-CERT-GEOTRUST", "UC-CERT-GVT1"] {
        let g = find(&fs, id);
        assert_eq!(g.len(), 1, "{id}: {fs:?}");
        assert_eq!((g[0].1.as_str(), g[0].2), (FIXTURE, 73), "{id}");
        assert!(g[0].3.contains("not verifiable"), "{}", g[0].3);
    }
    // fail: SIP ALG (vendor default on) and the monitor; not evidenced: the two certificate sites.
    assert_eq!(results["fail"], 2, "{results}");
    assert_eq!(results["not-evidenced"], 2, "{results}");
    assert_eq!(results["pass"], 8, "{results}");
}

/// The fixture rewritten, run from a temporary folder.
fn variant(
    edit: impl Fn(String) -> String,
) -> (Vec<(String, String, u64, String)>, serde_json::Value) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("edge.conf");
    std::fs::write(&path, edit(std::fs::read_to_string(FIXTURE).unwrap())).unwrap();
    check(path.to_str().unwrap())
}

#[test]
fn wildcard_host_needs_a_name_under_the_domain_not_another_roles_host() {
    // The instance object becomes stun.ucontactcloud.com: that is the STUN host, not the
    // customer's instance, and nothing else allows 8089 anywhere: blocked for every destination.
    let (fs, _) = variant(|t| {
        t.replace(
            "set type wildcard-fqdn\n        set wildcard-fqdn \"*.ucontactcloud.com\"",
            "set type fqdn\n        set fqdn \"stun.ucontactcloud.com\"",
        )
    });
    let f = find(&fs, "UC-8089");
    assert_eq!(f.len(), 1, "{fs:?}");
    assert!(f[0].3.contains("cannot be verified"), "{}", f[0].3);
    assert!(!f[0].3.contains("is allowed by"), "{}", f[0].3);
    // An FQDN object for the customer's own instance satisfies the wildcard host.
    let (fs, _) = variant(|t| {
        t.replace(
            "set type wildcard-fqdn\n        set wildcard-fqdn \"*.ucontactcloud.com\"",
            "set type fqdn\n        set fqdn \"acme.ucontactcloud.com\"",
        )
    });
    assert!(find(&fs, "UC-8089").is_empty(), "{fs:?}");
    // A wildcard deny of the domain before the instance allow blocks it.
    let (fs, results) = variant(|t| {
        t.replace(
            "        set dstaddr \"uc-monitor\"",
            "        set dstaddr \"uc-instances\"",
        )
        .replace(
            "        set service \"HTTPS\"\n    next\n    edit 2",
            "        set service \"ALL\"\n    next\n    edit 2",
        )
    });
    for id in ["UC-8089", "UC-443", "UC-MEDIA", "UC-STUN-3478"] {
        let f = find(&fs, id);
        assert_eq!(f.len(), 1, "{id}: {fs:?}");
        assert!(
            f[0].3.contains("blocked") && f[0].3.contains("policy 1"),
            "{id}: {}",
            f[0].3
        );
        assert_eq!(f[0].2, 43, "{id}");
    }
    assert!(results["pass"].as_u64().unwrap() < 8, "{results}");
}

#[test]
fn asa_fqdn_objects_pass_block_and_stay_unverifiable() {
    const ASA: &str = "fixtures/asa/ucontact-fqdn.cfg";
    let (fs, _) = check(ASA);
    // STUN: udp and tcp 3478 allowed to the fqdn object of stun.ucontactcloud.com.
    assert!(find(&fs, "UC-STUN-3478").is_empty(), "{fs:?}");
    // Monitor: the deny of line 20 names it before the permit-any of line 24.
    let m = find(&fs, "UC-MONITOR");
    assert_eq!(m.len(), 1, "{fs:?}");
    assert_eq!((m[0].1.as_str(), m[0].2), (ASA, 20));
    assert!(m[0].3.contains("is blocked"), "{}", m[0].3);
    // GeoTrust: tcp/80 only to a host object (line 23).
    let g = find(&fs, "UC-CERT-GEOTRUST");
    assert_eq!(g.len(), 1, "{fs:?}");
    assert_eq!((g[0].1.as_str(), g[0].2), (ASA, 23));
    assert!(g[0].3.contains("not verifiable"), "{}", g[0].3);
}
