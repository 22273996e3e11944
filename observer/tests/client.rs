//! End to end through the public API, as the agent wires it: a decoder with getters, the
//! pipeline fed with datapath events, the service (and gRPC health) on a unix socket; and
//! clients that know nothing but the generated proto code.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use observe_proto::flow::{DropReason, FlowFilter, PolicyVerdictKind, TrafficDirection, Verdict};
use observe_proto::observer::observer_client::ObserverClient;
use observe_proto::observer::{
    GetFlowsRequest, ServerStatusRequest, get_flows_response::ResponseTypes,
};
use observer::decode::{BootClock, Decoder};
use observer::event::{MonitorEvent, Payload};
use observer::getters::{FakePolicyGetter, PolicyInfo, RuleInfo};
use observer::pipeline::{Pipeline, PipelineConfig};
use observer::server::{ObserverService, serve_unix};
use probe_common::event::{FlowEvent, kind, obs_point};
use probe_common::{direction, drop_reason};
use tokio_stream::StreamExt;
use tonic::transport::{Channel, Endpoint, Uri};
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;

fn policy(kind: &str, namespace: &str, name: &str) -> PolicyInfo {
    PolicyInfo {
        kind: kind.into(),
        namespace: namespace.into(),
        name: name.into(),
        revision: 1,
    }
}

fn policies() -> FakePolicyGetter {
    FakePolicyGetter {
        on_rules_by_cookie: Some(Box::new(|cookie| match cookie {
            1 => vec![RuleInfo {
                policy: policy("CiliumNetworkPolicy", "shop", "allow-frontend"),
                path: "spec.ingress[0]".into(),
            }],
            2 => vec![RuleInfo {
                policy: policy("CiliumClusterwideNetworkPolicy", "", "deny-world"),
                path: "spec.egressDeny[0]".into(),
            }],
            _ => vec![],
        })),
        on_auditing_policies: Some(Box::new(|_| Vec::new())),
        on_selecting_policies: Some(Box::new(|_| {
            vec![policy("NetworkPolicy", "shop", "db-ingress")]
        })),
    }
}

fn event(kind: u8, subtype: u8, dir: u8, cookie: u32, dport: u16) -> MonitorEvent {
    MonitorEvent {
        timestamp: SystemTime::now(),
        node_name: "node-1".into(),
        payload: Payload::Flow(FlowEvent {
            timestamp_ns: 1_000_000_000 + u64::from(dport),
            kind,
            subtype,
            reason: if kind == kind::DROP { subtype } else { 0 },
            direction: dir,
            family: 4,
            protocol: 6,
            tcp_flags: 0x02,
            endpoint_id: 3,
            sport: 40_000,
            dport,
            cookie,
            saddr: [10, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
            daddr: [10, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
            ..FlowEvent::default()
        }),
    }
}

async fn connect(path: std::path::PathBuf) -> ObserverClient<Channel> {
    ObserverClient::new(channel(path).await)
}

async fn channel(path: std::path::PathBuf) -> Channel {
    for _ in 0..200 {
        if path.exists() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    Endpoint::try_from("http://localhost")
        .unwrap()
        .connect_with_connector(tower::service_fn(move |_: Uri| {
            let path = path.clone();
            async move {
                let stream = tokio::net::UnixStream::connect(path).await?;
                Ok::<_, std::io::Error>(hyper_util::rt::TokioIo::new(stream))
            }
        }))
        .await
        .unwrap()
}

#[tokio::test]
async fn a_proto_only_client_reads_attributed_flows() {
    let decoder = Decoder::new(BootClock::unix_epoch()).with_policies(Arc::new(policies()));
    let (pipeline, sender) = Pipeline::new(PipelineConfig::new("node-1"), decoder);
    let state = pipeline.state();
    let running = tokio::spawn(pipeline.run());
    sender
        .send(event(
            kind::TRACE,
            obs_point::TO_ENDPOINT,
            direction::INGRESS,
            1,
            80,
        ))
        .unwrap();
    sender
        .send(event(
            kind::DROP,
            drop_reason::POLICY_DENIED,
            direction::INGRESS,
            0,
            5432,
        ))
        .unwrap();
    sender
        .send(event(
            kind::DROP,
            drop_reason::POLICY_DENY,
            direction::EGRESS,
            2,
            443,
        ))
        .unwrap();
    while state.ring.write_position() < 3 {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }

    let dir = tempfile::Builder::new()
        .prefix("observer-client-")
        .tempdir()
        .unwrap();
    let socket = dir.path().join("observer.sock");
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let service = ObserverService::new(state);
    let server_socket = socket.clone();
    let server = tokio::spawn(async move {
        serve_unix(service, &server_socket, async {
            let _ = stopped.await;
        })
        .await
    });
    let mut client = connect(socket).await;

    // Default denies name the policies selecting the endpoint.
    let default_deny = GetFlowsRequest {
        number: 10,
        whitelist: vec![FlowFilter {
            deny_kind: vec![PolicyVerdictKind::DefaultDeny as i32],
            ..Default::default()
        }],
        ..Default::default()
    };
    let flows: Vec<_> = client
        .get_flows(default_deny)
        .await
        .unwrap()
        .into_inner()
        .collect()
        .await;
    assert_eq!(flows.len(), 1);
    let Some(ResponseTypes::Flow(flow)) = flows[0].as_ref().unwrap().response_types.clone() else {
        panic!("a flow");
    };
    assert_eq!(flow.drop_reason_desc(), DropReason::PolicyDenied);
    assert_eq!(flow.traffic_direction(), TrafficDirection::Ingress);
    let attribution = flow.attribution.unwrap();
    assert_eq!(attribution.selecting_policies[0].name, "db-ingress");

    // denied_by finds the explicit deny of a cluster-wide policy by its bare name.
    let denied = GetFlowsRequest {
        whitelist: vec![FlowFilter {
            denied_by: vec!["deny-world".into()],
            ..Default::default()
        }],
        ..Default::default()
    };
    let flows: Vec<_> = client
        .get_flows(denied)
        .await
        .unwrap()
        .into_inner()
        .collect()
        .await;
    let Some(ResponseTypes::Flow(flow)) = flows[0].as_ref().unwrap().response_types.clone() else {
        panic!("a flow");
    };
    assert_eq!(
        flow.egress_denied_by[0].kind,
        "CiliumClusterwideNetworkPolicy"
    );
    let json = serde_json::to_value(&flow).unwrap();
    assert_eq!(json["attribution"]["kind"], "EXPLICIT_DENY");
    assert_eq!(
        json["attribution"]["rules"][0]["path"],
        "spec.egressDeny[0]"
    );

    // Allowed flows name the allowing policy; kinds filter by short names.
    let allowed = GetFlowsRequest {
        whitelist: vec![FlowFilter {
            policy_kind: vec!["cnp".into()],
            verdict: vec![Verdict::Forwarded as i32],
            ..Default::default()
        }],
        ..Default::default()
    };
    let flows: Vec<_> = client
        .get_flows(allowed)
        .await
        .unwrap()
        .into_inner()
        .collect()
        .await;
    assert_eq!(flows.len(), 1);

    let status = client
        .server_status(ServerStatusRequest {})
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        (status.num_flows, status.max_flows, status.seen_flows),
        (3, 4095, 3)
    );

    drop(sender);
    running.await.unwrap();
    let _ = stop.send(());
    server.await.unwrap().unwrap();
}

#[tokio::test]
async fn hubble_status_finds_the_observer_under_the_health_name_hubble_asks_for() {
    let decoder = Decoder::new(BootClock::unix_epoch());
    let (pipeline, _sender) = Pipeline::new(PipelineConfig::new("node-1"), decoder);
    let dir = std::env::temp_dir().join(format!("observer-health-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let socket = dir.join("observer.sock");
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let service = ObserverService::new(pipeline.state());
    let server_socket = socket.clone();
    let server = tokio::spawn(async move {
        serve_unix(service, &server_socket, async {
            let _ = stopped.await;
        })
        .await
    });
    let mut health = HealthClient::new(channel(socket).await);

    // `hubble status` asks for Hubble's name of the observer, not the gRPC service name.
    for service in ["hubble.server.Observer", "observer.Observer", ""] {
        let reply = health
            .check(HealthCheckRequest {
                service: service.into(),
            })
            .await
            .unwrap_or_else(|e| panic!("{service:?}: {e}"))
            .into_inner();
        assert_eq!(reply.status(), ServingStatus::Serving, "{service:?}");
    }

    let _ = stop.send(());
    server.await.unwrap().unwrap();
    let _ = std::fs::remove_dir_all(dir);
}
