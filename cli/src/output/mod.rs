//! Printers: pure functions from results to text or JSON.

pub mod flows;
pub mod list;
pub mod rule_hits;
pub mod status;
pub mod table;
pub mod trace;
pub mod whatif;
