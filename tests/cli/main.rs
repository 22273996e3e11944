//! The `observe` binary against an in-process agent, one test binary with a module per
//! area:
//!
//! - `util`: running the binary, the flow fixture of the CLI's own tests.
//! - `live`: `observe flows` and `observe status` against an in-process agent
//!   (`observer::server::ObserverService` on a unix socket).

mod live;
mod util;
