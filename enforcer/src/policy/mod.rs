//! Policies: the rule model and where rules come from.

pub mod origin;
