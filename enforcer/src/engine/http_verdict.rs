//! The HTTP proxy's question to the engine: may this request pass?
//!
//! A connection's rules are looked up once ([`Engine::http_policy`]: the rules that allow
//! its flow at the source's egress and the destination's ingress, as a trace finds them),
//! and each request on it is judged against them ([`HttpPolicy::judge`]), so a keep-alive
//! connection costs one lookup and a regular-expression match per request.
//!
//! Each side decides as Cilium's proxy does: a side whose allowing rules carry no
//! `rules.http` (or that denies the flow at L3/L4, which the datapath enforces on the
//! upstream connection) allows every request (the port is steered to the proxy because of another
//! side or another peer); otherwise one HTTP rule of one allowing rule must match. Both
//! sides must allow. A denied request names the HTTP rule that came closest: the first
//! HTTP rule of the first allowing rule with HTTP rules on the side that denied it.

use std::net::IpAddr;
use std::sync::Arc;

use super::Engine;
use super::trace::{RuleMatch, SideTrace, Target, Trace, TraceRequest};
use crate::policy::Direction;
use crate::policy::http::{HeaderEdit, RequestView, first_match};

/// The HTTP rules one connection's requests are judged against.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HttpPolicy {
    /// The source's egress side.
    pub egress: Side,
    /// The destination's ingress side.
    pub ingress: Side,
}

/// One side of a connection.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Side {
    /// The connection could not be traced (its rules are unknown): deny.
    Denied,
    /// Every request passes (no HTTP rule narrows the allowing rules, or no policy).
    Open(Option<Arc<RuleMatch>>),
    /// A request must match one HTTP rule of these allowing rules.
    Rules(Vec<Arc<RuleMatch>>),
}

/// The engine's answer to one request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HttpJudgement {
    /// The request may go upstream.
    pub allowed: bool,
    /// The direction that decided: the one that denied, or the one whose HTTP rule
    /// allowed (ingress before egress when both have HTTP rules).
    pub direction: Direction,
    /// The rule that allowed it (shared with the connection's rules: judging a request
    /// allocates nothing).
    pub rule: Option<Arc<RuleMatch>>,
    /// For a denied request: the rule holding the closest HTTP rule.
    pub closest: Option<Arc<RuleMatch>>,
    /// Which of `rule`'s HTTP rules allowed it, or for a denied request which of
    /// `closest`'s came closest.
    pub http_index: Option<usize>,
    /// Header edits the allowing rule's `headerMatches` mismatch actions ask for.
    pub edits: Vec<HeaderEdit>,
}

/// A side's verdict on one request.
enum SideVerdict {
    Allowed {
        rule: Option<Arc<RuleMatch>>,
        http_index: Option<usize>,
        edits: Vec<HeaderEdit>,
    },
    Denied {
        closest: Option<Arc<RuleMatch>>,
    },
}

impl HttpJudgement {
    /// The HTTP rule that allowed the request, or came closest, as text (`GET /health`).
    pub fn http_rule(&self) -> Option<String> {
        let holder = self.rule.as_ref().or(self.closest.as_ref())?;
        holder.http.get(self.http_index?).map(|r| r.summary())
    }
}

impl Engine {
    /// The HTTP rules for a connection from `client` to `server`:`port` (TCP).
    pub fn http_policy(&self, client: IpAddr, server: IpAddr, port: u16) -> HttpPolicy {
        let req = TraceRequest {
            from: Target::Ip(client),
            to: Target::Ip(server),
            protocol: 6,
            dport: port,
            reply: false,
        };
        match self.trace(&req) {
            Ok(trace) => HttpPolicy::of(&trace),
            Err(_) => HttpPolicy {
                egress: Side::Denied,
                ingress: Side::Denied,
            },
        }
    }
}

impl HttpPolicy {
    /// The HTTP rules of a traced flow (a TCP flow, as the proxy sees connections).
    pub fn of(trace: &Trace) -> Self {
        Self {
            egress: Side::of(&trace.egress),
            ingress: Side::of(&trace.ingress),
        }
    }
}

impl Side {
    fn of(side: &SideTrace) -> Self {
        // L3/L4 is the datapath's to decide, as Cilium's: the upstream connection meets the
        // destination's policy from the client's own address, and a drop there is what the
        // client sees (the proxy's 503), not a 403 the proxy made up.
        if side.drop_reason.is_some() {
            return Self::Open(None);
        }
        if let Some(open) = side.matched_rules.iter().find(|m| m.http.is_empty()) {
            return Self::Open(Some(Arc::new(open.clone())));
        }
        if side.matched_rules.is_empty() {
            return Self::Open(None);
        }
        Self::Rules(side.matched_rules.iter().cloned().map(Arc::new).collect())
    }

    fn judge(&self, request: &dyn RequestView) -> SideVerdict {
        match self {
            Self::Denied => SideVerdict::Denied { closest: None },
            Self::Open(rule) => SideVerdict::Allowed {
                rule: rule.clone(),
                http_index: None,
                edits: Vec::new(),
            },
            Self::Rules(rules) => {
                for m in rules {
                    if let Some((index, _, edits)) = first_match(&m.http, request) {
                        return SideVerdict::Allowed {
                            rule: Some(m.clone()),
                            http_index: Some(index),
                            edits,
                        };
                    }
                }
                SideVerdict::Denied {
                    closest: rules.first().cloned(),
                }
            }
        }
    }

    /// Whether HTTP rules narrow this side.
    pub fn has_rules(&self) -> bool {
        matches!(self, Self::Rules(_))
    }
}

impl HttpPolicy {
    /// Judges one request.
    pub fn judge(&self, request: &dyn RequestView) -> HttpJudgement {
        let sides = [
            (Direction::Ingress, &self.ingress),
            (Direction::Egress, &self.egress),
        ];
        let mut allowed_by: Option<(Direction, Option<Arc<RuleMatch>>, Option<usize>)> = None;
        let mut edits = Vec::new();
        for (direction, side) in sides {
            match side.judge(request) {
                SideVerdict::Denied { closest } => {
                    return HttpJudgement {
                        allowed: false,
                        direction,
                        rule: None,
                        http_index: closest.as_ref().map(|_| 0),
                        closest,
                        edits: Vec::new(),
                    };
                }
                SideVerdict::Allowed {
                    rule,
                    http_index,
                    edits: side_edits,
                } => {
                    edits.extend(side_edits);
                    let replace = match &allowed_by {
                        None => true,
                        Some((_, _, h)) => h.is_none() && http_index.is_some(),
                    };
                    if replace {
                        allowed_by = Some((direction, rule, http_index));
                    }
                }
            }
        }
        let (direction, rule, http_index) = allowed_by.unwrap_or((Direction::Egress, None, None));
        HttpJudgement {
            allowed: true,
            direction,
            rule,
            closest: None,
            http_index,
            edits,
        }
    }
}
