//! Visiting a sorted subset of the endpoints (or anything keyed by pod): by lookup when the subset is small, else by
//! walking the endpoints and the subset together (both are sorted by pod), which costs
//! one key comparison per step instead of a tree search per key.

use std::cmp::Ordering;
use std::collections::BTreeMap;

use crate::cluster::PodKey;

/// Calls `f` on every key in `keys` (sorted, each once), in order, with its endpoint if it
/// has one.
pub fn for_each_mut<E>(
    pods: &mut BTreeMap<PodKey, E>,
    keys: &[PodKey],
    mut f: impl FnMut(&PodKey, Option<&mut E>),
) {
    // A tree search costs about log2(pods) comparisons; a walk, one per pod.
    if keys.len() * 16 < pods.len() {
        for key in keys {
            f(key, pods.get_mut(key));
        }
        return;
    }
    let mut endpoints = pods.iter_mut();
    let mut next = endpoints.next();
    for key in keys {
        // One comparison per step.
        loop {
            match next.as_ref().map(|(k, _)| (*k).cmp(key)) {
                Some(Ordering::Less) => next = endpoints.next(),
                Some(Ordering::Equal) => {
                    f(key, next.take().map(|(_, e)| e));
                    next = endpoints.next();
                    break;
                }
                _ => {
                    f(key, None);
                    break;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn visited(pods: usize, keys: &[usize]) -> Vec<(String, bool)> {
        let key = |i: usize| PodKey::new("ns", &format!("p{i:03}"));
        let mut map: BTreeMap<PodKey, ()> = (0..pods).map(|i| (key(i), ())).collect();
        let keys: Vec<PodKey> = keys.iter().map(|&i| key(i)).collect();
        let mut out = Vec::new();
        for_each_mut(&mut map, &keys, |k, e| {
            out.push((k.name.clone(), e.is_some()))
        });
        out
    }

    #[test]
    fn walking_and_looking_up_visit_the_same_endpoints() {
        // Few keys: looked up; many: walked. Either way every key, with or without one.
        let expected = |keys: &[usize]| -> Vec<(String, bool)> {
            keys.iter()
                .map(|i| (format!("p{i:03}"), *i < 100))
                .collect()
        };
        assert_eq!(visited(100, &[3, 150]), expected(&[3, 150]));
        let many: Vec<usize> = (0..120).step_by(3).collect();
        assert_eq!(visited(100, &many), expected(&many));
    }
}
