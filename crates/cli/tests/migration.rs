//! Users of the reference tool keep their scripts: a script in its spellings (`s3copy --s3copy`,
//! `--idfile`, `--unplayed_for`, `--status -1 2 7`, `--mode flavor`, `--tmp`, …) run through
//! `kaltura-archiver` selects and does exactly what the same script in today's spellings does.

mod common;

use common::*;
use kaltura_sim::SimServer;

/// Runs `script` with bash in the environment the tests give the binary, with
/// `kaltura-archiver` on the PATH; returns (stdout, stderr).
async fn run_script(s: &SimServer, a: &Archive, script: &str) -> (String, String) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("job.sh");
    std::fs::write(&path, script).unwrap();
    let bin_dir = std::path::Path::new(env!("CARGO_BIN_EXE_kaltura-archiver"))
        .parent()
        .unwrap()
        .to_path_buf();
    let env = binary(s, a, &[]);
    let mut bash = std::process::Command::new("bash");
    bash.env_clear()
        .envs(env.get_envs().filter_map(|(k, v)| v.map(|v| (k, v))))
        .env("PATH", format!("{}:/usr/bin:/bin", bin_dir.display()))
        .env("IDS", dir.path().join("ids.txt"))
        .current_dir(dir.path())
        .arg("-e")
        .arg(&path);
    let out = tokio::task::spawn_blocking(move || bash.output().unwrap())
        .await
        .unwrap();
    drop(dir);
    assert!(out.status.success(), "{script}: {out:?}");
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn a_script_in_the_reference_tools_spellings_selects_and_does_what_todays_does() {
    // Two identical partners (same seed), one for each spelling.
    let (s_old, s_new) = (sim(60, 31).await, sim(60, 31).await);
    assert_eq!(policy_set(&s_old), policy_set(&s_new), "identical partners");
    let (old_archive, new_archive) = (local_archive(), local_archive());
    let mut policy: Vec<String> = policy_set(&s_old).into_iter().collect();
    policy.sort();
    let ids = policy[..4].join("\n");
    let prelude = format!("printf '%s\\n' '{ids}' > \"$IDS\"\n");

    let old = format!(
        "{prelude}
kaltura-archiver count --status 2 7 --unplayed_for 3 --created_before 3
kaltura-archiver list --mode flavor --status -1 2 7 -u 3 --created_before 3 -M 15
kaltura-archiver list --status 2 --played_within 5 --max_entries -1
kaltura-archiver s3copy --idfile \"$IDS\" --tmp /scratch
kaltura-archiver s3copy --s3copy -I \"$IDS\" --tmp /scratch
kaltura-archiver health --idfile \"$IDS\"
"
    );
    let new = format!(
        "{prelude}
kaltura-archiver count --status 2,7 --unplayed-for 3 --created-before 3
kaltura-archiver list --flavors --status -1,2,7 --unplayed-for 3 --created-before 3 --max-entries 15
kaltura-archiver list --status 2 --played-within 5
kaltura-archiver archive --id-file \"$IDS\"
kaltura-archiver archive --execute --id-file \"$IDS\"
kaltura-archiver health --id-file \"$IDS\"
"
    );
    let (old_out, old_err) = run_script(&s_old, &old_archive, &old).await;
    let (new_out, new_err) = run_script(&s_new, &new_archive, &new).await;
    // Rows of the changing commands come as entries finish, and each run has its own archive.
    let comparable = |out: &str, a: &Archive| {
        let dir = a.env.iter().find(|(k, _)| k == "ARCHIVE_DIR").unwrap();
        let mut lines: Vec<String> = out
            .replace(&dir.1, "<archive>")
            .lines()
            .map(str::to_string)
            .collect();
        lines.sort();
        lines
    };
    assert_eq!(
        comparable(&old_out, &old_archive),
        comparable(&new_out, &new_archive),
        "the same selections and outcomes"
    );
    assert!(old_out.matches("done").count() >= 4, "{old_out}");
    // Every old spelling is named with its new one; today's spellings get no note.
    for note in [
        "`s3copy` is now `archive`",
        "`--s3copy` is now `--execute`",
        "`--idfile` is now `--id-file`",
        "`--unplayed_for` is now `--unplayed-for`",
        "`--status A B C` is now `--status A,B,C`",
        "`--mode flavor` is now `--flavors`",
        "`--tmp` is not needed any more",
    ] {
        assert!(old_err.contains(note), "{note}: {old_err}");
    }
    assert!(!new_err.contains("note:"), "{new_err}");
    assert_eq!(
        store_dump(old_archive.store.as_ref()).await.len(),
        store_dump(new_archive.store.as_ref()).await.len()
    );
}
