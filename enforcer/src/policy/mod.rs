//! Policies: the rule model, where rules come from, and the CNP/CCNP/KNP parsers that
//! produce the model from manifests.

pub mod direction;
pub mod entity;
pub mod http;
pub mod model;
pub mod namespacing;
pub mod origin;
pub mod ports;
pub mod services;

pub use direction::Direction;
