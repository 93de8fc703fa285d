//! The reference tool's spellings (`kaltura_aws.py`), so that its users' scripts keep working:
//! its subcommands, its underscore options and short flags, its per-command "act" flags
//! (`s3copy --s3copy`, `replace_video --replace`, …), its space-separated `--status` list, and
//! the options that no longer mean anything here. The command line is rewritten into today's
//! spelling before it is parsed; each old spelling is named once on stderr with its new one.

use std::collections::BTreeSet;
use std::ffi::OsString;

/// Old subcommand → new one.
const COMMANDS: &[(&str, &str)] = &[
    ("config", "check"),
    ("s3copy", "archive"),
    ("replace_video", "replace"),
    ("restore_from_s3", "restore"),
];

/// Old option → new option (each takes a value where the new one does).
const OPTIONS: &[(&str, &str)] = &[
    ("--idfile", "--id-file"),
    ("-I", "--id-file"),
    ("-i", "--id"),
    ("-t", "--tag"),
    ("-c", "--category"),
    ("--created_within", "--created-within"),
    ("--created_before", "--created-before"),
    ("--played_within", "--played-within"),
    ("-p", "--played-within"),
    ("--unplayed_for", "--unplayed-for"),
    ("-u", "--unplayed-for"),
    ("--max_entries", "--max-entries"),
    ("-M", "--max-entries"),
];

/// Options of the reference tool that only tuned how it worked, with why they are not needed.
/// (name, takes a value, why)
const OBSOLETE: &[(&str, bool, &str)] = &[
    ("--tmp", true, "copies stream without temporary files"),
    (
        "--wait_ready",
        false,
        "every run waits for Kaltura's conversions in batches",
    ),
    (
        "-w",
        false,
        "every run waits for Kaltura's conversions in batches",
    ),
    (
        "--first_page",
        true,
        "the walk pages through every match by itself",
    ),
    ("-f", true, "the walk pages through every match by itself"),
    (
        "--page_size",
        true,
        "pages are always Kaltura's largest (500)",
    ),
    ("-s", true, "pages are always Kaltura's largest (500)"),
];

/// The command line in today's spelling, and one note per old spelling that was rewritten.
pub fn translate(args: Vec<OsString>) -> (Vec<OsString>, Vec<String>) {
    let mut notes = BTreeSet::new();
    let mut out: Vec<OsString> = Vec::with_capacity(args.len());
    let mut command: Option<String> = None;
    let mut it = args.into_iter().peekable();
    if let Some(program) = it.next() {
        out.push(program);
    }
    while let Some(arg) = it.next() {
        let Some(a) = arg.to_str().map(str::to_string) else {
            out.push(arg);
            continue;
        };
        if a == "--" {
            out.push(arg);
            out.extend(it);
            break;
        }
        if command.is_none() && !a.starts_with('-') {
            let new = COMMANDS.iter().find(|(old, _)| *old == a).map(|(_, n)| *n);
            if let Some(n) = new {
                notes.insert(format!("`{a}` is now `{n}`"));
            }
            let name = new.unwrap_or(&a).to_string();
            out.push(name.clone().into());
            command = Some(name);
            continue;
        }
        // The reference's "act" flag of each changing command.
        let acts = match command.as_deref() {
            Some("archive") => a == "--s3copy",
            Some("replace") => a == "--replace",
            Some("restore") => a == "--restore",
            Some("repair") => a == "--repair",
            _ => false,
        };
        if acts {
            notes.insert(format!("`{a}` is now `--execute`"));
            out.push("--execute".into());
            continue;
        }
        if let Some((_, new)) = OPTIONS.iter().find(|(old, _)| *old == a) {
            notes.insert(format!("`{a}` is now `{new}`"));
            // `--max_entries -1` meant no limit, which is the default now.
            if *new == "--max-entries" && it.peek().and_then(|v| v.to_str()) == Some("-1") {
                it.next();
                continue;
            }
            out.push((*new).into());
            continue;
        }
        if let Some((old, takes_value, why)) = OBSOLETE.iter().find(|(old, _, _)| *old == a) {
            notes.insert(format!("`{old}` is not needed any more ({why}); ignored"));
            if *takes_value {
                it.next();
            }
            continue;
        }
        if a == "--mode" || a == "-m" {
            let mode = it.next();
            if mode.as_ref().and_then(|m| m.to_str()) == Some("flavor") {
                notes.insert(format!("`{a} flavor` is now `--flavors`"));
                out.push("--flavors".into());
            } else {
                notes.insert(format!("`{a} video` is the default now; ignored"));
            }
            continue;
        }
        if a == "--loglevel" || a == "-l" {
            let level = it.next();
            let level = level.as_ref().and_then(|l| l.to_str()).unwrap_or("");
            let v = match level.to_ascii_uppercase().as_str() {
                "DEBUG" => Some("-vv"),
                "INFO" => Some("-v"),
                _ => None,
            };
            notes.insert(format!(
                "`{a} {level}` is now `{}`",
                v.unwrap_or("the default")
            ));
            out.extend(v.map(OsString::from));
            continue;
        }
        // `--status -1 2 7`: the reference took the codes as separate words.
        if a == "--status" {
            let mut codes = Vec::new();
            while let Some(next) = it.peek().and_then(|v| v.to_str()) {
                let all_codes =
                    !next.is_empty() && next.split(',').all(|c| c.trim().parse::<i64>().is_ok());
                if !all_codes {
                    break;
                }
                codes.push(next.to_string());
                it.next();
            }
            if codes.len() > 1 {
                notes.insert("`--status A B C` is now `--status A,B,C`".into());
            }
            out.push(arg);
            if !codes.is_empty() {
                out.push(codes.join(",").into());
            }
            continue;
        }
        out.push(arg);
    }
    (out, notes.into_iter().collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(args: &str) -> (String, usize) {
        let args: Vec<OsString> = std::iter::once("ka")
            .chain(args.split_whitespace())
            .map(OsString::from)
            .collect();
        let (out, notes) = translate(args);
        let out: Vec<String> = out[1..]
            .iter()
            .map(|a| a.to_string_lossy().into_owned())
            .collect();
        (out.join(" "), notes.len())
    }

    #[test]
    fn reference_spellings_become_todays_and_each_is_named() {
        assert_eq!(
            t("s3copy --s3copy --idfile ids.txt --tmp /scratch -M 10"),
            (
                "archive --execute --id-file ids.txt --max-entries 10".into(),
                5
            )
        );
        assert_eq!(
            t("replace_video --replace -w --created_before 3 --unplayed_for 2 --max_entries -1"),
            (
                "replace --execute --created-before 3 --unplayed-for 2".into(),
                6
            )
        );
        assert_eq!(
            t("list --mode flavor --status -1 2 7 -t lecture"),
            ("list --flavors --status -1,2,7 --tag lecture".into(), 3)
        );
        assert_eq!(t("-l DEBUG config"), ("-vv check".into(), 2));
    }

    #[test]
    fn todays_spellings_pass_unchanged() {
        for line in [
            "archive --execute --id-file ids.txt --max-entries 10",
            "list --status -1,2 --tag !keep",
            "replace --id 0_abcd1234",
            "run archive --execute",
        ] {
            assert_eq!(t(line), (line.to_string(), 0), "{line}");
        }
    }
}
