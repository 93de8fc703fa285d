//! Injectable faults and latency, per action or global, deterministic by seed
//! (kaltura-api.md §13.15): added latency, HTTP 5xx, dropped connections, Kaltura error envelopes,
//! rate limiting with `ACTION_BLOCKED`, KS expiry after N calls, search-index lag and failed
//! conversions.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use crate::content::mix64;

/// What a fault rule does.
#[derive(Debug, Clone, PartialEq)]
pub enum FaultKind {
    /// Adds this delay before answering (`latency=20ms`).
    Latency(Duration),
    /// Answers with HTTP 503 and no Kaltura body, with this probability (`http5xx=0.1`).
    Http5xx(f64),
    /// Cuts the connection mid-response, with this probability (`drop=0.05`).
    Drop(f64),
    /// Answers `INTERNAL_SERVERL_ERROR`, with this probability (`error=0.1`).
    InternalError(f64),
    /// Answers `LOCK_TIMED_OUT`, with this probability (`lock=0.1`).
    LockTimeout(f64),
    /// Answers `ACTION_BLOCKED` above this many calls per second of one action (`rate=50`).
    RateLimit(u32),
    /// Every KS expires after this many calls made with it (`ks_calls=200`).
    KsExpiresAfterCalls(u64),
    /// List and search results see entry changes only after this delay (`index_lag=5s`).
    IndexLag(Duration),
    /// Conversions end in ERROR_CONVERTING, with this probability (`convert_error=0.5`).
    ConvertError(f64),
}

/// One fault rule: a kind, limited to one action (`media.list`, `multirequest`, `serveflavor`)
/// or global.
#[derive(Debug, Clone, PartialEq)]
pub struct FaultRule {
    /// `service.action` in lower case, or `None` for every action.
    pub scope: Option<String>,
    /// What happens.
    pub kind: FaultKind,
}

impl std::str::FromStr for FaultRule {
    type Err = String;

    /// Parses `[scope:]name=value`, e.g. `media.list:http5xx=0.1`, `latency=20ms`, `ks_calls=200`.
    fn from_str(s: &str) -> Result<Self, String> {
        let s = s.trim();
        let (scope, spec) = match s.split_once(':') {
            Some((scope, spec)) if !scope.contains('=') => (Some(scope.to_lowercase()), spec),
            _ => (None, s),
        };
        let (name, value) = spec.split_once('=').ok_or_else(|| {
            format!("fault {s:?} is not NAME=VALUE; e.g. latency=20ms, http5xx=0.1, media.list:error=0.2")
        })?;
        let prob = |v: &str| -> Result<f64, String> {
            let p: f64 = v
                .parse()
                .map_err(|_| format!("fault {s:?}: {v:?} is not a number"))?;
            if (0.0..=1.0).contains(&p) {
                Ok(p)
            } else {
                Err(format!("fault {s:?}: probability must be between 0 and 1"))
            }
        };
        let int = |v: &str| -> Result<u64, String> {
            v.parse()
                .map_err(|_| format!("fault {s:?}: {v:?} is not a whole number"))
        };
        let kind = match name.trim() {
            "latency" => FaultKind::Latency(parse_duration(value).map_err(|e| format!("fault {s:?}: {e}"))?),
            "http5xx" => FaultKind::Http5xx(prob(value)?),
            "drop" => FaultKind::Drop(prob(value)?),
            "error" => FaultKind::InternalError(prob(value)?),
            "lock" => FaultKind::LockTimeout(prob(value)?),
            "rate" => FaultKind::RateLimit(int(value)? as u32),
            "ks_calls" => FaultKind::KsExpiresAfterCalls(int(value)?),
            "index_lag" => FaultKind::IndexLag(parse_duration(value).map_err(|e| format!("fault {s:?}: {e}"))?),
            "convert_error" => FaultKind::ConvertError(prob(value)?),
            other => {
                return Err(format!(
                    "unknown fault {other:?}; known: latency, http5xx, drop, error, lock, rate, ks_calls, index_lag, convert_error"
                ))
            }
        };
        Ok(FaultRule { scope, kind })
    }
}

/// Parses `250ms`, `2s`, or a bare number of milliseconds.
pub fn parse_duration(v: &str) -> Result<Duration, String> {
    let v = v.trim();
    let (num, mult) = if let Some(n) = v.strip_suffix("ms") {
        (n, 1)
    } else if let Some(n) = v.strip_suffix('s') {
        (n, 1000)
    } else {
        (v, 1)
    };
    num.trim()
        .parse::<u64>()
        .map(|n| Duration::from_millis(n * mult))
        .map_err(|_| format!("{v:?} is not a duration like 20ms or 5s"))
}

/// The HTTP-level effect chosen for one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HttpFault {
    /// Answer normally.
    None,
    /// Answer HTTP 503 without a Kaltura body.
    ServiceUnavailable,
    /// Cut the connection.
    Drop,
}

/// The active fault rules and the deterministic dice.
#[derive(Debug)]
pub struct Faults {
    rules: Mutex<Vec<FaultRule>>,
    seed: u64,
    rolls: AtomicU64,
    windows: Mutex<HashMap<String, (u64, u32)>>,
}

impl Faults {
    /// Faults with these rules, dice seeded by `seed`.
    pub fn new(rules: Vec<FaultRule>, seed: u64) -> Self {
        Faults {
            rules: Mutex::new(rules),
            seed,
            rolls: AtomicU64::new(0),
            windows: Mutex::new(HashMap::new()),
        }
    }

    /// Replaces the rules (and restarts the dice, so a run with the same calls repeats exactly).
    pub fn set(&self, rules: Vec<FaultRule>) {
        *self.rules.lock().expect("faults lock") = rules;
        self.rolls.store(0, Ordering::SeqCst);
        self.windows.lock().expect("faults lock").clear();
    }

    /// The current rules.
    pub fn rules(&self) -> Vec<FaultRule> {
        self.rules.lock().expect("faults lock").clone()
    }

    fn applicable(&self, action: &str) -> Vec<FaultKind> {
        self.rules
            .lock()
            .expect("faults lock")
            .iter()
            .filter(|r| r.scope.as_deref().is_none_or(|s| s == action))
            .map(|r| r.kind.clone())
            .collect()
    }

    fn roll(&self, p: f64) -> bool {
        if p <= 0.0 {
            return false;
        }
        let n = self.rolls.fetch_add(1, Ordering::SeqCst);
        let r = mix64(self.seed ^ mix64(n)) as f64 / u64::MAX as f64;
        r < p
    }

    /// Total latency to add to a call of `action`.
    pub fn latency(&self, action: &str) -> Duration {
        self.applicable(action)
            .iter()
            .map(|k| {
                if let FaultKind::Latency(d) = k {
                    *d
                } else {
                    Duration::ZERO
                }
            })
            .sum()
    }

    /// The HTTP-level fault for a request whose route is `action`.
    pub fn http_fault(&self, action: &str) -> HttpFault {
        for k in self.applicable(action) {
            match k {
                FaultKind::Http5xx(p) if self.roll(p) => return HttpFault::ServiceUnavailable,
                FaultKind::Drop(p) if self.roll(p) => return HttpFault::Drop,
                _ => {}
            }
        }
        HttpFault::None
    }

    /// The Kaltura error to answer instead of running `service.action`, if any.
    pub fn api_fault(
        &self,
        service: &str,
        action: &str,
        now_ms: u64,
    ) -> Option<crate::error::ApiError> {
        let key = format!("{service}.{action}");
        for k in self.applicable(&key) {
            match k {
                FaultKind::InternalError(p) if self.roll(p) => {
                    return Some(crate::error::codes::internal_serverl_error())
                }
                FaultKind::LockTimeout(p) if self.roll(p) => {
                    return Some(crate::error::codes::lock_timed_out())
                }
                FaultKind::RateLimit(limit) => {
                    let mut w = self.windows.lock().expect("faults lock");
                    let slot = w.entry(key.clone()).or_insert((now_ms / 1000, 0));
                    if slot.0 != now_ms / 1000 {
                        *slot = (now_ms / 1000, 0);
                    }
                    slot.1 += 1;
                    if slot.1 > limit {
                        return Some(crate::error::codes::action_blocked(action, service));
                    }
                }
                _ => {}
            }
        }
        None
    }

    /// After how many calls a KS expires, if a rule says so.
    pub fn ks_call_limit(&self) -> Option<u64> {
        self.rules().iter().find_map(|r| {
            if let FaultKind::KsExpiresAfterCalls(n) = r.kind {
                Some(n)
            } else {
                None
            }
        })
    }

    /// How long list and search results lag behind entry changes.
    pub fn index_lag(&self) -> Duration {
        self.rules()
            .iter()
            .find_map(|r| {
                if let FaultKind::IndexLag(d) = r.kind {
                    Some(d)
                } else {
                    None
                }
            })
            .unwrap_or(Duration::ZERO)
    }

    /// Whether the conversion that is starting now fails.
    pub fn conversion_fails(&self) -> bool {
        let p = self
            .rules()
            .iter()
            .find_map(|r| {
                if let FaultKind::ConvertError(p) = r.kind {
                    Some(p)
                } else {
                    None
                }
            })
            .unwrap_or(0.0);
        self.roll(p)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_parse_with_and_without_scope() {
        let r: FaultRule = "media.list:http5xx=0.25".parse().unwrap();
        assert_eq!(
            r,
            FaultRule {
                scope: Some("media.list".into()),
                kind: FaultKind::Http5xx(0.25)
            }
        );
        let r: FaultRule = "latency=20ms".parse().unwrap();
        assert_eq!(r.kind, FaultKind::Latency(Duration::from_millis(20)));
        assert!("bogus=1".parse::<FaultRule>().is_err());
        assert!("error=2".parse::<FaultRule>().is_err());
    }

    #[test]
    fn dice_are_deterministic_by_seed() {
        let run = || {
            let f = Faults::new(vec!["error=0.3".parse().unwrap()], 7);
            (0..100)
                .map(|_| f.api_fault("media", "list", 0).is_some())
                .collect::<Vec<_>>()
        };
        let a = run();
        assert_eq!(a, run());
        let hits = a.iter().filter(|x| **x).count();
        assert!((15..=45).contains(&hits), "{hits}");
    }
}
