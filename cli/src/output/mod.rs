//! Printers: pure functions from results to text or JSON.

pub mod table;
pub mod trace;
