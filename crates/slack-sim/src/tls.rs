//! Serving the Web API over TLS: the server's certificate chain and key, and the acceptor built from them (rustls
//! with ring, TLS 1.2 and 1.3, HTTP/1.1 by ALPN), so that a test can serve the simulation as `https://slack.com`
//! with a certificate of its own CA and reach it through an address pin.

use std::sync::Arc;

use anyhow::Context;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio_rustls::TlsAcceptor;

/// The certificate chain (the server's first, then any intermediates) and private key the simulation serves
/// TLS with.
#[derive(Debug)]
pub struct TlsIdentity {
    /// The chain, leaf first.
    cert_chain: Vec<CertificateDer<'static>>,
    /// The leaf's private key.
    key: PrivateKeyDer<'static>,
}

impl TlsIdentity {
    /// An identity of rustls types.
    pub fn new(cert_chain: Vec<CertificateDer<'static>>, key: PrivateKeyDer<'static>) -> Self {
        TlsIdentity { cert_chain, key }
    }

    /// An identity of PEM texts: `CERTIFICATE` blocks (leaf first) and a private key (PKCS#8, PKCS#1 or SEC1).
    pub fn from_pem(cert_chain_pem: &str, key_pem: &str) -> anyhow::Result<Self> {
        let cert_chain = CertificateDer::pem_slice_iter(cert_chain_pem.as_bytes())
            .collect::<Result<Vec<_>, _>>()
            .context("reading the certificate chain's PEM")?;
        if cert_chain.is_empty() {
            anyhow::bail!("the certificate chain's PEM has no CERTIFICATE block");
        }
        let key = PrivateKeyDer::from_pem_slice(key_pem.as_bytes())
            .context("reading the private key's PEM")?;
        Ok(TlsIdentity { cert_chain, key })
    }

    /// The acceptor serving this identity (fails on a key that does not match the certificate, or one ring
    /// cannot use).
    pub(crate) fn acceptor(self) -> anyhow::Result<TlsAcceptor> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()?
            .with_no_client_auth()
            .with_single_cert(self.cert_chain, self.key)
            .context("the TLS certificate and key")?;
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(TlsAcceptor::from(Arc::new(config)))
    }
}
