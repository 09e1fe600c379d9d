//! A private certificate authority per test run, and a server certificate
//! from it for a registry on loopback.
//!
//! rustls refuses a self-signed certificate used as a server certificate
//! (`CaUsedAsEndEntity`, the default of `openssl req -x509`), so this is
//! what a real private registry has: a CA, and a leaf with
//! `basicConstraints=critical,CA:FALSE`, `extendedKeyUsage=serverAuth` and
//! `subjectAltName=IP:127.0.0.1,DNS:localhost`.

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};

/// Where a TLS registry's files are: what `docker-registry` serves with and
/// what a client must trust. Made by [`TestCa::server_files`].
#[derive(Debug, Clone)]
pub struct ServerTls {
    /// PEM certificate chain the registry presents (the leaf).
    pub certificate: PathBuf,
    /// PEM private key of the leaf.
    pub key: PathBuf,
    /// PEM certificate of the CA that signed the leaf: what clients trust.
    pub ca: PathBuf,
}

/// A certificate authority made for one test, its files in a temporary
/// directory removed on drop.
///
/// ```no_run
/// use images_testkit::{Registry, RegistryOptions, TestCa};
/// let ca = TestCa::new("images-testkit CA")?;
/// let registry = Registry::start_with(RegistryOptions {
///     tls: Some(ca.server_files()?),
///     ..Default::default()
/// })?;
/// // images.toml: [registries."127.0.0.1:PORT"] ca = "<ca.ca_path()>"
/// # anyhow::Ok(())
/// ```
pub struct TestCa {
    dir: tempfile::TempDir,
    key: KeyPair,
    params: CertificateParams,
    pem: String,
}

impl std::fmt::Debug for TestCa {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestCa")
            .field("dir", &self.dir.path())
            .finish_non_exhaustive()
    }
}

impl TestCa {
    /// A new CA (ECDSA P-256) named `common_name`; its certificate is
    /// written to [`ca_path`](Self::ca_path).
    pub fn new(common_name: &str) -> anyhow::Result<TestCa> {
        let dir = tempfile::Builder::new()
            .prefix("images-testkit-ca-")
            .tempdir()
            .context("creating the CA's temporary directory")?;
        let key = KeyPair::generate().context("generating the CA key")?;
        let mut params = CertificateParams::default();
        params.distinguished_name = rcgen::DistinguishedName::new();
        params
            .distinguished_name
            .push(DnType::CommonName, common_name);
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        let cert = params
            .self_signed(&key)
            .context("signing the CA certificate")?;
        let pem = cert.pem();
        let ca = TestCa {
            dir,
            key,
            params,
            pem,
        };
        write(&ca.ca_path(), ca.pem.as_bytes())?;
        Ok(ca)
    }

    /// The CA certificate (PEM): give it to a client as a trust root.
    pub fn ca_path(&self) -> PathBuf {
        self.dir.path().join("ca.pem")
    }

    /// The CA certificate, PEM text.
    pub fn ca_pem(&self) -> &str {
        &self.pem
    }

    /// A fresh leaf for `127.0.0.1` and `localhost`, signed by this CA,
    /// written beside the CA certificate.
    pub fn server_files(&self) -> anyhow::Result<ServerTls> {
        let key = KeyPair::generate().context("generating the server key")?;
        let mut params = CertificateParams::new(vec!["127.0.0.1".into(), "localhost".into()])
            .context("server certificate names")?;
        params.distinguished_name = rcgen::DistinguishedName::new();
        params
            .distinguished_name
            .push(DnType::CommonName, "localhost");
        params.is_ca = IsCa::ExplicitNoCa;
        params.key_usages = vec![
            KeyUsagePurpose::DigitalSignature,
            KeyUsagePurpose::KeyEncipherment,
        ];
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        let issuer = Issuer::from_params(&self.params, &self.key);
        let cert = params
            .signed_by(&key, &issuer)
            .context("signing the server certificate")?;
        let n = fs::read_dir(self.dir.path()).map_or(0, Iterator::count);
        let certificate = self.dir.path().join(format!("server-{n}.pem"));
        let key_path = self.dir.path().join(format!("server-{n}.key"));
        write(&certificate, cert.pem().as_bytes())?;
        write(&key_path, key.serialize_pem().as_bytes())?;
        Ok(ServerTls {
            certificate,
            key: key_path,
            ca: self.ca_path(),
        })
    }
}

fn write(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    fs::write(path, bytes).with_context(|| format!("writing {}", path.display()))
}

impl ServerTls {
    /// A rustls server configuration presenting this certificate, for the
    /// harness's own TLS servers (the HTTPS redirector, a TLS token server).
    pub(crate) fn rustls_config(&self) -> anyhow::Result<std::sync::Arc<rustls::ServerConfig>> {
        use rustls::pki_types::pem::PemObject as _;
        use rustls::pki_types::{CertificateDer, PrivateKeyDer};
        let certificates = CertificateDer::pem_file_iter(&self.certificate)
            .context("reading the server certificate")?
            .collect::<Result<Vec<_>, _>>()
            .context("parsing the server certificate")?;
        let key = PrivateKeyDer::from_pem_file(&self.key).context("reading the server key")?;
        Ok(std::sync::Arc::new(
            rustls::ServerConfig::builder()
                .with_no_client_auth()
                .with_single_cert(certificates, key)
                .context("making the TLS server config")?,
        ))
    }
}
