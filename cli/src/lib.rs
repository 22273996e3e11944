//! The library side of `observe`: only what code outside the binary (the fuzz targets in
//! `fuzz/`) must reach. Everything else is the binary's (`main.rs` and its modules).

mod fast_json;
pub mod input_line;
