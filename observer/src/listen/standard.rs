//! The standard gRPC services served next to ours: `grpc.health.v1.Health` (so probes
//! and load balancers can check the agent) and server reflection, v1 and v1alpha (so
//! `grpcurl` and other generic clients can list and describe the API without the proto
//! files; v1alpha for older clients).
//!
//! Reflection answers from the compiled descriptor set of our protos and of the health
//! service, and lists only the services the listener actually serves.
//!
//! Health also answers under the names other clients ask for: `hubble status` checks
//! `hubble.server.Observer` (the name Hubble's server registers its observer's health
//! under), not the gRPC service name `observer.Observer`.

use observe_proto::FILE_DESCRIPTOR_SET;
use observe_proto::observer::observer_server::SERVICE_NAME as OBSERVER;
use tonic::transport::server::Router;
use tonic_health::ServingStatus;
use tonic_health::pb::health_server::HealthServer;
use tonic_health::server::{HealthReporter, HealthService};
use tonic_reflection::server::Builder;

/// Service names of the health and reflection services themselves.
const OWN: [&str; 3] = [
    "grpc.health.v1.Health",
    "grpc.reflection.v1.ServerReflection",
    "grpc.reflection.v1alpha.ServerReflection",
];

/// Other names health answers for a service, as (service, alias): Hubble's CLI asks for
/// its observer by Hubble's `ObserverServiceName`.
const ALIASES: [(&str, &str); 1] = [(OBSERVER, "hubble.server.Observer")];

/// The health statuses, shared by every listener.
#[derive(Clone, Debug, Default)]
pub struct StandardServices {
    health: HealthReporter,
}

impl StandardServices {
    /// Health says SERVING for the server as a whole ("") until told otherwise.
    pub fn new() -> Self {
        Self::default()
    }

    /// Marks `services` (full gRPC names, e.g. `observer.Observer`) as serving, under
    /// their aliases too.
    pub async fn set_serving(&self, services: &[&str]) {
        for name in health_names(services) {
            self.health
                .set_service_status(name, ServingStatus::Serving)
                .await;
        }
    }

    /// Marks everything as not serving (the agent is stopping).
    pub async fn set_not_serving(&self, services: &[&str]) {
        for name in health_names(services).chain([""]) {
            self.health
                .set_service_status(name, ServingStatus::NotServing)
                .await;
        }
    }
}

/// `services` and their aliases.
fn health_names<'a>(services: &'a [&'a str]) -> impl Iterator<Item = &'a str> {
    services.iter().flat_map(|&name| {
        let aliases = ALIASES.iter().filter(move |(of, _)| *of == name);
        std::iter::once(name).chain(aliases.map(|&(_, alias)| alias))
    })
}

/// Adds health and reflection to `router`; reflection lists `services` (what the router
/// serves) plus itself and health.
///
/// # Errors
///
/// The descriptor sets do not decode (a build problem, caught by the tests).
pub fn add_standard_services(
    router: Router,
    standard: &StandardServices,
    services: &[&str],
) -> Result<Router, tonic_reflection::server::Error> {
    let listed = || {
        services
            .iter()
            .chain(&OWN)
            .fold(described(), |b, name| b.with_service_name(*name))
    };
    let v1 = listed().build_v1()?;
    let v1alpha = listed().build_v1alpha()?;
    let health = HealthServer::new(HealthService::from_health_reporter(standard.health.clone()));
    Ok(router
        .add_service(health)
        .add_service(v1)
        .add_service(v1alpha))
}

fn described() -> Builder<'static> {
    Builder::configure()
        .register_encoded_file_descriptor_set(FILE_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_observer_is_also_healthy_under_hubbles_name() {
        let names: Vec<_> = health_names(&[OBSERVER, "observe.control.v1.Control"]).collect();
        assert_eq!(
            names,
            [
                "observer.Observer",
                "hubble.server.Observer",
                "observe.control.v1.Control"
            ]
        );
    }
}
