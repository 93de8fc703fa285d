//! The domain's errors: a kind a front end maps to an exit code, the message a person acts on,
//! and the source kept (Kaltura's error, the store's, an I/O error).

use crate::selection::SelectionError;

/// What failed; a front end decides the exit code by it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// Kaltura refused or could not be reached.
    Kaltura,
    /// The archive store refused or could not be reached.
    Store,
    /// Bytes in transit failed (a download or upload stream broke).
    Transfer,
    /// A safety check refused a destructive step; nothing was changed.
    Refused,
    /// What Kaltura or the store holds breaks a promise (a copy that does not verify, a
    /// placeholder served as an original).
    Inconsistent,
    /// Bad input: a setting, file or filter.
    Invalid,
    /// An entry named by id does not exist.
    NotFound,
    /// A notice could not be sent (the mail server or SES refused or could not be reached).
    Mail,
}

/// An error of the domain.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Kaltura failed.
    #[error(transparent)]
    Kaltura(#[from] kaltura::Error),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] crate::store::Error),
    /// A selection could not be made.
    #[error(transparent)]
    Selection(#[from] SelectionError),
    /// A byte stream failed.
    #[error(transparent)]
    Transfer(#[from] std::io::Error),
    /// A notice could not be sent.
    #[error(transparent)]
    Mail(#[from] crate::notice::mail::MailError),
    /// A safety check refused; the message says what and what to do.
    #[error("{0}")]
    Refused(String),
    /// A broken promise; the message says what was found.
    #[error("{0}")]
    Inconsistent(String),
    /// Bad input; the message says what to change.
    #[error("{0}")]
    Invalid(String),
    /// What was being done when `source` happened.
    #[error("{context}: {source}")]
    Context {
        /// What was being done.
        context: String,
        /// What happened.
        #[source]
        source: Box<Error>,
    },
}

impl ErrorKind {
    /// The kind in a word, for machines.
    pub fn name(self) -> &'static str {
        match self {
            ErrorKind::Kaltura => "kaltura",
            ErrorKind::Store => "store",
            ErrorKind::Transfer => "transfer",
            ErrorKind::Refused => "refused",
            ErrorKind::Inconsistent => "inconsistent",
            ErrorKind::Invalid => "invalid",
            ErrorKind::NotFound => "not-found",
            ErrorKind::Mail => "mail",
        }
    }
}

impl Error {
    /// The kind, looking through context.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Error::Kaltura(_) => ErrorKind::Kaltura,
            Error::Store(crate::store::Error::Invalid(_)) => ErrorKind::Invalid,
            Error::Store(_) => ErrorKind::Store,
            Error::Selection(SelectionError::Invalid { .. }) => ErrorKind::Invalid,
            Error::Selection(SelectionError::UnknownEntry(_)) => ErrorKind::NotFound,
            Error::Selection(_) => ErrorKind::Kaltura,
            Error::Transfer(_) => ErrorKind::Transfer,
            Error::Mail(_) => ErrorKind::Mail,
            Error::Refused(_) => ErrorKind::Refused,
            Error::Inconsistent(_) => ErrorKind::Inconsistent,
            Error::Invalid(_) => ErrorKind::Invalid,
            Error::Context { source, .. } => source.kind(),
        }
    }

    /// This error with what was being done in front.
    pub fn context(self, context: impl Into<String>) -> Error {
        Error::Context {
            context: context.into(),
            source: Box::new(self),
        }
    }
}

/// A result of the domain.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Adds what was being done to an error.
pub trait Context<T> {
    /// With a fixed text.
    fn context(self, context: impl Into<String>) -> Result<T>;
    /// With a text made only on failure.
    fn with_context<S: Into<String>>(self, f: impl FnOnce() -> S) -> Result<T>;
}

impl<T, E: Into<Error>> Context<T> for std::result::Result<T, E> {
    fn context(self, context: impl Into<String>) -> Result<T> {
        self.map_err(|e| e.into().context(context))
    }

    fn with_context<S: Into<String>>(self, f: impl FnOnce() -> S) -> Result<T> {
        self.map_err(|e| e.into().context(f()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn context_keeps_the_kind_and_the_message_reads_outside_in() {
        let e: Result<()> = Err(Error::Refused("the copy is gone".into()));
        let e = e.context("replacing 0_abcd1234").unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Refused);
        assert_eq!(e.to_string(), "replacing 0_abcd1234: the copy is gone");
        let io: std::result::Result<(), std::io::Error> =
            Err(std::io::Error::other("connection reset"));
        let e = io.with_context(|| "reading flavor 0_f v1").unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Transfer);
        assert!(std::error::Error::source(&e).is_some());
    }
}
