//! `etcds://`: TLS with the ring provider, a client certificate, and the errors without.

use lab::etcd::EtcdTls;
use lab::pki::Pki;
use observe_kvstore::{Config, Error, Section, Store, TlsFiles, parse_endpoints};

use crate::harness::{Harness, puts};

#[test]
fn etcds_with_a_client_certificate() {
    let pki = Pki::generate("etcd");
    let tls = EtcdTls {
        ca: Pki::pem(&pki.ca),
        cert: Pki::pem(&pki.server_cert),
        key: Pki::pem(&pki.server_key),
        client_cert_auth: true,
    };
    let Some(h) = Harness::start_tls("kv-tls", &tls) else {
        return;
    };
    let files = TlsFiles {
        ca: Some(pki.ca.clone()),
        cert: Some(pki.client_cert.clone()),
        key: Some(pki.client_key.clone()),
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
