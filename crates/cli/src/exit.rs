//! Exit codes, one meaning each.

/// Everything worked.
pub const SUCCESS: i32 = 0;
/// The command ran, but some entries failed (see the per-entry output).
pub const ENTRY_FAILURES: i32 = 1;
/// Bad input: flags, environment, filter values or an id file. Fix the command line.
pub const USAGE: i32 = 2;
/// Kaltura refused or could not be reached. Check credentials, service URL and network.
pub const KALTURA: i32 = 3;
/// An entry named on the command line does not exist.
pub const NOT_FOUND: i32 = 4;
/// The archive store (bucket or directory) refused or could not be reached.
pub const STORE: i32 = 5;
/// Stopped by SIGTERM or Ctrl-C: the journal holds what was done; the next run finishes the rest.
pub const INTERRUPTED: i32 = 6;
