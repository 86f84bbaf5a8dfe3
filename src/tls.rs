//! The TLS client settings vigil's connections share (the vendors' mailbox, the trust's database): the
//! system's CA roots and, for a server whose CA is the college's or the trust's own, a `ca_file`, with the
//! ring provider the rest of vigil's TLS uses. Certificates and host names are always checked.

use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Why the TLS settings could not be made (a CA file that cannot be read, or holds no certificate).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsSetupError {
    pub path: PathBuf,
    pub reason: String,
}

/// The client settings: the system's roots and `ca_file`'s certificates.
pub fn client_config(ca_file: Option<&Path>) -> Result<rustls::ClientConfig, TlsSetupError> {
    use rustls::pki_types::CertificateDer;
    use rustls::pki_types::pem::PemObject;
    let mut roots = rustls::RootCertStore::empty();
    roots.add_parsable_certificates(rustls_native_certs::load_native_certs().certs);
    if let Some(path) = ca_file {
        let bad = |reason: String| TlsSetupError { path: path.to_path_buf(), reason };
        let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(path)
            .map_err(|e| bad(e.to_string()))?
            .collect::<Result<_, _>>()
            .map_err(|e| bad(e.to_string()))?;
        if certs.is_empty() {
            return Err(bad("it holds no PEM certificate".into()));
        }
        for cert in certs {
            roots.add(cert).map_err(|e| bad(e.to_string()))?;
        }
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    Ok(rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| TlsSetupError { path: PathBuf::from("(TLS setup)"), reason: e.to_string() })?
        .with_root_certificates(roots)
        .with_no_client_auth())
}
