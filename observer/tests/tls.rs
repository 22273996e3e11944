//! The TCP listener as the agent builds it (observer service, health, reflection, rustls)
//! with certificates generated at test time, and the client side as `observe` uses it
//! (`observe_proto::client::connect_with`): TLS verified against a CA, mutual TLS that
//! refuses clients without a certificate from the client CA, and the standard services.

use std::net::SocketAddr;
use std::time::Duration;

use lab::pki::Pki;
use observe_proto::client::{TlsOptions, connect_with};
use observe_proto::observer::ServerStatusRequest;
use observe_proto::observer::observer_client::ObserverClient;
use observer::listen::{StandardServices, TlsFiles, add_standard_services};
use observer::pipeline::{Pipeline, PipelineConfig};
use observer::server::ObserverService;
use tokio_stream::StreamExt;
use tonic::transport::Server;
use tonic::transport::server::TcpIncoming;
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;

const OBSERVER: &str = "observer.Observer";

/// A TLS server on 127.0.0.1; stopped when the returned sender is dropped.
async fn serve(files: &TlsFiles) -> (SocketAddr, tokio::sync::oneshot::Sender<()>) {
    let decoder = observer::decode::Decoder::new(observer::decode::BootClock::unix_epoch());
    let (pipeline, _sender) = Pipeline::new(PipelineConfig::new("node-tls"), decoder);
    let service = ObserverService::new(pipeline.state()).with_version("tls-test");
    let standard = StandardServices::new();
    standard.set_serving(&[OBSERVER]).await;
    let router = Server::builder()
        .tls_config(files.load().expect("files load"))
        .expect("valid certificate")
        .add_service(service.into_server());
    let router = add_standard_services(router, &standard, &[OBSERVER]).unwrap();
    let incoming = TcpIncoming::bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let addr = incoming.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(async move {
        router
            .serve_with_incoming_shutdown(incoming, async {
                let _ = stopped.await;
            })
            .await
            .expect("server runs");
    });
    (addr, stop)
}

fn server_files(pki: &Pki, client_cas: Vec<std::path::PathBuf>) -> TlsFiles {
    TlsFiles {
        cert: pki.server_cert.clone(),
        key: pki.server_key.clone(),
        client_cas,
    }
}

/// Connects and asks for the status: the version on success, the error chain otherwise.
async fn status(server: &str, tls: &TlsOptions) -> Result<String, String> {
    let chain = |e: &dyn std::error::Error| {
        let mut s = e.to_string();
        let mut cause = e.source();
        while let Some(c) = cause {
            s.push_str(": ");
            s.push_str(&c.to_string());
            cause = c.source();
        }
        s
    };
    let channel = connect_with(server, Duration::from_secs(5), tls)
        .await
        .map_err(|e| chain(&e))?;
    let mut client = ObserverClient::new(channel);
    client
        .server_status(ServerStatusRequest {})
        .await
        .map(|r| r.into_inner().version)
        .map_err(|e| chain(&e))
}

fn trusting(pki: &Pki) -> TlsOptions {
    TlsOptions {
        ca_cert_files: vec![pki.ca.clone()],
        ..TlsOptions::default()
    }
}

#[tokio::test]
async fn tls_clients_verify_the_server_against_their_ca() {
    let pki = Pki::generate("tls");
    let (addr, _stop) = serve(&server_files(&pki, vec![])).await;
    let tls_addr = format!("tls://{addr}");
    assert_eq!(
        status(&tls_addr, &trusting(&pki)).await.unwrap(),
        "tls-test"
    );

    // `--tls` on a plain host:port, verifying the DNS name instead of the address.
    let by_name = TlsOptions {
        enabled: true,
        server_name: Some("localhost".into()),
        ..trusting(&pki)
    };
    let plain_addr = format!("localhost:{}", addr.port());
    assert_eq!(status(&plain_addr, &by_name).await.unwrap(), "tls-test");

    let wrong_name = TlsOptions {
        server_name: Some("elsewhere.example".into()),
        ..trusting(&pki)
    };
    let err = status(&tls_addr, &wrong_name).await.unwrap_err();
    assert!(err.contains("certificate"), "{err}");

    let wrong_ca = TlsOptions {
        ca_cert_files: vec![pki.rogue_ca.clone()],
        ..TlsOptions::default()
    };
    let err = status(&tls_addr, &wrong_ca).await.unwrap_err();
    assert!(err.contains("certificate"), "{err}");

    let insecure = TlsOptions {
        allow_insecure: true,
        ..TlsOptions::default()
    };
    assert_eq!(status(&tls_addr, &insecure).await.unwrap(), "tls-test");

    let plaintext = format!("http://{addr}");
    assert!(
        status(&plaintext, &TlsOptions::default()).await.is_err(),
        "a plaintext client gets nothing from a TLS listener"
    );
}

#[tokio::test]
async fn mutual_tls_refuses_clients_without_a_certificate_from_the_client_ca() {
    let pki = Pki::generate("mtls");
    let (addr, _stop) = serve(&server_files(&pki, vec![pki.ca.clone()])).await;
    let server = format!("tls://{addr}");
    let with_cert = TlsOptions {
        client_cert_file: Some(pki.client_cert.clone()),
        client_key_file: Some(pki.client_key.clone()),
        ..trusting(&pki)
    };
    assert_eq!(status(&server, &with_cert).await.unwrap(), "tls-test");

    let without_cert = trusting(&pki);
    let err = status(&server, &without_cert).await.unwrap_err();
    // The server's alert, or (when the request raced the alert) the pipe or connection
    // it closed: either way the handshake failed and no RPC reached the service.
    assert!(
        err.contains("CertificateRequired") || err.contains("transport"),
        "refused in the handshake for want of a client certificate: {err}"
    );

    let rogue_cert = TlsOptions {
        client_cert_file: Some(pki.rogue_cert.clone()),
        client_key_file: Some(pki.rogue_key.clone()),
        ..trusting(&pki)
    };
    assert!(
        status(&server, &rogue_cert).await.is_err(),
        "refused with a certificate from another CA"
    );
}

#[tokio::test]
async fn health_and_reflection_are_served_next_to_the_observer() {
    let pki = Pki::generate("std");
    let (addr, _stop) = serve(&server_files(&pki, vec![])).await;
    let channel = connect_with(
        &format!("tls://{addr}"),
        Duration::from_secs(5),
        &trusting(&pki),
    )
    .await
    .unwrap();

    let mut health = HealthClient::new(channel.clone());
    for service in ["", OBSERVER, "hubble.server.Observer"] {
        let reply = health
            .check(HealthCheckRequest {
                service: service.into(),
            })
            .await
            .unwrap()
            .into_inner();
        assert_eq!(reply.status(), ServingStatus::Serving, "{service:?}");
    }
    let unknown = health
        .check(HealthCheckRequest {
            service: "no.such.Service".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(unknown.code(), tonic::Code::NotFound);

    use tonic_reflection::pb::v1::ServerReflectionRequest;
    use tonic_reflection::pb::v1::server_reflection_client::ServerReflectionClient;
    use tonic_reflection::pb::v1::server_reflection_request::MessageRequest;
    use tonic_reflection::pb::v1::server_reflection_response::MessageResponse;
    let mut reflection = ServerReflectionClient::new(channel.clone());
    let ask = |request: MessageRequest| {
        tokio_stream::iter([ServerReflectionRequest {
            host: String::new(),
            message_request: Some(request),
        }])
    };
    let mut replies = reflection
        .server_reflection_info(ask(MessageRequest::ListServices(String::new())))
        .await
        .unwrap()
        .into_inner();
    let Some(MessageResponse::ListServicesResponse(list)) =
        replies.next().await.unwrap().unwrap().message_response
    else {
        panic!("a service list");
    };
    let names: Vec<_> = list.service.iter().map(|s| s.name.as_str()).collect();
    for expected in [
        OBSERVER,
        "grpc.health.v1.Health",
        "grpc.reflection.v1.ServerReflection",
    ] {
        assert!(names.contains(&expected), "{names:?}");
    }
    assert!(
        !names.contains(&"observe.control.v1.Control"),
        "only what this listener serves: {names:?}"
    );
    let mut replies = reflection
        .server_reflection_info(ask(MessageRequest::FileContainingSymbol(
            "observer.Observer".into(),
        )))
        .await
        .unwrap()
        .into_inner();
    let Some(MessageResponse::FileDescriptorResponse(files)) =
        replies.next().await.unwrap().unwrap().message_response
    else {
        panic!("descriptors");
    };
    assert!(!files.file_descriptor_proto.is_empty());

    // v1alpha, for older clients such as grpcurl before 1.9.
    use tonic_reflection::pb::v1alpha::ServerReflectionRequest as AlphaMessage;
    use tonic_reflection::pb::v1alpha::server_reflection_client::ServerReflectionClient as AlphaClient;
    use tonic_reflection::pb::v1alpha::server_reflection_request::MessageRequest as AlphaRequest;
    let mut alpha = AlphaClient::new(channel);
    let mut replies = alpha
        .server_reflection_info(tokio_stream::iter([AlphaMessage {
            host: String::new(),
            message_request: Some(AlphaRequest::ListServices(String::new())),
        }]))
        .await
        .unwrap()
        .into_inner();
    assert!(replies.next().await.unwrap().is_ok());
}

#[test]
fn unusable_server_files_are_reported_with_the_flag_that_named_them() {
    let pki = Pki::generate("bad");
    let mut files = server_files(&pki, vec![]);
    files.key = pki.server_cert.clone();
    let err = files.load().unwrap_err();
    assert!(err.to_string().contains("--tls-key-file"), "{err}");
    files.key = pki.dir().join("missing.pem");
    let err = files.load().unwrap_err();
    assert!(
        err.to_string().contains("cannot read --tls-key-file"),
        "{err}"
    );
}
