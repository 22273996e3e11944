//! `policy trace --http-method M --http-path P [--http-header K:V]`: a trace that also
//! answers the HTTP question of a TCP flow: would the HTTP proxy forward this request, by
//! which HTTP rule, or which rule came closest before it answers 403?

use super::trace::{Trace, TraceError, TraceRequest};
use super::{Engine, HttpPolicy};
use crate::policy::Direction;
use crate::policy::http::Request;

impl Engine {
    /// Traces `req` as [`Engine::trace`] does, and judges `request` on the flow as the
    /// HTTP proxy would; the answer is in [`Trace::l7_verdict`] and the sides' notes.
    pub fn trace_http(&self, req: &TraceRequest, request: &Request) -> Result<Trace, TraceError> {
        let mut trace = self.trace(req)?;
        // The trace found the allowing rules of both sides already.
        let policy = HttpPolicy::of(&trace);
        if !policy.egress.has_rules() && !policy.ingress.has_rules() {
            trace.l7_verdict = Some(format!(
                "no HTTP rule applies to this flow: every request passes ({})",
                request_text(request)
            ));
            return Ok(trace);
        }
        let j = policy.judge(request);
        let side = match j.direction {
            Direction::Ingress => &mut trace.ingress,
            Direction::Egress => &mut trace.egress,
        };
        let text = if j.allowed {
            let by = match (&j.rule, j.http_rule()) {
                (Some(r), Some(h)) => format!(
                    " by the HTTP rule {h} of {} {}/{} {}",
                    r.kind, r.namespace, r.name, r.rule
                ),
                _ => String::new(),
            };
            format!(
                "ALLOWED: the HTTP proxy forwards {}{by}",
                request_text(request)
            )
        } else {
            let closest = match (&j.closest, j.http_rule()) {
                (Some(r), Some(h)) => format!(
                    "; closest: {} {}/{} rule {} allows {h}",
                    r.kind, r.namespace, r.name, r.rule
                ),
                _ => String::new(),
            };
            format!(
                "DENIED: the HTTP proxy answers 403 Access denied to {}{closest}",
                request_text(request)
            )
        };
        side.notes.push(text.clone());
        trace.l7_verdict = Some(text);
        Ok(trace)
    }
}

fn request_text(r: &Request) -> String {
    let headers: Vec<String> = r.headers.iter().map(|(k, v)| format!("{k}: {v}")).collect();
    if headers.is_empty() {
        format!("{} {}", r.method, r.path)
    } else {
        format!("{} {} ({})", r.method, r.path, headers.join(", "))
    }
}
