//! Network address helpers: IP prefixes (CIDRs) as policies and the ipcache use them.

mod cidr;

pub use cidr::{Cidr, CidrError};
