//! The parts of the app's state, one per widget (bottom's `widgets/` split): each holds
//! data and the operations messages perform on it, and knows nothing about drawing. The
//! matching drawing code lives under the same name in `crate::ui`.

pub mod connection;
pub mod drops;
pub mod endpoints;
pub mod filter_editor;
pub mod flow_buffer;
pub mod flow_table;
pub mod losses;
pub mod panels;
pub mod pause;
pub mod rates;
pub mod server;
