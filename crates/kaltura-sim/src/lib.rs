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
pub mod config;
pub mod content;
pub mod control;
pub mod declared;
pub mod error;
pub mod faults;
pub mod filter;
pub mod generate;
pub mod http;
pub mod model;
pub mod params;
pub mod render;
pub mod shaping;
pub mod spool;
pub mod wire;
pub mod world;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use anyhow::Context;

pub use crate::config::SimConfig;
use crate::faults::Faults;
use crate::spool::{Spool, TokenFile};
use crate::world::World;

/// The simulator's shared state.
#[derive(Debug)]
pub struct Sim {
    /// The partner.
    pub world: Mutex<World>,
    /// Active faults.
    pub faults: Faults,
    counters: Mutex<BTreeMap<String, u64>>,
    spool: Spool,
    config: SimConfig,
    base_url: String,
}

impl Sim {
    /// Builds the partner for `config`, reachable at `base_url`.
    pub fn new(config: SimConfig, base_url: String) -> anyhow::Result<Self> {
        let spool = Spool::new(config.spool_dir.as_deref())?;
        let sim = Sim {
            world: Mutex::new(Self::fresh_world(&config, &base_url, spool.dir())),
            faults: Faults::new(config.faults.clone(), config.seed),
            counters: Mutex::new(BTreeMap::new()),
            spool,
            config,
            base_url,
        };
        Ok(sim)
    }

    fn fresh_world(config: &SimConfig, base_url: &str, spool_dir: &std::path::Path) -> World {
        let mut world = World::new(config.clone(), base_url, spool_dir.to_path_buf());
        generate::ensure_categories(&mut world);
        generate::add_entries(&mut world, config.entries, 0, None);
        world
    }

    /// Throws the partner away and generates it again from the configuration; counters, faults
    /// and sessions are reset too.
    pub fn reset(&self) {
        *self.world.lock().expect("world lock") =
            Self::fresh_world(&self.config, &self.base_url, self.spool.dir());
        self.counters.lock().expect("counters lock").clear();
        self.spool.clear();
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
        self.spool.token_file(id)
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
