//! The TLS client of every https connection: which certificate authorities it trusts, and what a failed handshake
//! tells the operator and the component.
//!
//! The trusted roots are the Mozilla set compiled in from `webpki-roots` plus the operator's extra roots (curl's
//! `--cacert FILE`, read with [`read_pem_certificates`]); the platform's certificate store is not consulted, so the
//! host trusts the same authorities on every machine. The host name is always verified, against the name in the URL
//! (also when a [`super::Pin`] or a proxy decides where the connection goes). The rustls configuration is built once
//! per [`TlsClient`], and so once per [`super::OutboundConfig`], not per connection.

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use std::path::Path;
use std::sync::Arc;
use wasmtime_wasi_http::Error as HttpError;
use wasmtime_wasi_http::p2::bindings::http::types::{ErrorCode, TlsAlertReceivedPayload};

/// The TLS client of every https connection, built once: it trusts the Mozilla roots compiled in from
/// `webpki-roots` plus the operator's extra roots (never the platform's certificate store, so every machine trusts the
/// same authorities), and always verifies the host name of the URL, also when a [`super::Pin`] or a proxy decides
/// where the connection goes.
#[derive(Clone)]
pub struct TlsClient {
    extra_roots: Vec<CertificateDer<'static>>,
    config: Arc<rustls::ClientConfig>,
}

impl TlsClient {
    /// A client trusting the webpki roots and `extra_roots` (such as those [`read_pem_certificates`] read). Refuses a
    /// certificate that cannot serve as a root, counting from 1.
    pub fn new(extra_roots: Vec<CertificateDer<'static>>) -> anyhow::Result<TlsClient> {
        TlsClient::build(Vec::new(), extra_roots)
    }

    /// The same client also trusting `more` roots; refuses one that cannot serve as a root, counting from 1 in
    /// `more`.
    pub fn with_extra_roots(
        &self,
        more: Vec<CertificateDer<'static>>,
    ) -> anyhow::Result<TlsClient> {
        TlsClient::build(self.extra_roots.clone(), more)
    }

    /// The roots trusted on top of the webpki ones.
    pub fn extra_roots(&self) -> &[CertificateDer<'static>] {
        &self.extra_roots
    }

    /// The rustls configuration trusting the webpki roots, the extra roots `trusted` (checked before) and `more`.
    fn build(
        trusted: Vec<CertificateDer<'static>>,
        more: Vec<CertificateDer<'static>>,
    ) -> anyhow::Result<TlsClient> {
        let mut roots = rustls::RootCertStore {
            roots: webpki_roots::TLS_SERVER_ROOTS.into(),
        };
        roots.add_parsable_certificates(trusted.iter().cloned());
        for (n, root) in more.iter().enumerate() {
            roots.add(root.clone()).map_err(|e| {
                anyhow::anyhow!("certificate {} cannot serve as a root: {e}", n + 1)
            })?;
        }
        let config = rustls::ClientConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()?
        .with_root_certificates(roots)
        .with_no_client_auth();
        Ok(TlsClient {
            extra_roots: trusted.into_iter().chain(more).collect(),
            config: Arc::new(config),
        })
    }

    /// Runs the TLS handshake for `host` over `stream`; `address` (where the stream goes) is for the error message. A
    /// failed handshake is `Tls` with a message that says what the operator can do, and the rustls reason.
    pub(super) async fn connect<S>(
        &self,
        host: &str,
        address: &str,
        stream: S,
    ) -> Result<tokio_rustls::client::TlsStream<S>, HttpError>
    where
        S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
    {
        let name = match super::ip_literal(host) {
            Some(ip) => ServerName::from(ip),
            None => ServerName::try_from(host.to_string())
                .map_err(|_| HttpError::HttpRequestUriInvalid)?,
        };
        tokio_rustls::TlsConnector::from(self.config.clone())
            .connect(name, stream)
            .await
            .map_err(|e| {
                HttpError::Tls(std::io::Error::other(TlsFailure {
                    host: host.to_string(),
                    address: address.to_string(),
                    reason: e,
                }))
            })
    }
}

impl Default for TlsClient {
    /// The webpki roots only.
    fn default() -> Self {
        TlsClient::new(Vec::new()).expect("the webpki roots and ring's safe defaults always build")
    }
}

impl std::fmt::Debug for TlsClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "TlsClient {{ webpki roots + {} extra }}",
            self.extra_roots.len()
        )
    }
}

/// Reads the certificates of a PEM file (curl's `--cacert FILE`), to trust as extra roots. A file that cannot be
/// read, holds a malformed PEM section or holds no certificate at all is refused with a message naming it.
pub fn read_pem_certificates(path: &Path) -> anyhow::Result<Vec<CertificateDer<'static>>> {
    let text = std::fs::read(path)
        .map_err(|e| anyhow::anyhow!("cannot read the certificate file {}: {e}", path.display()))?;
    let certificates = CertificateDer::pem_slice_iter(&text)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| {
            anyhow::anyhow!(
                "the certificate file {} is not valid PEM: {e}",
                path.display()
            )
        })?;
    if certificates.is_empty() {
        anyhow::bail!(
            "the certificate file {} holds no certificate (no `-----BEGIN CERTIFICATE-----` section)",
            path.display()
        );
    }
    Ok(certificates)
}

/// A failed TLS handshake, said so that the operator can act on it.
#[derive(Debug)]
struct TlsFailure {
    host: String,
    address: String,
    /// What rustls (or the connection under it) reported.
    reason: std::io::Error,
}

impl TlsFailure {
    fn rustls_error(&self) -> Option<&rustls::Error> {
        self.reason.get_ref()?.downcast_ref()
    }
}

impl std::fmt::Display for TlsFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        use rustls::CertificateError as C;
        let TlsFailure {
            host,
            address,
            reason,
        } = self;
        match self.rustls_error() {
            Some(rustls::Error::InvalidCertificate(C::UnknownIssuer)) => write!(
                f,
                "the certificate presented for {host} at {address} is signed by an authority the host does not \
                 trust ({reason}); if that authority is the operator's own, add its root certificate to the \
                 outbound configuration's extra roots"
            ),
            Some(rustls::Error::InvalidCertificate(
                C::NotValidForName | C::NotValidForNameContext { .. },
            )) => write!(
                f,
                "the certificate presented at {address} is not valid for {host} ({reason})"
            ),
            Some(rustls::Error::InvalidCertificate(_)) => write!(
                f,
                "the certificate presented for {host} at {address} was refused: {reason}"
            ),
            Some(rustls::Error::InvalidMessage(_)) => write!(
                f,
                "{address} did not answer TLS for {host} ({reason}); is it a plain HTTP server on a TLS port?"
            ),
            _ => write!(f, "TLS with {host} at {address} failed: {reason}"),
        }
    }
}

impl std::error::Error for TlsFailure {}

/// The wasi:http error code of a TLS error the host's handshake reported: `tls-certificate-error` for a refused
/// certificate, `tls-alert-received` for an alert from the server, `tls-protocol-error` otherwise.
pub(super) fn error_code(error: &std::io::Error) -> ErrorCode {
    let failure = error
        .get_ref()
        .and_then(|inner| inner.downcast_ref::<TlsFailure>());
    match failure.and_then(TlsFailure::rustls_error) {
        Some(rustls::Error::InvalidCertificate(_)) => ErrorCode::TlsCertificateError,
        Some(rustls::Error::AlertReceived(alert)) => {
            ErrorCode::TlsAlertReceived(TlsAlertReceivedPayload {
                alert_id: Some(u8::from(*alert)),
                alert_message: Some(format!("{alert:?}")),
            })
        }
        _ => ErrorCode::TlsProtocolError,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_without_certificates_is_refused_by_name() {
        let dir = std::env::temp_dir().join(format!("tls-roots-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let empty = dir.join("empty.pem");
        std::fs::write(&empty, "not a certificate\n").unwrap();
        let why = read_pem_certificates(&empty).unwrap_err().to_string();
        assert!(why.contains("empty.pem holds no certificate"), "{why}");
        let missing = dir.join("missing.pem");
        let why = read_pem_certificates(&missing).unwrap_err().to_string();
        assert!(why.contains("cannot read the certificate file"), "{why}");
        assert!(why.contains("missing.pem"), "{why}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_certificate_that_is_no_root_is_refused() {
        let why = TlsClient::new(vec![CertificateDer::from(vec![1, 2, 3])])
            .unwrap_err()
            .to_string();
        assert!(
            why.contains("certificate 1 cannot serve as a root"),
            "{why}"
        );
    }

    #[test]
    fn handshake_errors_map_to_their_codes() {
        let failure = |reason: rustls::Error| {
            std::io::Error::other(TlsFailure {
                host: "slack.com".into(),
                address: "127.0.0.1:443".into(),
                reason: std::io::Error::new(std::io::ErrorKind::InvalidData, reason),
            })
        };
        let unknown = failure(rustls::Error::InvalidCertificate(
            rustls::CertificateError::UnknownIssuer,
        ));
        assert!(matches!(
            error_code(&unknown),
            ErrorCode::TlsCertificateError
        ));
        assert!(unknown.to_string().contains("extra roots"), "{unknown}");
        let alert = failure(rustls::Error::AlertReceived(
            rustls::AlertDescription::HandshakeFailure,
        ));
        assert!(matches!(
            error_code(&alert),
            ErrorCode::TlsAlertReceived(TlsAlertReceivedPayload {
                alert_id: Some(40),
                ..
            })
        ));
        let plain = failure(rustls::Error::InvalidMessage(
            rustls::InvalidMessage::InvalidContentType,
        ));
        assert!(matches!(error_code(&plain), ErrorCode::TlsProtocolError));
        assert!(plain.to_string().contains("plain HTTP server"), "{plain}");
    }
}
