//! From parsed flags to [`Filters`]: walks the occurrences in command-line order, sends
//! each to the allow list or, after `--not`, to the deny list, then checks conflicts and
//! appends the raw `--allowlist` / `--denylist` filters.

use clap::ArgMatches;
use observe_proto::flow::FlowFilter;

use crate::args::FilterArgs;
use crate::error::FlagsError;
use crate::occurrence::{self, Filter, Occurrence};
use crate::tracker::{self, Tracker};
use crate::{conflicts, raw};

/// What a request sends: flows must match one `whitelist` filter (or the list is empty)
/// and no `blacklist` filter.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Filters {
    /// `GetFlowsRequest.whitelist`.
    pub whitelist: Vec<FlowFilter>,
    /// `GetFlowsRequest.blacklist`.
    pub blacklist: Vec<FlowFilter>,
}

impl Filters {
    /// Whether no filter is set (every flow passes).
    pub fn is_empty(&self) -> bool {
        self.whitelist.is_empty() && self.blacklist.is_empty()
    }
}

/// Builds the filters of `args`, whose command-line order `matches` (the `ArgMatches` of
/// the command `args` was parsed from) records.
///
/// # Errors
///
/// [`FlagsError`] for a trailing or doubled `--not`, conflicting flags, namespace
/// conflicts and invalid raw filters.
pub fn build(args: &FilterArgs, matches: &ArgMatches) -> Result<Filters, FlagsError> {
    assemble(args, occurrence::collect(args, matches), Vec::new())
}

/// Like [`build`], with default filters given as arguments (e.g. `["--verdict",
/// "DROPPED"]`): a default applies unless the user sets the same flag in the same list,
/// which replaces it (the first use of a flag wipes its defaults, as in Hubble).
///
/// # Errors
///
/// As [`build`]; a default that does not parse is reported like a user error.
pub fn build_with_defaults(
    args: &FilterArgs,
    matches: &ArgMatches,
    defaults: &[&str],
) -> Result<Filters, FlagsError> {
    let (default_args, default_matches) = crate::line::parse_args(defaults)?;
    let defaults = occurrence::collect(&default_args, &default_matches);
    assemble(args, occurrence::collect(args, matches), defaults)
}

/// Which list an occurrence goes to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum List {
    Allow,
    Deny,
}

/// Splits occurrences between the lists: `--not` sends the next one to the deny list.
fn route(occurrences: Vec<Occurrence>) -> Result<Vec<(List, Occurrence)>, FlagsError> {
    let mut negate = false;
    let mut out = Vec::new();
    for occurrence in occurrences {
        if occurrence.filter == Filter::Not {
            if negate {
                return Err(FlagsError::ConsecutiveNot);
            }
            negate = true;
            continue;
        }
        let list = if std::mem::take(&mut negate) {
            List::Deny
        } else {
            List::Allow
        };
        out.push((list, occurrence));
    }
    if negate {
        return Err(FlagsError::TrailingNot);
    }
    Ok(out)
}

fn assemble(
    args: &FilterArgs,
    user: Vec<Occurrence>,
    defaults: Vec<Occurrence>,
) -> Result<Filters, FlagsError> {
    let user = route(user)?;
    let defaults = route(defaults)?;
    let mut allow = Tracker::default();
    let mut deny = Tracker::default();
    // Defaults first, unless the user set that flag in that list.
    for (list, o) in &defaults {
        let overridden = user.iter().any(|(l, u)| l == list && u.flag == o.flag);
        if !overridden {
            pick(*list, &mut allow, &mut deny).apply(&o.filter);
        }
    }
    for (list, o) in &user {
        let tracker = pick(*list, &mut allow, &mut deny);
        tracker.track(o.flag);
        tracker.apply(&o.filter);
    }
    for tracker in [&allow, &deny] {
        conflicts::check(tracker.changed())?;
        tracker::check_namespaces(tracker)?;
    }
    let mut whitelist = allow.finish();
    whitelist.extend(raw::parse("allowlist", &args.allowlist)?);
    let mut blacklist = deny.finish();
    blacklist.extend(raw::parse("denylist", &args.denylist)?);
    Ok(Filters {
        whitelist,
        blacklist,
    })
}

fn pick<'a>(list: List, allow: &'a mut Tracker, deny: &'a mut Tracker) -> &'a mut Tracker {
    match list {
        List::Allow => allow,
        List::Deny => deny,
    }
}

#[cfg(test)]
mod tests;
