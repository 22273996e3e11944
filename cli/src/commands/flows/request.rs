//! The `GetFlowsRequest` the flags describe, as Hubble builds it: the last 20 flows
//! unless a selector says otherwise, `--all` as "the last 2^64-1", `--until` dropped when
//! following. `--input-file` replays use the same request (without the default 20).

use observe_flags::Filters;
use observe_proto::observer::GetFlowsRequest;
use observe_proto::pbjson_types::FieldMask;

use super::options::SelectorArgs;

/// Flows printed when nothing selects otherwise.
pub const DEFAULT_LAST: u64 = 20;

/// The request for `filters` and `selectors`.
pub fn build(
    filters: &Filters,
    selectors: &SelectorArgs,
    field_mask: &[String],
    replay: bool,
) -> GetFlowsRequest {
    let first = selectors.first.filter(|&n| n > 0);
    let until = selectors.until.filter(|_| !selectors.follow);
    let number = match (first, selectors.last.filter(|&n| n > 0)) {
        (Some(n), _) | (None, Some(n)) => n,
        _ if selectors.all => u64::MAX,
        _ if selectors.since.is_none() && until.is_none() && !selectors.follow && !replay => {
            DEFAULT_LAST
        }
        _ => 0,
    };
    GetFlowsRequest {
        number,
        first: first.is_some(),
        follow: selectors.follow,
        whitelist: filters.whitelist.clone(),
        blacklist: filters.blacklist.clone(),
        since: selectors.since,
        until,
        field_mask: (!field_mask.is_empty()).then(|| FieldMask {
            paths: field_mask.to_vec(),
        }),
        ..Default::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use observe_proto::Timestamp;

    fn req(s: SelectorArgs) -> GetFlowsRequest {
        build(&Filters::default(), &s, &[], false)
    }

    #[test]
    fn selectors_become_number_first_follow_since_until() {
        assert_eq!(req(SelectorArgs::default()).number, 20);
        let last = req(SelectorArgs {
            last: Some(5),
            ..Default::default()
        });
        assert_eq!((last.number, last.first), (5, false));
        let first = req(SelectorArgs {
            first: Some(3),
            ..Default::default()
        });
        assert_eq!((first.number, first.first), (3, true));
        let all = req(SelectorArgs {
            all: true,
            ..Default::default()
        });
        assert_eq!(all.number, u64::MAX);
        let t = Some(Timestamp {
            seconds: 10,
            nanos: 0,
        });
        let follow = req(SelectorArgs {
            follow: true,
            until: t,
            ..Default::default()
        });
        assert_eq!(
            (follow.number, follow.follow, follow.until),
            (0, true, None)
        );
        let since = req(SelectorArgs {
            since: t,
            ..Default::default()
        });
        assert_eq!((since.number, since.since), (0, t));
        let replay = build(&Filters::default(), &SelectorArgs::default(), &[], true);
        assert_eq!(
            replay.number, 0,
            "a replay prints the whole file by default"
        );
        let masked = build(
            &Filters::default(),
            &SelectorArgs::default(),
            &["time".into()],
            false,
        );
        assert_eq!(masked.field_mask.unwrap().paths, ["time"]);
    }
}
