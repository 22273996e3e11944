//! A test PKI generated at run time (rcgen), for every TLS and mTLS test of the project
//! (agent listeners, etcd, the relay): a CA, a server certificate for `localhost` and
//! 127.0.0.1, a client certificate from the same CA, and a client certificate from another
//! CA the server does not trust. Written as PEM files in a directory removed on drop.

use std::path::{Path, PathBuf};

use rcgen::{
    BasicConstraints, CertificateParams, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};

/// The PEM files of one test PKI.
pub struct Pki {
    dir: tempfile::TempDir,
    /// CA that signs the server and the trusted client.
    pub ca: PathBuf,
    /// Server certificate (SANs `localhost`, `127.0.0.1`) and key.
    pub server_cert: PathBuf,
    pub server_key: PathBuf,
    /// Client certificate signed by `ca`, and key.
    pub client_cert: PathBuf,
    pub client_key: PathBuf,
    /// A CA nobody trusts, and a client certificate it signed.
    pub rogue_ca: PathBuf,
    pub rogue_cert: PathBuf,
    pub rogue_key: PathBuf,
}

impl Pki {
    /// Generates everything under a fresh directory named after `tag`.
    pub fn generate(tag: &str) -> Self {
        let dir = tempfile::Builder::new()
            .prefix(&format!("observe-pki-{tag}-"))
            .tempdir()
            .expect("pki dir");
        let (ca_pem, ca) = make_ca("observe test CA");
        let (rogue_ca_pem, rogue) = make_ca("rogue CA");
        let server = leaf(
            &["localhost", "127.0.0.1"],
            ExtendedKeyUsagePurpose::ServerAuth,
            &ca,
        );
        let client = leaf(&["client"], ExtendedKeyUsagePurpose::ClientAuth, &ca);
        let rogue_client = leaf(&["client"], ExtendedKeyUsagePurpose::ClientAuth, &rogue);
        let write = |name: &str, pem: &str| {
            let path = dir.path().join(name);
            std::fs::write(&path, pem).expect("write pem");
            path
        };
        Self {
            ca: write("ca.pem", &ca_pem),
            server_cert: write("server.pem", &server.0),
            server_key: write("server-key.pem", &server.1),
            client_cert: write("client.pem", &client.0),
            client_key: write("client-key.pem", &client.1),
            rogue_ca: write("rogue-ca.pem", &rogue_ca_pem),
            rogue_cert: write("rogue.pem", &rogue_client.0),
            rogue_key: write("rogue-key.pem", &rogue_client.1),
            dir,
        }
    }

    /// The text of one of the files.
    pub fn pem(path: &Path) -> String {
        std::fs::read_to_string(path).expect("read pem")
    }

    /// The directory of the files.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }
}

fn make_ca(name: &str) -> (String, Issuer<'static, KeyPair>) {
    let key = KeyPair::generate().expect("ca key");
    let mut params = CertificateParams::new(Vec::<String>::new()).expect("ca params");
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, name);
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    let cert = params.self_signed(&key).expect("ca cert");
    (cert.pem(), Issuer::new(params, key))
}

fn leaf(
    names: &[&str],
    usage: ExtendedKeyUsagePurpose,
    issuer: &Issuer<'static, KeyPair>,
) -> (String, String) {
    let key = KeyPair::generate().expect("leaf key");
    let names: Vec<String> = names.iter().map(ToString::to_string).collect();
    let mut params = CertificateParams::new(names).expect("leaf params");
    params.extended_key_usages = vec![usage];
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    let cert = params.signed_by(&key, issuer).expect("leaf cert");
    (cert.pem(), key.serialize_pem())
}
