//! Command-line errors in one line: what was wrong, the values that would do, and — when the
//! value came from the environment rather than the command line — the variable that held it, so a
//! scheduled task's log names the setting to fix.

use std::ffi::OsString;

use clap::error::{ContextKind, ErrorKind};
use clap::CommandFactory;

use crate::args::Cli;

/// The environment variable behind `--long`, in any command, if it has one.
fn env_of(long: &str) -> Option<String> {
    fn find(cmd: &clap::Command, long: &str) -> Option<String> {
        cmd.get_arguments()
            .find(|a| a.get_long() == Some(long))
            .and_then(|a| a.get_env())
            .map(|e| e.to_string_lossy().into_owned())
            .or_else(|| cmd.get_subcommands().find_map(|s| find(s, long)))
    }
    find(&Cli::command(), long)
}

/// Whether the command line itself gives `--long` (as `--long V` or `--long=V`).
fn given(argv: &[OsString], long: &str) -> bool {
    let flag = format!("--{long}");
    argv.iter().any(|a| {
        let a = a.to_string_lossy();
        a == flag || a.starts_with(&format!("{flag}="))
    })
}

/// One line for a parse error (help and version are not errors and are not passed here).
pub fn one_line(e: &clap::Error, argv: &[OsString]) -> String {
    let context = |k| e.get(k).map(ToString::to_string);
    let rendered = e.render().to_string();
    let mut line = rendered
        .lines()
        .next()
        .unwrap_or("invalid command line")
        .trim_start_matches("error: ")
        .to_string();
    if let Some(valid) = context(ContextKind::ValidValue) {
        line.push_str(&format!("; use one of: {valid}"));
    }
    if let Some(s) =
        context(ContextKind::SuggestedArg).or_else(|| context(ContextKind::SuggestedSubcommand))
    {
        line.push_str(&format!("; did you mean {s}?"));
    }
    let long = context(ContextKind::InvalidArg).and_then(|a| {
        a.split_whitespace()
            .find_map(|w| w.strip_prefix("--"))
            .map(|w| w.trim_end_matches(['<', '>']).to_string())
    });
    if long.as_deref() == Some("execute")
        && matches!(
            e.kind(),
            ErrorKind::InvalidValue | ErrorKind::ValueValidation
        )
    {
        line.push_str("; use true or false (also 1/0, yes/no, on/off)");
    }
    if let Some(long) = long {
        if let Some(var) = env_of(&long) {
            let from_env = std::env::var_os(&var).is_some() && !given(argv, &long);
            if from_env && e.kind() != ErrorKind::ArgumentConflict {
                return format!("{var} (from the environment): {line}");
            }
            if from_env {
                line.push_str(&format!(" ({var} is set in the environment)"));
            }
        }
    }
    let help = match e.kind() {
        ErrorKind::MissingSubcommand | ErrorKind::InvalidSubcommand => "kaltura-archiver --help",
        _ => "--help",
    };
    format!("{line} (see {help})")
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    fn argv(args: &[&str]) -> Vec<OsString> {
        args.iter().map(OsString::from).collect()
    }

    #[test]
    fn a_bad_flag_value_is_one_line_with_the_values_that_would_do() {
        let a = argv(&["kaltura-archiver", "list", "--format", "xml"]);
        let e = Cli::try_parse_from(&a).unwrap_err();
        let line = one_line(&e, &a);
        assert!(!line.contains('\n'), "{line}");
        assert!(
            line.contains("'xml'") && line.contains("tsv, csv, json"),
            "{line}"
        );
    }

    #[test]
    fn a_misspelt_flag_gets_the_right_spelling() {
        let a = argv(&["kaltura-archiver", "archive", "--bukket", "b"]);
        let e = Cli::try_parse_from(&a).unwrap_err();
        let line = one_line(&e, &a);
        assert!(
            line.contains("--bukket") && line.contains("did you mean --bucket?"),
            "{line}"
        );
    }

    #[test]
    fn the_flags_environment_variables_are_found_in_any_command() {
        assert_eq!(env_of("execute").as_deref(), Some("DOIT"));
        assert_eq!(env_of("bucket").as_deref(), Some("AWS_BUCKET"));
        assert_eq!(env_of("no-such-flag"), None);
        assert!(given(&argv(&["x", "--jobs=3"]), "jobs"));
        assert!(!given(&argv(&["x", "--jobsx"]), "jobs"));
    }
}
