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

/// Progress of a changing command on stderr, when stderr is a terminal: entries done of the
/// total, bytes moved, their rate, the ETA and the entries left waiting (conversion, thaw).
/// Rows on stdout are written through [`RunProgress::suspend`] so the bar never cuts them.
pub struct RunProgress {
    bar: Option<indicatif::ProgressBar>,
    bytes: u64,
    waiting: u64,
    failed: u64,
    started: std::time::Instant,
}

impl RunProgress {
    /// A bar for `command` over `total` entries (when known); nothing unless stderr is a
    /// terminal.
    pub fn new(command: &str, total: Option<u64>) -> Self {
        let bar = std::io::stderr().is_terminal().then(|| {
            let bar = indicatif::ProgressBar::with_draw_target(
                total,
                indicatif::ProgressDrawTarget::stderr(),
            );
            let style = indicatif::ProgressStyle::with_template(
                "{prefix} [{bar:24}] {pos}/{len} entries, {msg}, {elapsed} elapsed, ETA {eta}",
            )
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
            .progress_chars("=> ");
            bar.set_style(style);
            bar.set_prefix(command.to_string());
            bar.set_message("starting");
            bar.enable_steady_tick(std::time::Duration::from_millis(250));
            bar
        });
        RunProgress {
            bar,
            bytes: 0,
            waiting: 0,
            failed: 0,
            started: std::time::Instant::now(),
        }
    }

    /// Counts one finished entry.
    pub fn entry(&mut self, r: &archiver::engine::Report) {
        let Some(bar) = &self.bar else { return };
        if r.outcome.name() == "done" {
            self.bytes += r.facts.bytes.unwrap_or(0);
        }
        self.waiting += u64::from(r.outcome.name() == "waiting");
        self.failed += u64::from(r.outcome.is_failure());
        let secs = self.started.elapsed().as_secs_f64().max(0.001);
        bar.inc(1);
        bar.set_message(format!(
            "{} moved at {}/s, {} waiting, {} failed",
            crate::commands::human_bytes(self.bytes),
            crate::commands::human_bytes((self.bytes as f64 / secs) as u64),
            self.waiting,
            self.failed
        ));
    }

    /// Runs `f` (writing a row) with the bar out of the way.
    pub fn suspend<T>(&self, f: impl FnOnce() -> T) -> T {
        match &self.bar {
            Some(bar) => bar.suspend(f),
            None => f(),
        }
    }

    /// Removes the bar.
    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}
