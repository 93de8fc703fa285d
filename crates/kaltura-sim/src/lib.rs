//! `kaltura-sim`: a Kaltura API v3 simulator that speaks the real wire protocol (JSON and XML),
//! so that the archiver's client and the official Kaltura clients work against it.
//!
//! It holds one partner in memory — entries, flavors with deterministic generated content,
//! upload tokens, sessions — reproduces the service's traps (paging caps, kilobyte sizes,
//! NO_CONTENT after the last flavor is deleted, tag normalisation, relative times, `INVALID_KS`
//! for expired sessions, …), lets conversion take time, and injects latency and faults on demand.
//! Test control endpoints live under `/sim/` (see [`control`]).
//!
//! ```no_run
//! # async fn demo() -> anyhow::Result<()> {
//! let server = kaltura_sim::SimServer::start(kaltura_sim::SimConfig { entries: 100, ..Default::default() }).await?;
//! println!("Kaltura at {}", server.base_url());
//! server.stop().await;
//! # Ok(()) }
//! ```

pub mod api;
pub mod content;
pub mod control;
pub mod error;
pub mod faults;
pub mod filter;
pub mod generate;
pub mod http;
pub mod model;
pub mod params;
pub mod render;
pub mod world;

use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use anyhow::Context;

use crate::api::upload::TokenFile;
use crate::faults::{FaultRule, Faults};
use crate::world::{Settings, World};

/// How to set up a simulated partner.
#[derive(Debug, Clone)]
pub struct SimConfig {
    /// Address to listen on; port 0 picks a free one.
    pub listen: SocketAddr,
    /// Partner id.
    pub partner_id: i64,
    /// Admin secret (for ADMIN sessions).
    pub admin_secret: String,
    /// User secret (for USER sessions).
    pub user_secret: String,
    /// Seed of generated entries, content and fault dice.
    pub seed: u64,
    /// How many entries to generate.
    pub entries: usize,
    /// How long a conversion takes (simulated ms).
    pub conversion_delay_ms: u64,
    /// Partner feature "entry replacement".
    pub replacement_enabled: bool,
    /// Replacements wait for approval.
    pub approval_required: bool,
    /// Plays count only at an analytics refresh (`POST /sim/analytics/refresh`).
    pub analytics_lag: bool,
    /// Maximum KS lifetime (seconds).
    pub ks_max_expiry_secs: i64,
    /// How long a final chunk waits for missing chunks (ms; the real service waits about 45 s).
    pub final_chunk_wait_ms: u64,
    /// Fault rules active from the start.
    pub faults: Vec<FaultRule>,
    /// Where uploaded bytes are kept; a temporary directory when `None`.
    pub spool_dir: Option<PathBuf>,
    /// Compress API responses with gzip when the client accepts it, as some web tiers do.
    pub gzip: bool,
    /// Sizes of generated originals: log-uniform between these byte counts.
    pub flavor_bytes: (u64, u64),
    /// Generated entries are created within this many years before now.
    pub history_years: u32,
}

impl Default for SimConfig {
    fn default() -> Self {
        SimConfig {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            partner_id: 100,
            admin_secret: "sim-admin-secret".into(),
            user_secret: "sim-user-secret".into(),
            seed: 1,
            entries: 0,
            conversion_delay_ms: 0,
            replacement_enabled: true,
            approval_required: false,
            analytics_lag: false,
            ks_max_expiry_secs: 86400,
            final_chunk_wait_ms: 10_000,
            faults: vec![],
            spool_dir: None,
            gzip: false,
            flavor_bytes: (3_000_000, 6_000_000_000),
            history_years: 12,
        }
    }
}

/// The simulator's shared state.
#[derive(Debug)]
pub struct Sim {
    /// The partner.
    pub world: Mutex<World>,
    /// Active faults.
    pub faults: Faults,
    counters: Mutex<BTreeMap<String, u64>>,
    token_files: Mutex<HashMap<String, Arc<tokio::sync::Mutex<TokenFile>>>>,
    config: SimConfig,
    base_url: String,
    spool_dir: PathBuf,
    _spool_guard: Option<tempfile::TempDir>,
}

impl Sim {
    /// Builds the partner for `config`, reachable at `base_url`.
    pub fn new(config: SimConfig, base_url: String) -> anyhow::Result<Self> {
        let (spool_dir, guard) = match &config.spool_dir {
            Some(d) => {
                std::fs::create_dir_all(d)
                    .with_context(|| format!("creating spool directory {}", d.display()))?;
                (d.clone(), None)
            }
            None => {
                let t = tempfile::Builder::new()
                    .prefix("kaltura-sim-spool")
                    .tempdir()
                    .context("creating a spool directory")?;
                (t.path().to_path_buf(), Some(t))
            }
        };
        let sim = Sim {
            world: Mutex::new(Self::fresh_world(&config, &base_url, &spool_dir)),
            faults: Faults::new(config.faults.clone(), config.seed),
            counters: Mutex::new(BTreeMap::new()),
            token_files: Mutex::new(HashMap::new()),
            config,
            base_url,
            spool_dir,
            _spool_guard: guard,
        };
        Ok(sim)
    }

    fn fresh_world(config: &SimConfig, base_url: &str, spool_dir: &std::path::Path) -> World {
        let settings = Settings {
            partner_id: config.partner_id,
            admin_secret: config.admin_secret.clone(),
            user_secret: config.user_secret.clone(),
            seed: config.seed,
            base_url: base_url.to_string(),
            conversion_delay_ms: config.conversion_delay_ms,
            replacement_enabled: config.replacement_enabled,
            approval_required: config.approval_required,
            analytics_lag: config.analytics_lag,
            ks_max_expiry_secs: config.ks_max_expiry_secs,
            final_chunk_wait_ms: config.final_chunk_wait_ms,
            max_parked_chunks: 1000,
            gzip: config.gzip,
            flavor_bytes: config.flavor_bytes,
            history_years: config.history_years,
        };
        let mut world = World::new(settings, spool_dir.to_path_buf());
        generate::ensure_categories(&mut world);
        generate::add_entries(&mut world, config.entries, 0, None);
        world
    }

    /// Throws the partner away and generates it again from the configuration; counters, faults
    /// and sessions are reset too.
    pub fn reset(&self) {
        *self.world.lock().expect("world lock") =
            Self::fresh_world(&self.config, &self.base_url, &self.spool_dir);
        self.counters.lock().expect("counters lock").clear();
        self.token_files.lock().expect("token lock").clear();
        self.faults.set(self.config.faults.clone());
    }

    /// Counts one call of `name` (`service.action`, `http.<route>`).
    pub fn count(&self, name: &str) {
        *self
            .counters
            .lock()
            .expect("counters lock")
            .entry(name.to_string())
            .or_insert(0) += 1;
    }

    /// The call counters.
    pub fn counters(&self) -> BTreeMap<String, u64> {
        self.counters.lock().expect("counters lock").clone()
    }

    /// Resets the call counters.
    pub fn reset_counters(&self) {
        self.counters.lock().expect("counters lock").clear();
    }

    /// Ids of the READY entries that lists can show (any moderation status, not hidden as SYSTEM
    /// or RECYCLED): what a complete walk with a READY status filter must return.
    pub fn ready_visible_ids(&self) -> std::collections::HashSet<String> {
        let w = self.world.lock().expect("world lock");
        w.entries
            .iter()
            .filter(|e| e.status == model::entry_status::READY && e.display_in_search >= 0)
            .map(|e| e.id.clone())
            .collect()
    }

    /// The byte state of an upload token.
    pub fn token_file(&self, id: &str) -> Arc<tokio::sync::Mutex<TokenFile>> {
        self.token_files
            .lock()
            .expect("token lock")
            .entry(id.to_string())
            .or_default()
            .clone()
    }

    /// The configuration the partner was built from.
    pub fn config(&self) -> &SimConfig {
        &self.config
    }
}

/// A running simulator.
#[derive(Debug)]
pub struct SimServer {
    addr: SocketAddr,
    sim: Arc<Sim>,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<()>,
}

impl SimServer {
    /// Generates the partner and starts serving it on `config.listen`.
    pub async fn start(config: SimConfig) -> anyhow::Result<Self> {
        let listener = tokio::net::TcpListener::bind(config.listen)
            .await
            .with_context(|| format!("binding {}", config.listen))?;
        let addr = listener.local_addr().context("reading the bound address")?;
        let sim = Arc::new(Sim::new(config, format!("http://{addr}"))?);
        let app = http::router(sim.clone());
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app)
                .with_graceful_shutdown(async {
                    let _ = rx.await;
                })
                .await;
        });
        Ok(SimServer {
            addr,
            sim,
            shutdown: Some(tx),
            task,
        })
    }

    /// `http://127.0.0.1:PORT` — the service URL to give a Kaltura client (no `/api_v3`).
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Direct access to the simulator state (tests).
    pub fn sim(&self) -> &Arc<Sim> {
        &self.sim
    }

    /// Stops serving.
    pub async fn stop(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        self.task.abort();
        let _ = (&mut self.task).await;
    }

    /// Serves until the process is interrupted.
    pub async fn wait(self) {
        let _ = self.task.await;
    }
}
