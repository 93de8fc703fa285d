//! What went wrong, as one line for the user and an exit code. Every message says what was wrong
//! and what to do; none carries a secret or a KS.

use archiver::selection::{Filter, SelectionError};
use archiver::ErrorKind;

use crate::exit;

/// A failed command.
#[derive(Debug)]
pub enum Failure {
    /// Bad input; exit 2.
    Usage(String),
    /// Kaltura refused or failed; exit 3.
    Kaltura(String),
    /// An entry named on the command line does not exist; exit 4.
    NotFound(String),
    /// Writing the results failed; exit 1.
    Output(String),
    /// The archive store refused or failed; exit 5.
    Store(String),
    /// The work failed as a whole for another reason (a refused or inconsistent step); exit 1.
    Failed(String),
    /// The reader of the output went away (`| head`): not an error; exit 0.
    BrokenPipe,
}

impl Failure {
    /// The exit code.
    pub fn exit_code(&self) -> i32 {
        match self {
            Failure::Usage(_) => exit::USAGE,
            Failure::Kaltura(_) => exit::KALTURA,
            Failure::NotFound(_) => exit::NOT_FOUND,
            Failure::Output(_) | Failure::Failed(_) => exit::ENTRY_FAILURES,
            Failure::Store(_) => exit::STORE,
            Failure::BrokenPipe => exit::SUCCESS,
        }
    }

    /// The message.
    pub fn message(&self) -> &str {
        match self {
            Failure::Usage(m)
            | Failure::Kaltura(m)
            | Failure::NotFound(m)
            | Failure::Output(m)
            | Failure::Store(m)
            | Failure::Failed(m) => m,
            Failure::BrokenPipe => "the output was closed",
        }
    }

    /// Explains a Kaltura error for the service at `url`.
    pub fn kaltura(e: &kaltura::Error, url: &str, partner: i64) -> Failure {
        use kaltura::Error as E;
        let inner = match e {
            E::RetriesExhausted { last, .. } => last.as_ref(),
            other => other,
        };
        let msg = match inner {
            E::Api { code, .. } if code == "START_SESSION_ERROR" => format!(
                "Kaltura at {url} refused to start a session for partner {partner} (START_SESSION_ERROR): check KALTURA_PARTNERID and KALTURA_SECRET (the admin secret)"
            ),
            E::Transport { detail, .. } if detail.starts_with("TLS failed") => {
                let host = url.split("://").nth(1).unwrap_or(url).split('/').next().unwrap_or(url);
                format!(
                    "TLS with {host} failed: {}; if this Kaltura's certificate comes from a private certificate authority, set KALTURA_CA_BUNDLE to that authority's PEM file",
                    detail.trim_start_matches("TLS failed").trim().trim_start_matches('(').trim_end_matches(')')
                )
            }
            E::Transport { detail, .. } => format!(
                "cannot reach Kaltura at {url}: {detail}; check KALTURA_SERVICE_URL and the network"
            ),
            E::Http { status, .. } => format!(
                "Kaltura at {url} answered HTTP {status} (after retries); try again later, or check KALTURA_SERVICE_URL"
            ),
            E::Decode { detail, .. } => format!(
                "the service at {url} does not answer like the Kaltura API ({detail}); check KALTURA_SERVICE_URL"
            ),
            E::Config(m) => return Failure::Usage(m.clone()),
            other => format!("{other}"),
        };
        Failure::Kaltura(msg)
    }

    /// Explains a selection error.
    pub fn selection(e: SelectionError, url: &str, partner: i64) -> Failure {
        match e {
            SelectionError::Invalid { filter, reason } => {
                Failure::Usage(format!("{}: {reason}", option_of(filter)))
            }
            SelectionError::UnknownEntry(id) => Failure::NotFound(format!(
                "entry {id} does not exist in partner {partner} (deleted, or a typo in the id?); remove it from the selection"
            )),
            SelectionError::Kaltura(k) => Failure::kaltura(&k, url, partner),
            other => Failure::Kaltura(other.to_string()),
        }
    }

    /// Explains a domain error; Kaltura's for the service at `url`.
    pub fn domain(e: archiver::Error, url: &str, partner: i64) -> Failure {
        match e {
            archiver::Error::Kaltura(k) => Failure::kaltura(&k, url, partner),
            archiver::Error::Selection(s) => Failure::selection(s, url, partner),
            other => Failure::from(other),
        }
    }
}

/// The command-line option of a selection filter.
fn option_of(filter: Filter) -> &'static str {
    match filter {
        Filter::EntryIds => "--id / --id-file",
        Filter::Tags => "--tag",
        Filter::Categories => "--category",
        Filter::PlaysBelow => "--plays-below",
        Filter::CreatedWithin => "--created-within",
        Filter::CreatedBefore => "--created-before",
        Filter::PlayedWithin => "--played-within",
        Filter::UnplayedFor => "--unplayed-for",
        Filter::MaxEntries => "--max-entries",
    }
}

/// A domain error whose Kaltura part needs no service URL to explain.
impl From<archiver::Error> for Failure {
    fn from(e: archiver::Error) -> Self {
        let m = e.to_string();
        match e.kind() {
            ErrorKind::Invalid => Failure::Usage(m),
            ErrorKind::Kaltura => Failure::Kaltura(m),
            ErrorKind::Store => Failure::Store(m),
            ErrorKind::NotFound => Failure::NotFound(m),
            ErrorKind::Transfer
            | ErrorKind::Refused
            | ErrorKind::Inconsistent
            | ErrorKind::Mail => Failure::Failed(m),
        }
    }
}

impl From<archiver::store::Error> for Failure {
    fn from(e: archiver::store::Error) -> Self {
        match e {
            archiver::store::Error::Invalid(m) => Failure::Usage(m),
            other => Failure::Store(other.to_string()),
        }
    }
}

impl From<std::io::Error> for Failure {
    fn from(e: std::io::Error) -> Self {
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            return Failure::BrokenPipe;
        }
        Failure::Output(format!("cannot write the results: {e}"))
    }
}
