//! `demo`: the whole story on this machine in one command — a simulated Kaltura partner started
//! in-process, a local-directory archive, and count, archive, replace, plays, restore and health
//! run through the same engine the real commands use.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Instant;

use archiver::context::{Mode, Settings};
use archiver::engine::Command;
use archiver::outcome::Summary;
use archiver::placeholder::{Placeholders, DEFAULT};
use archiver::policy;
use archiver::store::local::LocalStore;
use archiver::store::StorageClass;
use kaltura_sim::{SimConfig, SimServer};

use crate::args::DemoArgs;
use crate::commands::Kaltura;
use crate::exit;
use crate::failure::Failure;
use crate::open::{opened, Opened};
use crate::run::execute;

/// Prints a line of the story; a closed stdout (`| head`) only ends the output.
macro_rules! say {
    ($($t:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stdout(), $($t)*);
    }};
}

const SECRET: &str = "demo-admin-secret";
const PARTNER: i64 = 100;

/// The story's steps share the simulator, the archive and the settings.
struct Story {
    sim: SimServer,
    store: Arc<LocalStore>,
    kaltura: Kaltura,
    years: f64,
    started: Instant,
}

impl Story {
    fn open(&self, execute_mode: bool, name: &str) -> Opened {
        let kaltura = self.kaltura.clone();
        let settings = Settings {
            jobs: 8,
            years: self.years,
            storage_class: StorageClass::Standard,
            poll_every: std::time::Duration::from_millis(500),
            ..Settings::default()
        };
        opened(
            kaltura,
            self.store.clone(),
            Placeholders::new(DEFAULT.to_vec()),
            settings,
            Mode::from_execute(execute_mode),
            name,
            archiver::time::now(),
        )
    }

    /// Runs one command by policy; returns its summary and the ids whose outcome was `done`.
    async fn step(
        &self,
        title: &str,
        command: Command,
        execute_mode: bool,
    ) -> Result<(Summary, BTreeSet<String>), Failure> {
        let o = self.open(execute_mode, command.name());
        let began = Instant::now();
        say!("[{:>5.1} s] {title}", self.started.elapsed().as_secs_f64());
        let select = policy::selection(command, self.years);
        let mut done = BTreeSet::new();
        let summary = execute(&o, command, &select, |r| {
            if r.outcome.name() == "done" {
                done.insert(r.entry.0.clone());
            }
        })
        .await?;
        if execute_mode {
            let _ = o.ctx.journal.finish(o.store.as_ref()).await;
        }
        say!(
            "          {summary} ({:.1} s)",
            began.elapsed().as_secs_f64()
        );
        Ok((summary, done))
    }
}

/// The report page of the story, written beside the system's temporary files (it outlives a
/// temporary archive).
async fn demo_report(story: &Story) -> Result<std::path::PathBuf, Failure> {
    let prices = crate::report::prices(&crate::args::PriceArgs {
        kaltura_price: None,
        prices: Vec::new(),
    })?;
    let data = crate::report::gather(
        &story.kaltura,
        story.store.as_ref(),
        prices,
        archiver::store::StorageClass::Standard,
        archiver::time::now(),
    )
    .await?;
    let path = std::env::temp_dir().join("kaltura-archiver-demo-report.html");
    std::fs::write(&path, crate::report::html(&data)?)
        .map_err(|e| Failure::Output(format!("cannot write {}: {e}", path.display())))?;
    Ok(path)
}

fn archive_bytes(root: &std::path::Path) -> (u64, u64) {
    let (mut files, mut bytes) = (0, 0);
    if let Ok(rd) = std::fs::read_dir(root) {
        for e in rd.flatten() {
            let name = e.file_name().to_string_lossy().to_string();
            let is_copy = e.path().is_file() && !name.ends_with(".json");
            if is_copy {
                files += 1;
                bytes += e.metadata().map(|m| m.len()).unwrap_or(0);
            }
        }
    }
    (files, bytes)
}

/// `demo`.
pub async fn demo(a: &DemoArgs) -> Result<i32, Failure> {
    let started = Instant::now();
    let sim = SimServer::start(SimConfig {
        partner_id: PARTNER,
        admin_secret: SECRET.into(),
        entries: a.entries as usize,
        seed: 7,
        history_years: 8,
        flavor_bytes: (50_000, 4_000_000),
        conversion_delay_ms: 300,
        ..SimConfig::default()
    })
    .await
    .map_err(|e| Failure::Usage(format!("cannot start the simulator: {e:#}")))?;
    let (dir, _temp) = match &a.dir {
        Some(d) => (d.clone(), None),
        None => {
            let t = tempfile::Builder::new()
                .prefix("kaltura-archiver-demo")
                .tempdir()
                .map_err(|e| Failure::Usage(format!("cannot create a temporary directory: {e}")))?;
            (t.path().join("archive"), Some(t))
        }
    };
    let store = Arc::new(LocalStore::new(dir.clone())?);
    let client = kaltura::Client::builder()
        .with_service_url(sim.base_url())
        .with_partner_id(PARTNER)
        .with_secret(SECRET.to_string().into())
        .build()
        .map_err(|e| Failure::Usage(e.to_string()))?;
    let story = Story {
        kaltura: Kaltura {
            client,
            url: sim.base_url(),
            partner: PARTNER,
        },
        sim,
        store,
        years: 3.0,
        started,
    };
    say!(
        "A simulated Kaltura partner with {} entries created over 8 years runs at {};\nthe archive is the local directory {}. Policy: archive and replace what nobody played for 3 years.\n",
        a.entries,
        story.sim.base_url(),
        dir.display()
    );
    let (dry, _) = story
        .step(
            "archive, dry run (the default): what would be archived",
            Command::Archive,
            false,
        )
        .await?;
    let (archived, _) = story
        .step(
            "archive --execute: stream each original into the archive, verify, tag archived_to_s3",
            Command::Archive,
            true,
        )
        .await?;
    let (files, bytes) = archive_bytes(&dir);
    say!(
        "          the archive holds {files} verified copies, {:.1} MB",
        bytes as f64 / 1e6
    );
    let (replaced, replaced_ids) = story
        .step(
            "replace --execute: swap in the 34 KB placeholder video, tag flavors_deleted",
            Command::Replace,
            true,
        )
        .await?;
    let played: Vec<String> = replaced_ids.iter().take(10).cloned().collect();
    {
        let mut w = story.sim.sim().world.lock().expect("simulator");
        let now = w.now();
        for id in &played {
            let _ = w.record_play(id, now);
        }
    }
    say!(
        "[{:>5.1} s] 10 viewers play a placeholder (Kaltura records lastPlayedAt)",
        started.elapsed().as_secs_f64()
    );
    let (restored, _) = story
        .step(
            "restore --execute: stream the archived originals back into Kaltura",
            Command::Restore,
            true,
        )
        .await?;
    let (health, _) = story
        .step(
            "health: every entry's state and any anomaly",
            Command::Health,
            false,
        )
        .await?;
    let page = demo_report(&story).await?;
    say!(
        "[{:>5.1} s] report: the page for those who pay for Kaltura, {}\n          open it in a browser: file://{}",
        started.elapsed().as_secs_f64(),
        "with charts of the library, savings, restores and runs",
        page.display()
    );
    let failures =
        archived.failures() + replaced.failures() + restored.failures() + health.failures();
    say!(
        "\nIn {:.1} s: {} planned in the dry run, {} archived, {} replaced, {} restored after a play; health: {} entries, {} anomalies.",
        started.elapsed().as_secs_f64(),
        dry.outcomes.get("planned").copied().unwrap_or(0),
        archived.outcomes.get("done").copied().unwrap_or(0),
        replaced.outcomes.get("done").copied().unwrap_or(0),
        restored.outcomes.get("done").copied().unwrap_or(0),
        health.total(),
        health.failures()
    );
    let example = played.first().cloned().unwrap_or_default();
    let exports = format!(
        "export KALTURA_SERVICE_URL={} KALTURA_PARTNERID={PARTNER} KALTURA_SECRET={SECRET} ARCHIVE_DIR={}",
        story.sim.base_url(),
        dir.display()
    );
    if a.serve {
        say!(
            "\nThe simulator keeps running (Ctrl-C stops it). In another terminal:\n  {exports}\n  cargo run -p kaltura-archiver -- explain {example}\n  cargo run -p kaltura-archiver -- list --tag flavors_deleted\n  cargo run -p kaltura-archiver -- stats --policy\n  cargo run -p kaltura-archiver -- health --format json"
        );
        let _ = tokio::signal::ctrl_c().await;
    } else {
        say!(
            "\nTry next: `demo --serve` keeps the simulator running so you can use every command against it\n(explain {example}, list, stats, health); `cargo run --release -p kaltura-sim` starts one on its own;\nthe README shows how to point the tool at a real partner and bucket."
        );
    }
    story.sim.stop().await;
    Ok(if failures > 0 {
        exit::ENTRY_FAILURES
    } else {
        exit::SUCCESS
    })
}
