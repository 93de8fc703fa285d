//! What went wrong, as one line for the user and an exit code. Every message says what was wrong
//! and what to do; none carries a secret or a KS.

use archiver::selection::SelectionError;

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
}

impl Failure {
    /// The exit code.
    pub fn exit_code(&self) -> i32 {
        match self {
            Failure::Usage(_) => exit::USAGE,
            Failure::Kaltura(_) => exit::KALTURA,
            Failure::NotFound(_) => exit::NOT_FOUND,
            Failure::Output(_) => exit::ENTRY_FAILURES,
            Failure::Store(_) => exit::STORE,
        }
    }

    /// The message.
    pub fn message(&self) -> &str {
        match self {
            Failure::Usage(m)
            | Failure::Kaltura(m)
            | Failure::NotFound(m)
            | Failure::Output(m)
            | Failure::Store(m) => m,
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
            SelectionError::Invalid(m) => Failure::Usage(m),
            SelectionError::UnknownEntry(id) => Failure::NotFound(format!(
                "entry {id} does not exist in partner {partner} (deleted, or a typo in the id?); remove it from the selection"
            )),
            SelectionError::Kaltura(k) => Failure::kaltura(&k, url, partner),
            other => Failure::Kaltura(other.to_string()),
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
        Failure::Output(format!("cannot write the results: {e}"))
    }
}
