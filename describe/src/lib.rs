//! Flows in words for people: everything `observe` (the CLI) and `observe tui` say about a
//! flow that is not layout, so both say it the same way. Pure functions from proto messages
//! to text; no drawing, no colors, no I/O, and no link to the server (`observer`).
//!
//! - Who and what: [`names`] (endpoints, [`names::FlowEnd`]), [`l4`] (protocols and
//!   ports), [`tcp_flags`] (Hubble's order).
//! - What happened: [`verdict`] (verdict words, drops), [`drop_reason`] (codes, names and
//!   Hubble's texts), [`reason`] (the event's kind and direction), [`connection`] (an
//!   aggregated connection's packets and bytes).
//! - Why policy decided: [`decision`] (the one classifier), [`policy`] (the dashboard's
//!   summary and explanation), [`attribution`] (the CLI's `by ...` grammar and `BY` suffix).
//! - Losses: [`advice`] (what a loss means and which `observerd` flag changes it).
//! - Formats: [`numbers`], [`clock`], [`fields`] (every set field of a flow),
//!   [`reproduce`] and [`quote`] (commands to paste into a shell).
//! - Staged policies: [`staged`] (a flow's staged verdict and the rules behind it).
//! - [`sanitize`]: flow-supplied strings become terminal text only through it.

#![warn(missing_docs)]

pub mod advice;
pub mod attribution;
pub mod clock;
pub mod connection;
pub mod decision;
pub mod drop_reason;
pub mod fields;
pub mod fqdn;
pub mod l4;
pub mod names;
pub mod numbers;
pub mod policy;
pub mod quote;
pub mod reason;
pub mod reproduce;
pub mod sanitize;
pub mod staged;
pub mod tcp_flags;
pub mod verdict;
