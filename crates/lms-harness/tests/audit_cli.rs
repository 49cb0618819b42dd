//! `lms-harness audit`: the real component passes under the default grants (text and JSON, exit 0); under grants
//! that withhold outbound HTTP it is refused, naming the import and the line that would grant it (exit 1).

use lms_harness::connector::{CONNECTOR_WASM_PATH, DEFAULT_GRANTS, EMBEDDED_CONNECTOR};
use sha2::Digest;
use std::process::Command;

fn audit(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_lms-harness"))
        .arg("audit")
        .args(args)
        .env("RUST_LOG", "warn")
        .output()
        .expect("running lms-harness audit");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn sha256() -> String {
    sha2::Sha256::digest(EMBEDDED_CONNECTOR)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[test]
fn the_real_component_passes_its_audit_in_text() {
    let (code, text, stderr) = audit(&[CONNECTOR_WASM_PATH]);
    assert_eq!(code, 0, "{text}{stderr}");
    assert!(text.contains(&format!("SHA-256  {}", sha256())), "{text}");
    for expected in [
        "Manifest   crates/slack-connector/connector.toml (embedded)",
        "Grants     embedded default (for connector `slack`)",
        "outbound https://slack.com:443/api/",
        "ok wasi:http/outgoing-handler@0.2.12",
        "lms:connector/connector@0.3.0: ",
        "limits    memory 64 MiB",
        "redirects not followed",
        "only client_secret, signing_secret, bot_token, refresh_token are readable",
        "Verdict    loadable",
    ] {
        assert!(text.contains(expected), "missing `{expected}` in\n{text}");
    }
    assert!(!text.contains("wasi:filesystem"), "{text}");
    assert!(!text.contains("wasi:sockets"), "{text}");
    assert!(!text.contains("NOT GRANTED"), "{text}");
}

#[test]
fn the_real_component_passes_its_audit_in_json() {
    let (code, out, stderr) = audit(&[CONNECTOR_WASM_PATH, "--json"]);
    assert_eq!(code, 0, "{out}{stderr}");
    let json: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(json["component"]["sha256"], sha256());
    assert_eq!(json["manifest"]["id"], "slack");
    assert_eq!(json["refused"], false);
    assert_eq!(json["needs_more_than_granted"], false);
    let imports = json["imports"].as_array().unwrap();
    let handler = imports
        .iter()
        .find(|i| i["name"] == "wasi:http/outgoing-handler@0.2.12")
        .unwrap();
    assert!(handler["granted_by_line"].as_u64().unwrap() > 1);
    assert_eq!(handler["declared"], true);
    assert!(imports.iter().all(|i| !i["granted_by_line"].is_null()));
    assert_eq!(
        json["in_force"]["outbound"]["allow"],
        serde_json::json!(["https://slack.com:443/api/"])
    );
    assert_eq!(json["in_force"]["outbound"]["redirects_followed"], false);
    assert_eq!(json["exports"][0]["name"], "lms:connector/connector@0.3.0");
}

#[test]
fn grants_that_withhold_an_import_make_the_audit_fail_and_name_it() {
    let dir = std::env::temp_dir().join(format!("audit-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let grants = dir.join("grants.toml");
    std::fs::write(
        &grants,
        DEFAULT_GRANTS.replace("    \"wasi:http/outgoing-handler\",\n", ""),
    )
    .unwrap();
    let grants = grants.to_str().unwrap();
    let (code, text, _) = audit(&[CONNECTOR_WASM_PATH, "--grants", grants]);
    assert_eq!(code, 1, "{text}");
    assert!(
        text.lines()
            .any(|l| l.contains("!! wasi:http/outgoing-handler@0.2.12")
                && l.ends_with("NOT GRANTED, declared")),
        "{text}"
    );
    assert!(
        text.contains("add `\"wasi:http/outgoing-handler\"` to `allow` under [imports]"),
        "{text}"
    );
    assert!(text.contains("Verdict    refused"), "{text}");
    let (code, out, _) = audit(&[CONNECTOR_WASM_PATH, "--grants", grants, "--json"]);
    assert_eq!(code, 1);
    let json: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(json["refused"], true);
    assert!(json["differences"].as_array().unwrap().iter().any(|d| {
        d["severity"] == "error"
            && d["message"]
                .as_str()
                .unwrap()
                .contains("wasi:http/outgoing-handler@0.2.12")
    }));
    std::fs::remove_dir_all(&dir).unwrap();
}
