//! The built-in packs, embedded in the binary so it works with nothing installed.

/// Built-in pack ids, in listing order.
pub const BUILTIN_IDS: &[&str] = &[
    "incontact-wfo",
    "genesys-pureconnect",
    "ucontact",
    "sinch-contact-center",
    "voip-hygiene",
    "pci-dss-4.0.1",
    "iso27001-2022",
    "pci-dss-3.2.1",
    "nist-800-63b-4",
    "cis-controls-v8",
];

/// Packs run when neither `--pack` nor a config file selects any.
pub const DEFAULT_PACKS: &[&str] = &["voip-hygiene", "pci-dss-4.0.1", "iso27001-2022"];

/// `(file name, YAML text)` of every built-in pack.
pub fn builtin_packs() -> &'static [(&'static str, &'static str)] {
    &[
        (
            "policies/incontact-wfo.yaml",
            include_str!("../../policies/incontact-wfo.yaml"),
        ),
        (
            "policies/genesys-pureconnect.yaml",
            include_str!("../../policies/genesys-pureconnect.yaml"),
        ),
        (
            "policies/ucontact.yaml",
            include_str!("../../policies/ucontact.yaml"),
        ),
        (
            "policies/sinch-contact-center.yaml",
            include_str!("../../policies/sinch-contact-center.yaml"),
        ),
        (
            "policies/voip-hygiene.yaml",
            include_str!("../../policies/voip-hygiene.yaml"),
        ),
        (
            "policies/pci-dss-4.0.1.yaml",
            include_str!("../../policies/pci-dss-4.0.1.yaml"),
        ),
        (
            "policies/iso27001-2022.yaml",
            include_str!("../../policies/iso27001-2022.yaml"),
        ),
        (
            "policies/pci-dss-3.2.1.yaml",
            include_str!("../../policies/pci-dss-3.2.1.yaml"),
        ),
        (
            "policies/nist-800-63b-4.yaml",
            include_str!("../../policies/nist-800-63b-4.yaml"),
        ),
        (
            "policies/cis-controls-v8.yaml",
            include_str!("../../policies/cis-controls-v8.yaml"),
        ),
    ]
}
