//! The audit of hostile components (text and JSON): what they import beyond the grants is named, with the grant
//! line that would allow it, and the verdict is a refusal.

use connector_host::audit::{Audit, Severity};
use lms_harness::connector::default_grants;

const HOSTILE_FS: &[u8] = include_bytes!(env!("HOSTILE_FS_CONNECTOR_WASM"));
const HOSTILE_SOCKETS: &[u8] = include_bytes!(env!("HOSTILE_SOCKETS_CONNECTOR_WASM"));
const HOSTILE: &[u8] = include_bytes!(env!("HOSTILE_CONNECTOR_WASM"));

#[test]
fn a_component_importing_the_filesystem_is_refused_in_text_and_json() {
    let audit = Audit::of("hostile_fs.wasm", HOSTILE_FS, default_grants(), None).unwrap();
    assert!(audit.refused());
    assert!(audit.needs_more_than_granted());
    let text = audit.to_text();
    for expected in [
        "Component  hostile_fs.wasm",
        "Manifest   none found",
        "!! wasi:filesystem/preopens@0.2.12",
        "!! wasi:filesystem/types@0.2.12",
        "add `\"wasi:filesystem/types\"` to `allow` under [imports]",
        "warning has no manifest",
        "Verdict    refused",
    ] {
        assert!(text.contains(expected), "missing `{expected}` in\n{text}");
    }
    let json = audit.to_json();
    assert_eq!(json["refused"], true);
    assert_eq!(json["component"]["sha256"].as_str().unwrap().len(), 64);
    let fs = json["imports"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["name"] == "wasi:filesystem/preopens@0.2.12")
        .unwrap();
    assert!(fs["granted_by_line"].is_null());
    assert!(
        fs["functions"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f == "get-directories")
    );
}

#[test]
fn a_component_importing_sockets_is_refused() {
    let audit = Audit::of(
        "hostile_sockets.wasm",
        HOSTILE_SOCKETS,
        default_grants(),
        None,
    )
    .unwrap();
    assert!(audit.refused());
    let errors: Vec<&str> = audit
        .differences
        .iter()
        .filter(|d| d.severity == Severity::Error)
        .map(|d| d.message.as_str())
        .collect();
    assert!(
        errors
            .iter()
            .any(|e| e.contains("wasi:sockets/tcp-create-socket@0.2.12")),
        "{errors:?}"
    );
}

#[test]
fn a_component_within_the_grants_but_without_a_manifest_is_loadable_with_a_warning() {
    let audit = Audit::of("hostile.wasm", HOSTILE, default_grants(), None).unwrap();
    assert!(!audit.refused(), "{}", audit.to_text());
    assert!(audit.needs_more_than_granted(), "no manifest is a warning");
    assert!(audit.to_text().contains("Verdict    loadable, but"));
}

#[test]
fn the_embedded_connector_imports_only_what_the_contract_and_std_need_and_passes_its_audit() {
    use lms_harness::connector::{EMBEDDED_CONNECTOR, embedded_manifest};
    let audit = Audit::of(
        "embedded",
        EMBEDDED_CONNECTOR,
        default_grants(),
        Some(embedded_manifest()),
    )
    .unwrap();
    assert!(!audit.needs_more_than_granted(), "{}", audit.to_text());
    let names: Vec<&str> = audit
        .surface
        .imports
        .iter()
        .map(|i| i.name.as_str())
        .collect();
    assert!(names.contains(&"wasi:http/outgoing-handler@0.2.12"));
    assert!(!names.iter().any(|n| n.starts_with("wasi:sockets")));
    assert!(!names.iter().any(|n| n.starts_with("wasi:filesystem")));
    assert!(names.contains(&"lms:connector/progress@0.2.0"));
    assert!(names.contains(&"lms:connector/types@0.3.0"));
    assert_eq!(
        audit.surface.exports[0].name,
        "lms:connector/connector@0.3.0"
    );
}
