//! Helpers shared by the benchmarks: settings from the environment and the peak RSS.
#![allow(dead_code)] // each bench uses its own part

/// A number from the environment, or the default.
pub fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// The peak resident memory of this process so far (VmHWM), in MiB.
pub fn peak_rss_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let kb: f64 = status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0.0);
    kb / 1024.0
}

/// Runs `command` over `selection` with the engine; returns (seconds, entries done). A failed
/// entry stops the benchmark: a number is only worth something if every entry made it.
pub async fn run_command(
    ctx: std::sync::Arc<archiver::context::Ctx>,
    command: archiver::engine::Command,
    selection: &archiver::selection::Selection,
) -> (f64, u64) {
    use archiver::selection::{Flavors, Walker};
    let walker =
        Walker::new(ctx.client.clone(), selection, Flavors::Originals, ctx.now).expect("walker");
    let started = std::time::Instant::now();
    let mut done = 0;
    archiver::engine::run(ctx, walker, command, |r| {
        if r.outcome.name() == "done" {
            done += 1;
        } else if r.outcome.is_failure() {
            panic!("{}: {:?}", r.entry.0, r.outcome);
        }
    })
    .await
    .expect("run");
    (started.elapsed().as_secs_f64(), done)
}

/// A Kaltura client of the simulator's default partner.
pub fn sim_client(sim: &kaltura_sim::SimServer) -> kaltura::Client {
    kaltura::Client::builder()
        .with_service_url(sim.base_url())
        .with_partner_id(100)
        .with_secret("sim-admin-secret".to_string().into())
        .build()
        .expect("client")
}

/// A plain SDK client for an S3 endpoint of the benchmarks (path-style, fixed credentials).
pub fn s3_client(endpoint: &str, key: &str) -> aws_sdk_s3::Client {
    let conf = aws_sdk_s3::config::Builder::new()
        .behavior_version_latest()
        .region(aws_sdk_s3::config::Region::new("us-east-1"))
        .endpoint_url(endpoint)
        .force_path_style(true)
        .credentials_provider(aws_sdk_s3::config::Credentials::new(
            key, key, None, None, "bench",
        ))
        .build();
    aws_sdk_s3::Client::from_conf(conf)
}
