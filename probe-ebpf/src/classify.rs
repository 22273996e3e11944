//! The pipeline both programs run, from packet to verdict. Decisions, in order:
//!
//! 1. ARP and ICMPv6 neighbour discovery pass without policy or events: link housekeeping,
//!    which every flow depends on.
//! 2. The endpoint is looked up by the skb's ifindex in `OBS_ENDPOINTS`. None → drop 203:
//!    the programs are on an interface whose endpoint is not (or no longer) registered, and
//!    the datapath fails closed.
//! 3. A packet that does not parse is dropped with its reason (139, 134, 135, 156, 157).
//! 4. Conntrack: RELATED and REPLY packets pass without policy (replies are never
//!    re-decided: cutting a connection is the opening direction's job, so a reply in flight
//!    when policy changes still arrives, and the next packet the other way is cut).
//!    ESTABLISHED packets pass, but are decided again first when the endpoint's policy
//!    revision or the peer's identity changed since the entry was admitted: allowed →
//!    the entry is re-admitted, denied → the entry is deleted and the packet dropped; this
//!    is how removing an allow stops the flows it covered.
//! 5. NEW packets are decided by policy; an allowed one gets a conntrack entry (also when
//!    the direction is not enforced, so its replies pass an enforced opposite direction).
//! 6. Steering ([`redirect`]): the endpoint's packets on a connection whose entry carries a
//!    DNS or HTTP rule go to that agent proxy (a failed lookup or assign is drop 178 or
//!    179); packets to the endpoint on a connection whose ingress entry carries an HTTP
//!    rule are hairpinned to the veth's ingress and assigned to the HTTP proxy there. A
//!    packet from a proxy's upstream socket (it carries [`UPSTREAM_MARK`]) is decided as
//!    any other but never steered to a proxy again (the proxy judged both ends' L7 rules),
//!    and the endpoint's replies on such a connection go back to that socket (the DNS
//!    proxy's upstream sockets carry the same mark).
//!
//! Events: a policy verdict for every decision on a NEW packet (and for a denied
//! re-decision), a drop event for every drop, and trace events per `trace_mode`, each
//! switchable in `OBS_CONFIG`.

use aya_ebpf::helpers::bpf_ktime_get_coarse_ns;
use aya_ebpf::programs::TcContext;
use probe_common::config::ProbeConfig;
use probe_common::conntrack::ct_flags;
use probe_common::conntrack::state;
use probe_common::endpoint::EndpointInfo;
use probe_common::event::{event_flags, kind, obs_point, trace_mode, verdict};
use probe_common::identity::HOST as HOST_IDENTITY;
use probe_common::ipcache::{WORLD_IDENTITY, entry_flags as ipcache_flags};
use probe_common::proxy::{HAIRPIN_MARK, MARK_MASK, UPSTREAM_MARK};
use probe_common::{counters, direction, drop_reason, tc_action};

use crate::conntrack::{self, Admission, Ct, Owner};
use crate::maps::{OBS_CONFIG, OBS_ENDPOINTS, OBS_NODE_SIDE, OBS_SCRATCH};
use crate::notify::{self, Counted, Hook, Note};
use crate::parse::{self, Flow, Parsed};
use crate::policy::{self, Decision};
use crate::redirect;

/// Classifies the packet in `ctx` seen in `dir` (relative to the endpoint) on an
/// endpoint's veth.
#[inline(always)]
pub fn run(ctx: &TcContext, dir: u8) -> i32 {
    classify::<POD>(ctx, dir)
}

/// As [`run`], for a new connection between a pod and its own node, tail-called by
/// [`run`] once the pod's policy allowed it: the node's host endpoint decides it too
/// ([`node_side`]). A program of its own so that the verifier sees the two decisions in
/// different programs, each within its instruction budget.
#[inline(always)]
pub fn run_node_side(ctx: &TcContext, dir: u8) -> i32 {
    classify::<NODE_SIDE>(ctx, dir)
}

/// [`classify`]'s modes: a pod's veth, ...
const POD: u8 = 0;
/// ... a node device (host firewall), ...
const DEVICE: u8 = 1;
/// ... a pod's veth for a new connection with its own node (tail-called).
const NODE_SIDE: u8 = 2;

/// Classifies the packet in `ctx` seen in `dir` (relative to the node) on one of the
/// node's network devices, for its host endpoint: only the node's own packets are
/// decided (the local address has the host identity); what it forwards for its pods, and
/// what the agent's proxies send for them (their upstream mark), passes without a
/// decision or an event, as do frames that are not IP. No steering: host policies carry
/// no L7 rules.
#[inline(always)]
pub fn run_host(ctx: &TcContext, dir: u8) -> i32 {
    classify::<DEVICE>(ctx, dir)
}

#[inline(always)]
fn classify<const MODE: u8>(ctx: &TcContext, dir: u8) -> i32 {
    // The flow lives in the per-CPU scratch map, not on the stack: see `OBS_SCRATCH` for
    // the verifier-cost reason. An array lookup of index 0 cannot fail; the check is for
    // the verifier, and failing closed is the safe answer to the impossible.
    let Some(slot) = OBS_SCRATCH.get_ptr_mut(0) else {
        return tc_action::DROP;
    };
    // SAFETY: this CPU's slot; nothing else runs on this CPU while the program does.
    let flow = unsafe { &mut *slot };
    flow.reset();
    let parsed = parse::packet(ctx, flow);
    let flow: &Flow = flow;
    if let Ok(Parsed::Housekeeping) = parsed {
        notify::count(counters::forwarded(dir));
        return tc_action::PASS;
    }
    // Config and endpoint are used in place in map memory rather than copied to the stack,
    // for the same verifier-cost reason as the flow.
    let Some(config) = OBS_CONFIG.get(0) else {
        return tc_action::DROP;
    };
    let mut hook = hook(ctx, dir);
    hook.host = MODE == DEVICE;
    // SAFETY: OBS_ENDPOINTS is not preallocated, so a value userspace replaces stays valid
    // (RCU) until this program returns; fields are each read once.
    let Some(ep) = (unsafe { OBS_ENDPOINTS.get(hook.ifindex) }) else {
        with_peer(&mut hook, flow);
        return drop(config, &hook, flow, &dropped(drop_reason::EP_NOT_READY, 0));
    };
    hook.endpoint_id = ep.endpoint_id;
    hook.local_identity = ep.identity;
    hook.enforced = if policy::is_enforced(ep, dir) {
        event_flags::ENFORCED
    } else {
        0
    };
    if MODE == DEVICE && !own_packet(ctx, flow, dir) {
        notify::count(counters::forwarded(dir));
        return tc_action::PASS;
    }
    if let Err(reason) = parsed {
        with_peer(&mut hook, flow);
        return drop(config, &hook, flow, &dropped(reason, 0));
    }
    if MODE == DEVICE {
        return track::<MODE>(ctx, config, &mut hook, ep, flow);
    }
    let mark = mark(ctx) & MARK_MASK;
    if dir == direction::EGRESS && mark == HAIRPIN_MARK {
        return hairpinned(ctx, config, &mut hook, flow);
    }
    hook.from_proxy = dir == direction::INGRESS && mark == UPSTREAM_MARK;
    track::<MODE>(ctx, config, &mut hook, ep, flow)
}

/// Whether a packet on a node device is the node's own: IP, not sent by an agent proxy
/// for a pod, and from (egress) or to (ingress) an address with the host identity.
#[inline(always)]
fn own_packet(ctx: &TcContext, flow: &Flow, dir: u8) -> bool {
    if flow.family == 0 || mark(ctx) & MARK_MASK == UPSTREAM_MARK {
        return false;
    }
    policy::local(flow, dir).identity == HOST_IDENTITY
}

/// The packet's mark.
#[inline(always)]
fn mark(ctx: &TcContext) -> u32 {
    // SAFETY: reading a field of the program's own context.
    unsafe { (*ctx.skb.skb).mark }
}

/// A packet to the endpoint that its ingress hook hairpinned for the HTTP proxy: policy
/// and conntrack were done there; here it is only assigned to the proxy's socket. A
/// failure is reported as the endpoint's ingress drop it is.
#[inline(always)]
fn hairpinned(ctx: &TcContext, config: &ProbeConfig, hook: &mut Hook, flow: &Flow) -> i32 {
    redirect::for_this_host(ctx.skb.skb.cast());
    match redirect::to_proxy(ctx.skb.skb.cast(), flow, config.http_proxy_port) {
        Ok(()) => {
            notify::count(counters::forwarded(direction::INGRESS));
            tc_action::PASS
        }
        Err(reason) => {
            hook.direction = direction::INGRESS;
            with_peer(hook, flow);
            drop(config, hook, flow, &dropped(reason, state::ESTABLISHED))
        }
    }
}

/// The hook's view of the packet before the endpoint is known: interface, direction and
/// length. The peer's identity is looked up ([`with_peer`]) only on the paths that decide
/// or report with it, not for replies nobody traces.
#[inline(always)]
fn hook(ctx: &TcContext, dir: u8) -> Hook {
    // SAFETY: reading a field of the program's own context.
    let ifindex = unsafe { (*ctx.skb.skb).ifindex };
    Hook {
        ifindex,
        direction: dir,
        endpoint_id: 0,
        local_identity: 0,
        peer_identity: 0,
        peer_flags: 0,
        pkt_len: ctx.len(),
        enforced: 0,
        from_proxy: false,
        host: false,
    }
}

/// Fills in the peer's identity (an ipcache lookup) once the L3 header was read.
#[inline(always)]
fn with_peer(hook: &mut Hook, flow: &Flow) {
    if flow.family != 0 {
        let peer = policy::peer(flow, hook.direction);
        hook.peer_identity = peer.identity;
        hook.peer_flags = peer.flags;
    }
}

/// Conntrack, then policy for what conntrack does not already admit.
#[inline(always)]
fn track<const MODE: u8>(
    ctx: &TcContext,
    config: &ProbeConfig,
    hook: &mut Hook,
    ep: &EndpointInfo,
    flow: &Flow,
) -> i32 {
    // Conntrack time: the coarse monotonic clock (CLOCK_MONOTONIC_COARSE, one tick of
    // resolution) is plenty for lifetimes of seconds, and costs a few nanoseconds where
    // bpf_ktime_get_ns costs tens on this kind of VM. Events keep the precise clock.
    // SAFETY: a helper without preconditions.
    let now = unsafe { bpf_ktime_get_coarse_ns() };
    let owner = Owner {
        endpoint_id: ep.endpoint_id,
        direction: hook.direction,
    };
    // RELATED and REPLY packets pass without a decision: their peer identity is only
    // needed for a trace event, which only `trace_mode::ALL` emits for them.
    if flow.icmp_error && conntrack::is_related(ctx, flow, &owner, now) {
        if config.trace_mode == trace_mode::ALL {
            with_peer(hook, flow);
        }
        return forward(config, hook, flow, state::RELATED, 0, 0);
    }
    let ct = conntrack::lookup(flow, &owner, now);
    if config.trace_mode == trace_mode::ALL || !matches!(ct, Ct::Reply(_)) {
        with_peer(hook, flow);
    }
    match ct {
        Ct::Reply(entry) => {
            let gained = conntrack::touch(entry, flow, true, now, hook.pkt_len);
            let cookie = conntrack::cookie(entry);
            let point = observation_point(hook);
            report(config, hook, flow, entry, point, true, gained, now);
            if conntrack::from_proxy(entry) {
                // A reply to a proxy's upstream socket goes to that socket; any other
                // reply goes on its way.
                redirect::to_upstream_socket(ctx.skb.skb.cast(), flow);
            }
            forward(
                config,
                hook,
                flow,
                state::REPLY,
                event_flags::IS_REPLY,
                cookie,
            )
        }
        // Tail-called for a new connection: an entry since is another CPU's, just made.
        _ if MODE == NODE_SIDE && !matches!(ct, Ct::New) => {
            forward(config, hook, flow, state::ESTABLISHED, 0, 0)
        }
        Ct::Established(entry) => established(ctx, config, hook, ep, flow, entry, now),
        Ct::New => new_connection::<MODE>(ctx, config, hook, ep, flow, &owner, now),
    }
}

/// The identity a new connection is decided with: the peer's, except that a new
/// connection to an expired DNS-learned address (a zombie, kept only for the connections
/// already open to it) is a connection to the world.
#[inline(always)]
fn new_peer(hook: &Hook) -> u32 {
    if hook.direction == direction::EGRESS && hook.peer_flags & ipcache_flags::ZOMBIE != 0 {
        WORLD_IDENTITY
    } else {
        hook.peer_identity
    }
}

/// Hands a packet of a connection whose policy carries an L7 rule to its proxy
/// (`redirect`: the conntrack flag naming it). The endpoint's own packets (egress) are
/// assigned to the proxy here; packets to it (ingress, HTTP only: a DNS rule has no
/// meaning there) are hairpinned to the veth's ingress first.
#[inline(always)]
fn to_proxy(
    ctx: &TcContext,
    config: &ProbeConfig,
    hook: &Hook,
    flow: &Flow,
    ct_state: u8,
    cookie: u32,
    redirect: u8,
) -> i32 {
    if hook.direction == direction::INGRESS {
        return match redirect::hairpin(ctx.skb.skb.cast(), hook.ifindex) {
            Ok(()) => {
                forward_at(config, hook, flow, ct_state, 0, cookie, obs_point::TO_PROXY);
                tc_action::REDIRECT
            }
            Err(reason) => drop(config, hook, flow, &dropped(reason, ct_state)),
        };
    }
    let port = if redirect & ct_flags::REDIRECT_HTTP != 0 {
        config.http_proxy_port
    } else {
        config.dns_proxy_port
    };
    match redirect::to_proxy(ctx.skb.skb.cast(), flow, port) {
        Ok(()) => forward_at(config, hook, flow, ct_state, 0, cookie, obs_point::TO_PROXY),
        Err(reason) => drop(config, hook, flow, &dropped(reason, ct_state)),
    }
}

#[inline(always)]
fn established(
    ctx: &TcContext,
    config: &ProbeConfig,
    hook: &Hook,
    ep: &EndpointInfo,
    flow: &Flow,
    entry: *mut probe_common::conntrack::CtEntry,
    now: u64,
) -> i32 {
    if conntrack::is_stale(entry, ep.policy_revision, hook.peer_identity) {
        let decision = as_steered(
            hook,
            policy::decide(ep, hook.direction, hook.peer_identity, flow),
        );
        if !decision.allowed {
            conntrack::remove(
                flow,
                &Owner {
                    endpoint_id: ep.endpoint_id,
                    direction: hook.direction,
                },
            );
            return deny(config, hook, flow, &decision, state::ESTABLISHED);
        }
        conntrack::readmit(entry, &admission(ep, hook, &decision));
    }
    let gained = conntrack::touch(entry, flow, false, now, hook.pkt_len);
    let cookie = conntrack::cookie(entry);
    let redirect = conntrack::redirects(entry);
    let point = if redirect != 0 {
        obs_point::TO_PROXY
    } else {
        observation_point(hook)
    };
    report(config, hook, flow, entry, point, false, gained, now);
    if redirect != 0 {
        return to_proxy(
            ctx,
            config,
            hook,
            flow,
            state::ESTABLISHED,
            cookie,
            redirect,
        );
    }
    forward(config, hook, flow, state::ESTABLISHED, 0, cookie)
}

#[inline(always)]
fn new_connection<const MODE: u8>(
    ctx: &TcContext,
    config: &ProbeConfig,
    hook: &mut Hook,
    ep: &EndpointInfo,
    flow: &Flow,
    owner: &Owner,
    now: u64,
) -> i32 {
    let decision = as_steered(
        hook,
        policy::decide(ep, hook.direction, new_peer(hook), flow),
    );
    if !decision.allowed {
        return deny(config, hook, flow, &decision, state::NEW);
    }
    if MODE != DEVICE && hook.peer_identity == HOST_IDENTITY && !hook.from_proxy {
        if MODE == POD {
            // Returns only without the node-side programs (no host firewall).
            node_side_tail_call(ctx, hook.direction);
        } else if let Some(dropped) = node_side(config, hook, ep, flow) {
            return dropped;
        }
    }
    // Like Cilium, a verdict event only where policy decides: an unenforced direction
    // allows everything and would only add noise.
    // (An audited decision is policy deciding too.)
    let decided = hook.enforced != 0 || decision.flags & event_flags::AUDITED != 0;
    if config.policy_verdict_events != 0 && decided {
        notify::emit(hook, flow, &verdict_note(&decision, state::NEW));
    }
    if conntrack::create(flow, owner, now, &admission(ep, hook, &decision)).is_err() {
        return drop(
            config,
            hook,
            flow,
            &dropped(drop_reason::CT_MAP_INSERTION_FAILED, state::NEW),
        );
    }
    notify::count(counters::CT_CREATED);
    let redirect = redirect_of(hook, &decision);
    if redirect != 0 {
        return to_proxy(
            ctx,
            config,
            hook,
            flow,
            state::NEW,
            decision.cookie,
            redirect,
        );
    }
    forward(config, hook, flow, state::NEW, 0, decision.cookie)
}

/// Continues in the node-side program of `dir` ([`run_node_side`]); returns only when
/// the host firewall did not register it.
#[inline(always)]
fn node_side_tail_call(ctx: &TcContext, dir: u8) {
    let slot = if dir == direction::EGRESS {
        probe_common::maps::node_side::FROM_ENDPOINT
    } else {
        probe_common::maps::node_side::TO_ENDPOINT
    };
    // SAFETY: a tail call into one of our own programs, on the same context; nothing
    // was sent or written for this packet yet, and that program classifies it anew.
    unsafe { OBS_NODE_SIDE.tail_call(ctx, slot) };
}

/// A new connection between a pod and its own node (the peer is the host) is decided by
/// the node's host endpoint too ([`probe_common::endpoint::HOST_ENDPOINT_KEY`]): its
/// ingress for what the pod sends the node, its egress for what the node sends the pod.
/// `Some(drop)` when the host denies; its verdict and drop events carry the host
/// endpoint and its direction, written into `hook` in place (the pod's view is put back
/// for the rest of the path). The connection's entry is the pod's: a host policy change
/// applies to new connections between a node and its pods.
#[inline(always)]
fn node_side(config: &ProbeConfig, hook: &mut Hook, ep: &EndpointInfo, flow: &Flow) -> Option<i32> {
    // SAFETY: as for the endpoint in `classify`: not preallocated, RCU-protected.
    let host = unsafe { OBS_ENDPOINTS.get(probe_common::endpoint::HOST_ENDPOINT_KEY) }?;
    let dir = direction::opposite(hook.direction);
    let enforced = policy::is_enforced(host, dir);
    let decision = policy::decide(host, dir, ep.identity, flow);
    if decision.allowed && !enforced && decision.flags & event_flags::AUDITED == 0 {
        return None;
    }
    let pod = (
        hook.direction,
        hook.endpoint_id,
        hook.local_identity,
        hook.enforced,
    );
    hook.direction = dir;
    hook.endpoint_id = host.endpoint_id;
    hook.local_identity = host.identity;
    hook.peer_identity = ep.identity;
    hook.enforced = if enforced { event_flags::ENFORCED } else { 0 };
    if !decision.allowed {
        return Some(deny(config, hook, flow, &decision, state::NEW));
    }
    if config.policy_verdict_events != 0 {
        notify::emit(hook, flow, &verdict_note(&decision, state::NEW));
    }
    (
        hook.direction,
        hook.endpoint_id,
        hook.local_identity,
        hook.enforced,
    ) = pod;
    hook.peer_identity = HOST_IDENTITY;
    None
}

#[inline(always)]
fn admission(ep: &EndpointInfo, hook: &Hook, decision: &Decision) -> Admission {
    Admission {
        cookie: decision.cookie,
        policy_revision: ep.policy_revision,
        peer_identity: hook.peer_identity,
        redirect: redirect_of(hook, decision),
        from_proxy: hook.from_proxy,
        opening_len: hook.pkt_len,
    }
}

/// `decision` as the events tell it: a connection a proxy's upstream socket opened is not
/// steered again, so its verdict does not say REDIRECTED.
#[inline(always)]
fn as_steered(hook: &Hook, mut decision: Decision) -> Decision {
    if hook.from_proxy {
        decision.flags &= !(event_flags::REDIRECTED | event_flags::TO_HTTP_PROXY);
    }
    decision
}

/// The proxy an allowed connection goes to (a conntrack redirect flag, 0 for none): the
/// one its entry names, except that a DNS rule only steers what the endpoint sends.
/// (Nothing a proxy's upstream socket sends is steered again: [`as_steered`] took the
/// redirect out of its decision.)
#[inline(always)]
fn redirect_of(hook: &Hook, decision: &Decision) -> u8 {
    if hook.direction == direction::INGRESS {
        decision.redirect() & ct_flags::REDIRECT_HTTP
    } else {
        decision.redirect()
    }
}

/// A policy denial: the verdict event, then the drop (with the deciding entry's cookie and
/// match type, so the drop alone says which rule denied it).
#[inline(always)]
fn deny(config: &ProbeConfig, hook: &Hook, flow: &Flow, decision: &Decision, ct_state: u8) -> i32 {
    if config.policy_verdict_events != 0 {
        notify::emit(hook, flow, &verdict_note(decision, ct_state));
    }
    let note = Note {
        match_type: decision.match_type,
        cookie: decision.cookie,
        flags: decision.flags,
        ..dropped(decision.reason, ct_state)
    };
    drop(config, hook, flow, &note)
}

#[inline(always)]
fn verdict_note(decision: &Decision, ct_state: u8) -> Note {
    Note {
        kind: kind::POLICY_VERDICT,
        subtype: 0,
        ct_state,
        match_type: decision.match_type,
        verdict: if !decision.allowed {
            verdict::DENIED
        } else if decision.flags & event_flags::AUDITED != 0 {
            verdict::AUDIT
        } else {
            verdict::ALLOWED
        },
        reason: decision.reason,
        flags: decision.flags,
        cookie: decision.cookie,
    }
}

#[inline(always)]
fn dropped(reason: u8, ct_state: u8) -> Note {
    Note {
        kind: kind::DROP,
        subtype: reason,
        ct_state,
        verdict: verdict::DENIED,
        reason,
        ..Note::default()
    }
}

/// Counts and reports a drop; returns the drop verdict.
#[inline(always)]
fn drop(config: &ProbeConfig, hook: &Hook, flow: &Flow, note: &Note) -> i32 {
    notify::count(counters::dropped(hook.direction, note.reason));
    if config.drop_events != 0 {
        notify::emit(hook, flow, note);
    }
    tc_action::DROP
}

/// Counts and traces a forwarded packet at the hook's own observation point; returns the
/// pass verdict.
#[inline(always)]
fn forward(
    config: &ProbeConfig,
    hook: &Hook,
    flow: &Flow,
    ct_state: u8,
    flags: u8,
    cookie: u32,
) -> i32 {
    forward_at(
        config,
        hook,
        flow,
        ct_state,
        flags,
        cookie,
        observation_point(hook),
    )
}

/// The hook's own observation point.
#[inline(always)]
fn observation_point(hook: &Hook) -> u8 {
    obs_point::of(hook.host, hook.direction == direction::EGRESS)
}

/// Aggregation mode: a trace event with the connection's counters at `point` when one is
/// due ([`conntrack::report_due`]). The opening direction's hook has looked its peer up
/// already; a reply's peer is looked up only for its report.
#[allow(
    clippy::too_many_arguments,
    reason = "inlined: a BPF call would take five at most"
)]
#[inline(always)]
fn report(
    config: &ProbeConfig,
    hook: &Hook,
    flow: &Flow,
    entry: *mut probe_common::conntrack::CtEntry,
    point: u8,
    reply: bool,
    gained: bool,
    now: u64,
) {
    if config.trace_mode != trace_mode::AGGREGATE
        || !conntrack::report_due(entry, gained, now, config.aggregation_interval_ms)
    {
        return;
    }
    let (ct_state, flags, peer_identity) = if reply {
        let peer = policy::peer(flow, hook.direction).identity;
        (state::REPLY, event_flags::IS_REPLY, peer)
    } else {
        (state::ESTABLISHED, 0, hook.peer_identity)
    };
    let at = Counted {
        point,
        ct_state,
        flags,
        pad: 0,
        peer_identity,
    };
    notify::emit_counted(hook, flow, entry, at);
}

/// Counts and traces a forwarded packet at observation `point`; returns the pass verdict.
#[inline(always)]
fn forward_at(
    config: &ProbeConfig,
    hook: &Hook,
    flow: &Flow,
    ct_state: u8,
    flags: u8,
    cookie: u32,
    point: u8,
) -> i32 {
    notify::count(counters::forwarded(hook.direction));
    let traced = match config.trace_mode {
        trace_mode::ALL => true,
        trace_mode::NEW_CONNECTIONS | trace_mode::AGGREGATE => ct_state == state::NEW,
        _ => false,
    };
    if traced {
        let note = Note {
            kind: kind::TRACE,
            subtype: point,
            ct_state,
            verdict: verdict::ALLOWED,
            flags,
            cookie,
            ..Note::default()
        };
        notify::emit(hook, flow, &note);
    }
    tc_action::PASS
}
