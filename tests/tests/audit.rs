//! The audit of hostile components (text and JSON): what they import beyond the grants is named, with the grant
//! line that would allow it, and the verdict is a refusal.

use host_harness::audit::{Audit, Severity};
use host_harness::sandbox::grants::Grants;

const HOSTILE_FS: &[u8] = include_bytes!(env!("HOSTILE_FS_CONNECTOR_WASM"));
const HOSTILE_SOCKETS: &[u8] = include_bytes!(env!("HOSTILE_SOCKETS_CONNECTOR_WASM"));
const HOSTILE: &[u8] = include_bytes!(env!("HOSTILE_CONNECTOR_WASM"));

#[test]
fn a_component_importing_the_filesystem_is_refused_in_text_and_json() {
    let audit = Audit::of("hostile_fs.wasm", HOSTILE_FS, Grants::embedded(), None).unwrap();
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
        Grants::embedded(),
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
    let audit = Audit::of("hostile.wasm", HOSTILE, Grants::embedded(), None).unwrap();
    assert!(!audit.refused(), "{}", audit.to_text());
    assert!(audit.needs_more_than_granted(), "no manifest is a warning");
    assert!(audit.to_text().contains("Verdict    loadable, but"));
}
