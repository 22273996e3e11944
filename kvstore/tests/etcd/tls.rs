//! `etcds://`: TLS with the ring provider, a client certificate, and the errors without.

use std::path::PathBuf;

use lab::etcd::EtcdTls;
use observe_kvstore::{Config, Error, Section, Store, TlsFiles, parse_endpoints};
use rcgen::{
    BasicConstraints, CertificateParams, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};

use crate::harness::{Harness, puts};

/// A CA, a server certificate for 127.0.0.1 and a client certificate, as PEM.
struct Pki {
    ca: String,
    server: (String, String),
    client: (String, String),
}

fn pki() -> Pki {
    let key = KeyPair::generate().expect("ca key");
    let mut params = CertificateParams::new(Vec::<String>::new()).expect("ca params");
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    let ca = params.self_signed(&key).expect("ca cert").pem();
    let issuer = Issuer::new(params, key);
    let leaf = |names: &[&str], usage| {
        let key = KeyPair::generate().expect("key");
        let names: Vec<String> = names.iter().map(ToString::to_string).collect();
        let mut params = CertificateParams::new(names).expect("params");
        params.extended_key_usages = vec![usage];
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        let cert = params.signed_by(&key, &issuer).expect("cert");
        (cert.pem(), key.serialize_pem())
    };
    Pki {
        ca,
        server: leaf(
            &["127.0.0.1", "localhost"],
            ExtendedKeyUsagePurpose::ServerAuth,
        ),
        client: leaf(&["node1"], ExtendedKeyUsagePurpose::ClientAuth),
    }
}

#[test]
fn etcds_with_a_client_certificate() {
    let pki = pki();
    let tls = EtcdTls {
        ca: pki.ca.clone(),
        cert: pki.server.0.clone(),
        key: pki.server.1.clone(),
        client_cert_auth: true,
    };
    let Some(h) = Harness::start_tls("kv-tls", &tls) else {
        return;
    };
    let dir = h.etcd().dir().join("client");
    std::fs::create_dir(&dir).expect("client dir");
    let write = |name: &str, pem: &str| -> PathBuf {
        let path = dir.join(name);
        std::fs::write(&path, pem).expect("write");
        path
    };
    let files = TlsFiles {
        ca: Some(write("ca.pem", &pki.ca)),
        cert: Some(write("client.pem", &pki.client.0)),
        key: Some(write("client-key.pem", &pki.client.1)),
        domain: None,
    };
    h.run(|| async {
        let endpoints = parse_endpoints("etcds://127.0.0.1:2379").expect("url");
        assert_eq!(endpoints, [h.etcd().client_url()]);
        let mut cfg = Config::new(endpoints);
        cfg.tls = Some(files.clone());
        let store = Store::connect(&cfg).await.expect("connect over TLS");
        store
            .commit(Section::Nodes, puts(&[("n1", "x")]), vec![])
            .await
            .expect("commit");
        assert_eq!(
            store.list(Section::Nodes).await.expect("list").items.len(),
            1
        );

        // Without a client certificate etcd refuses us, at connect time.
        cfg.tls = Some(TlsFiles {
            cert: None,
            key: None,
            ..files.clone()
        });
        let err = Store::connect(&cfg)
            .await
            .expect_err("no client certificate");
        assert!(matches!(err, Error::Unreachable { .. }), "{err}");

        // Plaintext against a TLS server fails the same way, naming the endpoint.
        let plain = Config::new(parse_endpoints("etcd://127.0.0.1:2379").expect("url"));
        let err = Store::connect(&plain).await.expect_err("plaintext");
        assert!(err.to_string().contains("http://127.0.0.1:2379"), "{err}");
    });
}
