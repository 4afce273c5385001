//! Failure rate limiting for API-key exchange: consulted BEFORE any hashing so a flood of bad
//! keys costs no argon2 work.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Allows at most `max_failures` failures per key (client address, key id) in a sliding
/// window; once reached, [`FailureLimiter::allowed`] answers false until the window passes.
pub struct FailureLimiter {
    max_failures: u32,
    window: Duration,
    entries: Mutex<HashMap<String, (u32, Instant)>>,
}

const MAX_ENTRIES: usize = 100_000;

impl FailureLimiter {
    /// A limiter allowing `max_failures` per `window`.
    pub fn new(max_failures: u32, window: Duration) -> Self {
        Self {
            max_failures,
            window,
            entries: Mutex::new(HashMap::new()),
        }
    }

    /// Whether another attempt from `who` may proceed.
    pub fn allowed(&self, who: &str) -> bool {
        let now = Instant::now();
        let Ok(mut map) = self.entries.lock() else {
            return false;
        };
        match map.get(who) {
            Some((count, since)) if now.duration_since(*since) < self.window => {
                *count < self.max_failures
            }
            Some(_) => {
                map.remove(who);
                true
            }
            None => true,
        }
    }

    /// Record a failed attempt by `who`.
    pub fn record_failure(&self, who: &str) {
        let now = Instant::now();
        let Ok(mut map) = self.entries.lock() else {
            return;
        };
        if map.len() >= MAX_ENTRIES {
            let window = self.window;
            map.retain(|_, (_, since)| now.duration_since(*since) < window);
        }
        let e = map.entry(who.to_owned()).or_insert((0, now));
        if now.duration_since(e.1) >= self.window {
            *e = (0, now);
        }
        e.0 = e.0.saturating_add(1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_after_limit() {
        let l = FailureLimiter::new(3, Duration::from_secs(60));
        for _ in 0..3 {
            assert!(l.allowed("a"));
            l.record_failure("a");
        }
        assert!(!l.allowed("a"));
        assert!(l.allowed("b"));
    }
}
