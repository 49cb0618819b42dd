//! A test certificate authority made by the test, standing in for the public ones: its root as a PEM file (what an
//! operator hands `--cacert`) and the identity it signed for `slack.com`, which the simulated Slack serves.

use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use slack_sim::TlsIdentity;
use std::path::{Path, PathBuf};

/// A fresh authority: its root written to `dir/test-ca.pem`, and a `slack.com` identity it signed.
pub fn authority(dir: &Path) -> (PathBuf, TlsIdentity) {
    let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "lms-harness test CA");
    params.key_usages = vec![
        rcgen::KeyUsagePurpose::KeyCertSign,
        rcgen::KeyUsagePurpose::DigitalSignature,
    ];
    let ca =
        rcgen::CertifiedIssuer::self_signed(params, rcgen::KeyPair::generate().unwrap()).unwrap();
    let key = rcgen::KeyPair::generate().unwrap();
    let leaf = rcgen::CertificateParams::new(vec!["slack.com".to_string()])
        .unwrap()
        .signed_by(&key, &ca)
        .unwrap();
    let pem = dir.join("test-ca.pem");
    std::fs::write(&pem, ca.pem()).unwrap();
    let chain: Vec<CertificateDer<'static>> = vec![leaf.der().clone(), ca.der().clone()];
    let identity = TlsIdentity::new(chain, PrivateKeyDer::Pkcs8(key.serialize_der().into()));
    (pem, identity)
}

/// An environment of these variables only.
pub fn environment(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> + use<> {
    let map: std::collections::HashMap<String, String> = pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    move |name| map.get(name).cloned()
}
