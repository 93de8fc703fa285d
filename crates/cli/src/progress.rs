//! Progress on stderr, only when stderr is a terminal (logs and pipes stay clean).

use std::io::{IsTerminal, Write};

/// A one-line progress counter.
pub struct Progress {
    enabled: bool,
    label: &'static str,
}

impl Progress {
    /// A counter for `label` (e.g. "entries").
    pub fn new(label: &'static str) -> Self {
        Progress {
            enabled: std::io::stderr().is_terminal(),
            label,
        }
    }

    /// Shows `done` of `total`.
    pub fn update(&self, done: u64, total: Option<u64>) {
        if self.enabled {
            let total = total.map_or(String::new(), |t| format!(" of {t}"));
            eprint!("\r{done}{total} {} ", self.label);
            let _ = std::io::stderr().flush();
        }
    }

    /// Clears the line.
    pub fn finish(&self) {
        if self.enabled {
            eprint!("\r\x1b[2K");
        }
    }
}
