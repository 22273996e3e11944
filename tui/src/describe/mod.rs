//! Flows in words: everything the widgets print about a flow (names, ports, verdicts,
//! reasons, policy explanations, reproduce commands) and the number formats they share.
//!
//! This is the one place flow-supplied strings turn into screen text, so it is also where
//! they are sanitized ([`sanitize::clean`]); widgets draw only what these functions
//! return or the app's own text. No drawing and no state here.

pub mod fields;
pub mod names;
pub mod numbers;
pub mod policy;
pub mod reason;
pub mod reproduce;
pub mod sanitize;
