//! The `observe.control.v1.Control` gRPC service: apply, delete, get and trace against the
//! agent. Agent operations run synchronous work (netlink, `ip`, bpf syscalls), so each call
//! runs on the blocking pool, one at a time under the agent's lock.

use std::sync::{Arc, Mutex};

use enforcer::engine::ObjectKey;
use enforcer::engine::trace::{Target, TraceRequest as EngineTrace};
use enforcer::manifest::{self, Input, Object};
use observe_proto::control::control_server::{Control, ControlServer};
use observe_proto::control::{
    ApplyRequest, ApplyResponse, DeleteRequest, DeleteResponse, Endpoint, FqdnEntry,
    GetEndpointsRequest, GetEndpointsResponse, GetFqdnCacheRequest, GetFqdnCacheResponse,
    GetIdentitiesRequest, GetIdentitiesResponse, GetNamespacesRequest, GetNamespacesResponse,
    GetNodesRequest, GetNodesResponse, GetPoliciesRequest, GetPoliciesResponse, Identity, Manifest,
    Namespace, Node, Policy, PromoteRequest, StageRequest, StageResponse, TraceRequest,
    TraceResponse, UnstageRequest, UnstageResponse, WhatIfRequest, WhatIfResponse,
};
use tonic::{Request, Response, Status};

use super::cluster::submit::Submitter;
use super::{Agent, Refused, whatif};

/// The service.
#[derive(Clone)]
pub struct ControlService {
    agent: Arc<Mutex<Agent>>,
    /// What each rule decided (`get policies --hits`).
    hits: Option<Arc<crate::rule_hits::RuleHits>>,
    /// The flow history `WhatIf` replays: the ring, and what is on disk before it.
    ring: Option<Arc<crate::pipeline::FlowRing>>,
    disk: Option<Arc<crate::history::History>>,
    /// Where changes go on a node in a cluster (the store, not the agent).
    cluster: Option<Submitter>,
}

impl ControlService {
    /// A service over `agent`.
    pub fn new(agent: Arc<Mutex<Agent>>) -> Self {
        Self {
            agent,
            hits: None,
            ring: None,
            disk: None,
            cluster: None,
        }
    }

    /// Replays `ring`, and `disk` before it, for `WhatIf`.
    #[must_use]
    pub fn with_flow_history(
        mut self,
        ring: Arc<crate::pipeline::FlowRing>,
        disk: Option<Arc<crate::history::History>>,
    ) -> Self {
        self.ring = Some(ring);
        self.disk = disk;
        self
    }

    /// Answers `GetPolicies { hits }` from `hits`.
    #[must_use]
    pub fn with_rule_hits(mut self, hits: Arc<crate::rule_hits::RuleHits>) -> Self {
        self.hits = Some(hits);
        self
    }

    /// Applies and deletes through the cluster's store.
    #[must_use]
    pub fn with_cluster(mut self, submitter: Submitter) -> Self {
        self.cluster = Some(submitter);
        self
    }

    /// The tonic service.
    pub fn into_server(self) -> ControlServer<Self> {
        ControlServer::new(self)
    }

    /// Runs `f` with the agent locked, on the blocking pool.
    async fn with_agent<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Agent) -> Result<T, Status> + Send + 'static,
    ) -> Result<T, Status> {
        let agent = self.agent.clone();
        tokio::task::spawn_blocking(move || {
            let mut guard = agent
                .lock()
                .map_err(|_| Status::internal("the agent's state is poisoned"))?;
            f(&mut guard)
        })
        .await
        .map_err(|e| Status::internal(format!("agent task failed: {e}")))?
    }
}

fn inputs(manifests: Vec<Manifest>) -> Vec<Input> {
    manifests
        .into_iter()
        .map(|m| Input {
            name: m.name,
            text: m.text,
        })
        .collect()
}

fn refused(r: Refused) -> Status {
    match r {
        Refused::Invalid(msg) => Status::invalid_argument(msg),
        Refused::Failed(e) => Status::failed_precondition(format!("{e:#}")),
    }
}

/// Parses manifests into objects; every error in one INVALID_ARGUMENT.
fn parse(manifests: Vec<Manifest>) -> Result<manifest::Manifests, Status> {
    manifest::parse(&inputs(manifests)).map_err(|e| {
        let lines: Vec<String> = e.0.iter().map(ToString::to_string).collect();
        Status::invalid_argument(format!(
            "{}\n{} error(s); nothing was applied",
            lines.join("\n"),
            lines.len()
        ))
    })
}

impl ControlService {
    /// Applies `objects` atomically: through the cluster's store when the agent is part of
    /// one, else to the agent itself.
    async fn apply_objects(
        &self,
        objects: Vec<Object>,
        force: bool,
    ) -> Result<Vec<String>, Status> {
        match &self.cluster {
            Some(c) => c
                .apply(self.agent.clone(), objects, force)
                .await
                .map_err(refused),
            None => {
                self.with_agent(move |a| a.apply(objects, force).map_err(refused))
                    .await
            }
        }
    }
}

#[tonic::async_trait]
impl Control for ControlService {
    async fn apply(
        &self,
        request: Request<ApplyRequest>,
    ) -> Result<Response<ApplyResponse>, Status> {
        let request = request.into_inner();
        let parsed = parse(request.manifests)?;
        let warnings: Vec<String> = parsed.warnings.iter().map(ToString::to_string).collect();
        let mut objects = parsed.into_objects();
        if request.audit {
            for object in &mut objects {
                if let Object::Policy(p) = object {
                    p.audit = true;
                }
            }
        }
        let results = self.apply_objects(objects, request.force).await?;
        Ok(Response::new(ApplyResponse {
            endpoints_updated: 0,
            results,
            warnings,
        }))
    }

    async fn stage(
        &self,
        request: Request<StageRequest>,
    ) -> Result<Response<StageResponse>, Status> {
        let parsed = parse(request.into_inner().manifests)?;
        let warnings = parsed.warnings.iter().map(ToString::to_string).collect();
        let objects = parsed.into_objects();
        let results = self
            .with_agent(move |a| a.stage(objects).map_err(refused))
            .await?;
        Ok(Response::new(StageResponse { results, warnings }))
    }

    async fn unstage(
        &self,
        _: Request<UnstageRequest>,
    ) -> Result<Response<UnstageResponse>, Status> {
        let dropped = self.with_agent(|a| Ok(a.unstage())).await?;
        Ok(Response::new(UnstageResponse { dropped }))
    }

    async fn promote(&self, _: Request<PromoteRequest>) -> Result<Response<ApplyResponse>, Status> {
        let objects = self
            .with_agent(|a| {
                a.take_staged()
                    .ok_or_else(|| Status::failed_precondition("no policies are staged"))
            })
            .await?;
        match self.apply_objects(objects.clone(), false).await {
            Ok(results) => Ok(Response::new(ApplyResponse {
                endpoints_updated: 0,
                results,
                warnings: Vec::new(),
            })),
            Err(status) => {
                // Nothing was applied: the set stays staged.
                self.with_agent(move |a| {
                    a.restage(objects);
                    Ok(())
                })
                .await?;
                Err(status)
            }
        }
    }

    async fn delete(
        &self,
        request: Request<DeleteRequest>,
    ) -> Result<Response<DeleteResponse>, Status> {
        let req = request.into_inner();
        let keys: Option<Vec<ObjectKey>> = if req.all_policies {
            None
        } else {
            Some(
                parse(req.manifests)?
                    .objects
                    .iter()
                    .map(|l| ObjectKey::of(&l.object))
                    .collect(),
            )
        };
        let results = match &self.cluster {
            Some(c) => c
                .delete(self.agent.clone(), keys, req.force)
                .await
                .map_err(refused)?,
            None => {
                self.with_agent(move |a| {
                    let keys = keys.unwrap_or_else(|| a.policy_keys());
                    a.delete(&keys, req.force).map_err(refused)
                })
                .await?
            }
        };
        Ok(Response::new(DeleteResponse { results }))
    }

    async fn get_endpoints(
        &self,
        _: Request<GetEndpointsRequest>,
    ) -> Result<Response<GetEndpointsResponse>, Status> {
        let endpoints = self.with_agent(|a| Ok(endpoints(a))).await?;
        Ok(Response::new(GetEndpointsResponse { endpoints }))
    }

    async fn get_identities(
        &self,
        _: Request<GetIdentitiesRequest>,
    ) -> Result<Response<GetIdentitiesResponse>, Status> {
        let identities = self.with_agent(|a| Ok(identities(a))).await?;
        Ok(Response::new(GetIdentitiesResponse { identities }))
    }

    async fn get_policies(
        &self,
        request: Request<GetPoliciesRequest>,
    ) -> Result<Response<GetPoliciesResponse>, Status> {
        let hits = request
            .into_inner()
            .hits
            .then(|| self.hits.as_ref().map(|h| h.snapshot()).unwrap_or_default());
        let (policies, revision) = self
            .with_agent(move |a| Ok((policies(a, hits.as_ref()), a.engine().revision())))
            .await?;
        Ok(Response::new(GetPoliciesResponse { policies, revision }))
    }

    async fn get_nodes(
        &self,
        _: Request<GetNodesRequest>,
    ) -> Result<Response<GetNodesResponse>, Status> {
        let (nodes, kvstore) = self.with_agent(|a| Ok((nodes(a), kvstore(a)))).await?;
        Ok(Response::new(GetNodesResponse { nodes, kvstore }))
    }

    async fn get_namespaces(
        &self,
        _: Request<GetNamespacesRequest>,
    ) -> Result<Response<GetNamespacesResponse>, Status> {
        let namespaces = self.with_agent(|a| Ok(namespaces(a))).await?;
        Ok(Response::new(GetNamespacesResponse { namespaces }))
    }

    async fn trace(
        &self,
        request: Request<TraceRequest>,
    ) -> Result<Response<TraceResponse>, Status> {
        let req = request.into_inner();
        let target = |s: &str, flag: &str| {
            Target::parse(s).map_err(|e| Status::invalid_argument(format!("invalid {flag}: {e}")))
        };
        let protocol = u8::try_from(req.protocol)
            .map_err(|_| Status::invalid_argument("protocol must be 0-255"))?;
        let dport = u16::try_from(req.dport)
            .map_err(|_| Status::invalid_argument("dport must be 0-65535"))?;
        let trace = EngineTrace {
            from: target(&req.from, "from")?,
            to: target(&req.to, "to")?,
            protocol,
            dport,
            reply: req.reply,
        };
        let dns_name = req.dns_name;
        let http = if req.http_method.is_empty() {
            None
        } else {
            let path = if req.http_path.is_empty() {
                "/"
            } else {
                &req.http_path
            };
            Some(
                enforcer::policy::http::Request::from_parts(
                    &req.http_method,
                    path,
                    &req.http_headers,
                )
                .map_err(|e| Status::invalid_argument(format!("http: {e}")))?,
            )
        };
        let json = self
            .with_agent(move |a| {
                let engine = a.engine();
                let mut t = match (&http, dns_name.is_empty()) {
                    (Some(http), _) => engine.trace_http(&trace, http),
                    (None, true) => engine.trace(&trace),
                    (None, false) => engine.trace_dns(&trace, &dns_name),
                }
                .map_err(|e| Status::not_found(e.to_string()))?;
                a.note_control_traffic(&mut t);
                serde_json::to_string(&t).map_err(|e| Status::internal(e.to_string()))
            })
            .await?;
        Ok(Response::new(TraceResponse { json }))
    }

    async fn what_if(
        &self,
        request: Request<WhatIfRequest>,
    ) -> Result<Response<WhatIfResponse>, Status> {
        let req = request.into_inner();
        let parsed = parse(req.manifests)?;
        let objects = parsed.into_objects();
        let since = req.since.map(|t| t.unix_nanos());
        let ring = self
            .ring
            .clone()
            .ok_or_else(|| Status::unavailable("this agent keeps no flow history"))?;
        let disk = self.disk.clone();
        let response = self
            .with_agent(move |a| {
                let mut candidate = a.engine().clone();
                candidate
                    .apply(objects)
                    .map_err(|e| Status::invalid_argument(e.to_string()))?;
                let (recorded, flows, oldest) = whatif::recorded(&ring, disk.as_deref(), since);
                Ok(WhatIfResponse {
                    changes: whatif::changes(a.engine(), &candidate, &recorded),
                    flows,
                    connections: recorded.len() as u64,
                    oldest,
                })
            })
            .await?;
        Ok(Response::new(response))
    }

    async fn get_fqdn_cache(
        &self,
        _: Request<GetFqdnCacheRequest>,
    ) -> Result<Response<GetFqdnCacheResponse>, Status> {
        let entries = self.with_agent(|a| Ok(fqdn_entries(a))).await?;
        Ok(Response::new(GetFqdnCacheResponse { entries }))
    }
}

/// Every address of every name in every local endpoint's DNS cache.
fn fqdn_entries(a: &Agent) -> Vec<FqdnEntry> {
    let unix_ms = |t: std::time::SystemTime| {
        t.duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
    };
    let mut out = Vec::new();
    for (pod, cache) in &a.fqdn().caches {
        let id = a.endpoints().get(pod).map_or(0, |e| u32::from(e.record.id));
        for (name, ip, held) in cache.entries() {
            out.push(FqdnEntry {
                namespace: pod.namespace.clone(),
                pod: pod.name.clone(),
                endpoint_id: id,
                name: name.to_string(),
                ip: ip.to_string(),
                last_seen_unix_ms: unix_ms(held.last_seen),
                expires_unix_ms: unix_ms(held.expires),
                zombie: held.zombie,
                source: "lookup".into(),
            });
        }
    }
    out
}

fn endpoints(a: &Agent) -> Vec<Endpoint> {
    let engine = a.engine();
    a.endpoints()
        .iter()
        .filter_map(|(key, ep)| {
            let e = engine.endpoint(key)?;
            let names = |d: &enforcer::mapstate::DirectionPolicy| {
                d.selecting.iter().map(|p| p.to_string()).collect()
            };
            Some(Endpoint {
                id: u32::from(ep.record.id),
                namespace: key.namespace.clone(),
                pod: key.name.clone(),
                identity: e.identity,
                labels: engine
                    .identity(e.identity)
                    .map(|i| i.labels.to_strings())
                    .unwrap_or_default(),
                ips: e.pod.ips.iter().map(ToString::to_string).collect(),
                netns: ep.record.netns.clone(),
                ingress_enforced: e.policy.ingress.enforced,
                egress_enforced: e.policy.egress.enforced,
                status: "ready".into(),
                node: e.node.clone(),
                interface: ep.record.host_ifname.clone(),
                ifindex: ep.ifindex,
                ingress_policies: names(&e.policy.ingress),
                egress_policies: names(&e.policy.egress),
                owner: e.pod.owner.as_ref().map(|o| o.short()).unwrap_or_default(),
            })
        })
        .collect()
}

fn identities(a: &Agent) -> Vec<Identity> {
    let engine = a.engine();
    engine
        .identities()
        .map(|i| Identity {
            id: i.id,
            labels: i.labels.to_strings(),
            endpoints: engine
                .endpoints_with_identity(i.id)
                .map(|e| e.pod.key.to_string())
                .collect(),
        })
        .collect()
}

fn policies(a: &Agent, hits: Option<&RuleHitMap>) -> Vec<Policy> {
    let engine = a.engine();
    engine
        .policies()
        .map(|p| {
            let selects = |e: &&enforcer::engine::Endpoint| {
                [&e.policy.ingress, &e.policy.egress]
                    .iter()
                    .any(|d| d.selecting.iter().any(|s| s == &p.origin))
            };
            Policy {
                kind: p.origin.kind.as_str().into(),
                namespace: p.origin.namespace.clone(),
                name: p.origin.name.clone(),
                rules: u32::try_from(p.rules.len()).unwrap_or(u32::MAX),
                endpoints: engine
                    .endpoints()
                    .filter(selects)
                    .map(|e| e.pod.key.to_string())
                    .collect(),
                rule_hits: hits.map(|h| rule_hits(p, h)).unwrap_or_default(),
            }
        })
        .collect()
}

type RuleHitMap = std::collections::BTreeMap<crate::rule_hits::RuleKey, crate::rule_hits::Hits>;

/// Every rule section of `p` with its hits (zero for an unused one), then its default
/// denies.
fn rule_hits(
    p: &enforcer::policy::model::Policy,
    hits: &RuleHitMap,
) -> Vec<observe_proto::control::RuleHits> {
    use crate::rule_hits::{DEFAULT_DENY, Hits, RuleKey};
    let key = |path: &str| RuleKey {
        kind: p.origin.kind.as_str().to_string(),
        namespace: p.origin.namespace.clone(),
        name: p.origin.name.clone(),
        path: path.to_string(),
    };
    let entry = |path: &str, h: Hits| observe_proto::control::RuleHits {
        path: path.to_string(),
        allowed: h.allowed,
        denied: h.denied,
        first: h.first,
        last: h.last,
    };
    // Every section (`spec.ingress[0]`, `specs[1].egressDeny[0]`): what attribution names.
    let sections = p.rules.iter().flat_map(|r| {
        [&r.ingress, &r.ingress_deny, &r.egress, &r.egress_deny]
            .into_iter()
            .flatten()
            .map(|section| section.rule.path.to_string())
    });
    let mut out: Vec<_> = sections
        .map(|path| entry(&path, hits.get(&key(&path)).copied().unwrap_or_default()))
        .collect();
    if let Some(h) = hits.get(&key(DEFAULT_DENY)) {
        out.push(entry(DEFAULT_DENY, *h));
    }
    out
}

fn labels(map: &std::collections::BTreeMap<String, String>) -> Vec<String> {
    map.iter().map(|(k, v)| format!("{k}={v}")).collect()
}

fn nodes(a: &Agent) -> Vec<Node> {
    let engine = a.engine();
    engine
        .node_names()
        .into_iter()
        .map(|name| {
            let applied = engine.nodes().find(|n| n.node.name == name);
            let record = a.cluster().and_then(|c| c.view.nodes.get(&name));
            Node {
                health: health(a, &name),
                pod_cidr: record.map(|r| r.pod_cidr.clone()).unwrap_or_default(),
                grpc_address: record
                    .and_then(|r| r.grpc_address.clone())
                    .unwrap_or_default(),
                labels: applied.map(|n| labels(&n.node.labels)).unwrap_or_default(),
                ips: applied
                    .map(|n| n.node.ips.iter().map(ToString::to_string).collect())
                    .unwrap_or_default(),
                identity: engine.node_identity(&name, a.node()),
                local: name == a.node(),
                pods: count(engine.endpoints().filter(|e| e.node == name)),
                name,
            }
        })
        .collect()
}

/// A node's health in the cluster (empty for an agent alone).
fn health(a: &Agent, name: &str) -> String {
    let Some(c) = a.cluster() else {
        return String::new();
    };
    let health = if name == a.node() && !c.status.state().connected {
        "kvstore unreachable"
    } else if c.view.nodes.contains_key(name) {
        "ready"
    } else {
        "not registered"
    };
    health.to_string()
}

fn kvstore(a: &Agent) -> Option<observe_proto::control::Kvstore> {
    let c = a.cluster()?;
    let state = c.status.state();
    Some(observe_proto::control::Kvstore {
        url: c.status.url.clone(),
        connected: state.connected,
        last_error: state.last_error.unwrap_or_default(),
        revision: *c.status.applied_revision().borrow(),
    })
}

fn namespaces(a: &Agent) -> Vec<Namespace> {
    let engine = a.engine();
    engine
        .namespace_names()
        .into_iter()
        .map(|name| Namespace {
            labels: labels(&engine.namespace(&name).labels),
            pods: count(engine.endpoints().filter(|e| e.pod.key.namespace == name)),
            name,
        })
        .collect()
}

fn count<T>(items: impl Iterator<Item = T>) -> u32 {
    u32::try_from(items.count()).unwrap_or(u32::MAX)
}
