//! The `kaltura-sim` binary: serves a generated Kaltura partner on a local port.

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use clap::Parser;
use kaltura_sim::faults::FaultRule;
use kaltura_sim::{SimConfig, SimServer};
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;

/// A Kaltura API v3 simulator for tests, benchmarks and demos. Point a Kaltura client's service
/// URL at the printed address (no /api_v3 suffix). Control endpoints live under /sim/.
#[derive(Debug, Parser)]
#[command(version)]
struct Args {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1")]
    host: IpAddr,
    /// Port to listen on (0 picks a free one).
    #[arg(long, default_value_t = 0)]
    port: u16,
    /// Partner id.
    #[arg(long, default_value_t = 100)]
    partner_id: i64,
    /// Admin secret accepted by session.start (type 2).
    #[arg(long, default_value = "sim-admin-secret")]
    admin_secret: String,
    /// User secret accepted by session.start (type 0).
    #[arg(long, default_value = "sim-user-secret")]
    user_secret: String,
    /// Number of entries to generate.
    #[arg(long, default_value_t = 1000)]
    entries: usize,
    /// Seed of the generated partner, its content and the fault dice.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Fault rule, repeatable: [service.action:]NAME=VALUE with NAME one of latency (e.g. 20ms),
    /// http5xx, drop, error, lock (probabilities 0..1), rate (calls/s), ks_calls (calls per KS),
    /// index_lag (e.g. 5s), convert_error (probability).
    #[arg(long = "fault", value_name = "RULE")]
    faults: Vec<FaultRule>,
    /// Conversion time after addContent/updateContent, in ms.
    #[arg(long, default_value_t = 3000)]
    conversion_delay_ms: u64,
    /// Replacements wait for media.approveReplace.
    #[arg(long)]
    approval_required: bool,
    /// Switch the partner's entry-replacement feature off (updateContent ⇒ FEATURE_FORBIDDEN).
    #[arg(long)]
    no_replacement: bool,
    /// Plays count only at POST /sim/analytics/refresh.
    #[arg(long)]
    analytics_lag: bool,
    /// Maximum KS lifetime in seconds.
    #[arg(long, default_value_t = 86400)]
    ks_max_expiry: i64,
    /// Compress API responses with gzip for clients that send Accept-Encoding: gzip.
    #[arg(long)]
    gzip: bool,
    /// Smallest generated original, in bytes.
    #[arg(long, default_value_t = 3_000_000)]
    min_flavor_bytes: u64,
    /// Largest generated original, in bytes.
    #[arg(long, default_value_t = 6_000_000_000)]
    max_flavor_bytes: u64,
    /// Generated entries are created within this many years.
    #[arg(long, default_value_t = 12)]
    years: u32,
    /// Directory for uploaded bytes (a temporary one by default).
    #[arg(long)]
    spool_dir: Option<PathBuf>,
    /// Bandwidth of each flavor download in megabits per second (e.g. 320 = 40 MB/s, a CDN
    /// stream) [default: unshaped]. Per-call latency is a fault rule: --fault latency=20ms.
    #[arg(long)]
    download_mbps: Option<f64>,
    /// Bandwidth of each upload call in megabits per second [default: unshaped].
    #[arg(long)]
    upload_mbps: Option<f64>,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .init();
    let a = Args::parse();
    let config = SimConfig {
        listen: SocketAddr::new(a.host, a.port),
        partner_id: a.partner_id,
        admin_secret: a.admin_secret,
        user_secret: a.user_secret,
        seed: a.seed,
        entries: a.entries,
        conversion_delay_ms: a.conversion_delay_ms,
        replacement_enabled: !a.no_replacement,
        approval_required: a.approval_required,
        analytics_lag: a.analytics_lag,
        ks_max_expiry_secs: a.ks_max_expiry,
        faults: a.faults,
        spool_dir: a.spool_dir,
        gzip: a.gzip,
        flavor_bytes: (a.min_flavor_bytes, a.max_flavor_bytes),
        history_years: a.years,
        download_mbps: a.download_mbps,
        upload_mbps: a.upload_mbps,
        ..SimConfig::default()
    };
    let (pid, n) = (config.partner_id, config.entries);
    let server = SimServer::start(config).await?;
    println!("{}", server.base_url());
    eprintln!(
        "kaltura-sim: partner {pid} with {n} entries at {} (control: {}/sim/state)",
        server.base_url(),
        server.base_url()
    );
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = server.wait() => {}
    }
    Ok(())
}
