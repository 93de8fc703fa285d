//! How a simulated partner is set up: every switch declared once, read by the world as it is.

use std::net::SocketAddr;
use std::path::PathBuf;

use crate::faults::FaultRule;

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
    /// Bandwidth of each flavor download, megabits per second; unshaped when `None`.
    pub download_mbps: Option<f64>,
    /// Bandwidth of each upload call, megabits per second; unshaped when `None`.
    pub upload_mbps: Option<f64>,
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
            download_mbps: None,
            upload_mbps: None,
        }
    }
}
