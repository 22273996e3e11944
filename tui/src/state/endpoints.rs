//! The endpoints panel's data: local endpoints with identity and enforcement state, from
//! the control API (polled), or why it is unavailable (an agent without the control API,
//! or a Hubble server, is fine: the panel says so and everything else works).

use observe_proto::control::Endpoint;

/// Endpoints as last fetched.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct EndpointsView {
    /// The endpoints, sorted by namespace and pod.
    pub list: Vec<Endpoint>,
    /// Whether a list has been received.
    pub loaded: bool,
    /// Why the last fetch failed (sanitized).
    pub error: Option<String>,
}

impl EndpointsView {
    /// A fetch result.
    pub fn on_result(&mut self, result: Result<Vec<Endpoint>, String>) {
        match result {
            Ok(mut list) => {
                list.sort_by(|a, b| {
                    (&a.namespace, &a.pod, a.id).cmp(&(&b.namespace, &b.pod, b.id))
                });
                self.list = list;
                self.loaded = true;
                self.error = None;
            }
            Err(reason) => self.error = Some(reason),
        }
    }
}
