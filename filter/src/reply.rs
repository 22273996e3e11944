//! `reply`: whether the packet travels in the reply direction of its connection.

use observe_proto::flow::{Flow, FlowFilter, Verdict};

use super::{FilterBuilder, FilterError, FilterFn};

/// Builds the `reply` filter.
pub struct ReplyFilter;

impl FilterBuilder for ReplyFilter {
    fn build(&self, filter: &FlowFilter) -> Result<Vec<FilterFn>, FilterError> {
        if filter.reply.is_empty() {
            return Ok(vec![]);
        }
        let wanted = filter.reply.clone();
        Ok(vec![Box::new(move |flow: &Flow| match is_reply(flow) {
            Some(reply) => wanted.contains(&reply),
            None => false,
        })])
    }
}

/// The reply flag; an unknown flag counts as "not a reply" on drops, as Hubble does for
/// clients that filter drops with `reply=false` (the old `reply` field was false there).
fn is_reply(flow: &Flow) -> Option<bool> {
    match flow.is_reply {
        Some(value) => Some(value.value),
        None if flow.verdict() == Verdict::Dropped => Some(false),
        None => None,
    }
}

#[cfg(test)]
mod tests {
    use super::super::testutil::*;
    use observe_proto::flow::{Flow, FlowFilter};

    fn reply(value: Option<bool>, flow: Flow) -> Flow {
        Flow {
            is_reply: value.map(Into::into),
            ..flow
        }
    }

    #[test]
    fn matches_known_reply_flags() {
        let filter = FlowFilter {
            reply: vec![false],
            ..Default::default()
        };
        check(
            filter,
            &[
                ("request", reply(Some(false), forwarded()), true),
                ("reply", reply(Some(true), forwarded()), false),
                ("unknown forwarded", reply(None, forwarded()), false),
                (
                    "unknown drop counts as request",
                    reply(None, dropped()),
                    true,
                ),
            ],
        );
        let replies = FlowFilter {
            reply: vec![true],
            ..Default::default()
        };
        check(
            replies,
            &[
                ("reply", reply(Some(true), forwarded()), true),
                ("unknown drop", reply(None, dropped()), false),
            ],
        );
    }
}
