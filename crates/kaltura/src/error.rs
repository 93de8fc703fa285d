//! Errors of the Kaltura client, classified once: what is retried, what renews the session, what
//! is final. Messages never contain the secret or the KS.

use std::collections::BTreeMap;
use std::time::Duration;

/// API error codes that mean "try again later" (kaltura-api.md §11).
const TRANSIENT_CODES: &[&str] = &[
    "INTERNAL_SERVERL_ERROR",
    "INTERNAL_SERVER_ERROR",
    "INTERNAL_DATABASE_ERROR",
    "LOCK_TIMED_OUT",
    "ACTION_BLOCKED",
    "UPLOAD_TOKEN_CANNOT_MATCH_EXPECTED_SIZE",
];

/// A failed Kaltura call.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Kaltura answered with an API exception (`KalturaAPIException`).
    #[error("Kaltura {action} failed: {code}: {message}")]
    Api {
        /// `service.action`.
        action: String,
        /// Error code, e.g. `ENTRY_ID_NOT_FOUND`.
        code: String,
        /// Message from the service.
        message: String,
        /// Arguments of the error.
        args: BTreeMap<String, String>,
    },
    /// The service answered with an HTTP error and no Kaltura body (proxy, outage).
    #[error("Kaltura {action}: the service answered HTTP {status}")]
    Http {
        /// `service.action`.
        action: String,
        /// HTTP status.
        status: u16,
    },
    /// The service could not be reached, or the connection broke.
    #[error("Kaltura {action}: could not reach {url}: {detail}")]
    Transport {
        /// `service.action`.
        action: String,
        /// Service URL (carries no secret).
        url: String,
        /// What went wrong.
        detail: String,
    },
    /// The answer was not what the API returns.
    #[error("Kaltura {action}: unexpected response: {detail}")]
    Decode {
        /// `service.action`.
        action: String,
        /// What did not fit.
        detail: String,
    },
    /// A transient failure persisted through every retry.
    #[error("Kaltura {action}: gave up after {attempts} attempts in {:.1} s: {last}", elapsed.as_secs_f64())]
    RetriesExhausted {
        /// `service.action`.
        action: String,
        /// Attempts made.
        attempts: u32,
        /// Time spent.
        elapsed: Duration,
        /// The last failure.
        last: Box<Error>,
    },
    /// The client settings are unusable.
    #[error("{0}")]
    Config(String),
}

impl Error {
    /// The Kaltura error code, for API errors (also behind exhausted retries).
    pub fn code(&self) -> Option<&str> {
        match self {
            Error::Api { code, .. } => Some(code),
            Error::RetriesExhausted { last, .. } => last.code(),
            _ => None,
        }
    }

    /// Whether repeating the same call later may succeed: HTTP 5xx/429/408, broken connections,
    /// and the transient API codes.
    pub fn is_transient(&self) -> bool {
        match self {
            Error::Api { code, .. } => TRANSIENT_CODES.contains(&code.as_str()),
            Error::Http { status, .. } => *status >= 500 || *status == 429 || *status == 408,
            Error::Transport { .. } => true,
            _ => false,
        }
    }

    /// Whether the service asks us to slow down.
    pub fn is_throttled(&self) -> bool {
        self.code() == Some("ACTION_BLOCKED") || matches!(self, Error::Http { status: 429, .. })
    }

    /// Whether the session is no longer valid (expired, ended, or unknown).
    pub fn is_invalid_session(&self) -> bool {
        self.code() == Some("INVALID_KS")
    }
}

/// Result of a Kaltura call.
pub type Result<T> = std::result::Result<T, Error>;
