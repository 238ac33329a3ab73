//! Leases: while an item is on a reviewer's screen it is held for them, so that two reviewers
//! are not shown the same item for the same review slot. A lease lasts a configurable time
//! (`--lease-secs`) from when the page was shown or last renewed by the page's heartbeat; an
//! expired lease frees its slot. Leases only steer who is shown what: a decision is accepted
//! or refused by the standing decisions alone (first decision wins), so an expired lease costs
//! nothing but a possible conflict message.
//!
//! Times are passed in (`now`), so the rules are tested without waiting.

use std::collections::HashMap;
use std::time::{Duration, Instant};

/// Who holds which item, until when.
#[derive(Debug)]
pub struct Leases {
    ttl: Duration,
    held: HashMap<String, Vec<(String, Instant)>>,
}

impl Leases {
    /// No leases; each granted one lasts `ttl`.
    pub fn new(ttl: Duration) -> Self {
        Self {
            ttl,
            held: HashMap::new(),
        }
    }

    /// How long a lease lasts.
    pub fn ttl(&self) -> Duration {
        self.ttl
    }

    /// Reviewers other than `reviewer` holding `item` at `now`.
    pub fn others(&self, item: &str, reviewer: &str, now: Instant) -> Vec<&str> {
        self.held
            .get(item)
            .into_iter()
            .flatten()
            .filter(|(r, until)| r != reviewer && *until > now)
            .map(|(r, _)| r.as_str())
            .collect()
    }

    /// The item `reviewer` holds at `now`, if any (a reviewer holds one item at a time).
    pub fn held_by(&self, reviewer: &str, now: Instant) -> Option<&str> {
        self.held.iter().find_map(|(item, v)| {
            v.iter()
                .any(|(r, until)| r == reviewer && *until > now)
                .then_some(item.as_str())
        })
    }

    /// Leases `item` to `reviewer` until `now + ttl`, ending any other lease of theirs and
    /// dropping expired leases.
    pub fn grant(&mut self, item: &str, reviewer: &str, now: Instant) {
        for v in self.held.values_mut() {
            v.retain(|(r, until)| r != reviewer && *until > now);
        }
        self.held.retain(|_, v| !v.is_empty());
        self.held
            .entry(item.to_string())
            .or_default()
            .push((reviewer.to_string(), now + self.ttl));
    }

    /// Ends `reviewer`'s lease on `item` (after their decision).
    pub fn release(&mut self, item: &str, reviewer: &str) {
        if let Some(v) = self.held.get_mut(item) {
            v.retain(|(r, _)| r != reviewer);
            if v.is_empty() {
                self.held.remove(item);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_lease_holds_until_it_expires_and_one_per_reviewer() {
        let t0 = Instant::now();
        let mut l = Leases::new(Duration::from_secs(10));
        l.grant("a", "ann", t0);
        assert_eq!(l.others("a", "bob", t0), ["ann"]);
        assert!(
            l.others("a", "ann", t0).is_empty(),
            "one's own lease is no obstacle"
        );
        assert_eq!(l.held_by("ann", t0), Some("a"));
        let later = t0 + Duration::from_secs(11);
        assert!(l.others("a", "bob", later).is_empty(), "expired");
        assert_eq!(l.held_by("ann", later), None);
        l.grant("a", "ann", t0);
        l.grant("b", "ann", t0);
        assert!(
            l.others("a", "bob", t0).is_empty(),
            "a new lease ends the old one"
        );
        assert_eq!(l.held_by("ann", t0), Some("b"));
        l.release("b", "ann");
        assert_eq!(l.held_by("ann", t0), None);
    }
}
