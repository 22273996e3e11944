//! The standard gRPC services served next to ours: `grpc.health.v1.Health` (so probes
//! and load balancers can check the agent) and server reflection, v1 and v1alpha (so
//! `grpcurl` and other generic clients can list and describe the API without the proto
//! files; v1alpha for older clients).
//!
//! Reflection answers from the compiled descriptor set of our protos and of the health
//! service, and lists only the services the listener actually serves.

use observe_proto::FILE_DESCRIPTOR_SET;
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

    /// Marks `services` (full gRPC names, e.g. `observer.Observer`) as serving.
    pub async fn set_serving(&self, services: &[&str]) {
        for name in services {
            self.health
                .set_service_status(name, ServingStatus::Serving)
                .await;
        }
    }

    /// Marks everything as not serving (the agent is stopping).
    pub async fn set_not_serving(&self, services: &[&str]) {
        for name in services.iter().chain(&[""]) {
            self.health
                .set_service_status(name, ServingStatus::NotServing)
                .await;
        }
    }
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
