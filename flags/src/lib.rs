//! Hubble's `observe` flow filter flags, for `observe flows` and the TUI's filter line.
//!
//! - [`FilterArgs`]: the flags as a clap [`clap::Args`] struct to flatten into a command.
//!   Names, short options and meanings are `hubble observe`'s for L3/L4 flows
//!   (`--verdict`, `--from-pod`, `-n`, `--not`, ...), plus our policy filters (`--policy`,
//!   `--denied-by`, `--drop-reason`, `--default-deny`, ...).
//! - [`build`]: turns parsed flags into [`Filters`] (the whitelist and blacklist of a
//!   `GetFlowsRequest`). It needs the `ArgMatches` too, because `--not` negates the next
//!   flag and only clap's indices tell which flag came next.
//! - [`parse_filter_line`]: the same from one string, for the TUI.
//!
//! # Semantics (Hubble's)
//!
//! | you type | you get |
//! |---|---|
//! | a flag repeated (`--verdict DROPPED --verdict AUDIT`) | any of the values (OR) |
//! | different flags (`--verdict DROPPED --to-port 53`) | all of them (AND) |
//! | `--not FLAG VALUE` | the filter goes to the deny list; negated flags combine like the others and flows matching the combination are left out |
//! | an either-side flag (`--pod`, `--ip`, `--label`, `--port`, `--identity`, `--service`, `--fqdn`, `--workload`, `--cluster`) | two filters, source side OR destination side |
//! | `-n NS`, `--from-namespace`, `--to-namespace`, `-A` | `NS/` prefixes on pod and service filters (or `NS/` alone) |
//! | a pod or service without namespace | the `default` namespace (the server's rule) |
//!
//! Flags that would contradict each other (`--port` with `--to-port`, `--ip` with
//! `--from-pod`, ...) are rejected, as Hubble does.
//!
//! ```
//! use clap::{CommandFactory, FromArgMatches, Parser};
//!
//! #[derive(Parser)]
//! struct Cli {
//!     #[command(flatten)]
//!     filters: observe_flags::FilterArgs,
//! }
//!
//! let matches = Cli::command()
//!     .get_matches_from(["observe", "--verdict", "DROPPED", "--not", "--to-namespace", "kube-system"]);
//! let cli = Cli::from_arg_matches(&matches).unwrap();
//! let filters = observe_flags::build(&cli.filters, &matches).unwrap();
//! assert_eq!(filters.whitelist.len(), 1);
//! assert_eq!(filters.blacklist[0].destination_pod, ["kube-system/"]);
//! ```

#![warn(missing_docs)]

mod args;
mod conflicts;
pub mod duration;
mod error;
mod filters;
mod line;
pub mod names;
mod occurrence;
mod raw;
mod tracker;
pub mod values;

pub use args::FilterArgs;
pub use error::{FlagsError, one_line};
pub use filters::{Filters, build, build_with_defaults};
pub use line::parse_filter_line;
