//! The command line: every option declared once, with its environment variable and default.
//! Precedence is flag > environment > default.

use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

/// Archive rarely played Kaltura videos to cheap storage and bring them back when played.
///
/// Every option can also come from the environment variable named in its help; a flag wins over
/// the environment, the environment over the default. Results go to stdout, logs and progress to
/// stderr.
#[derive(Debug, Parser)]
#[command(name = "kaltura-archiver", version, max_term_width = 100)]
pub struct Cli {
    /// Kaltura connection.
    #[command(flatten)]
    pub kaltura: KalturaArgs,
    /// More log output on stderr (-v info, -vv debug).
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    pub verbose: u8,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Where Kaltura is and how to log in.
#[derive(Debug, Args)]
pub struct KalturaArgs {
    /// Kaltura partner id.
    #[arg(long, env = "KALTURA_PARTNERID", global = true)]
    pub partner_id: Option<String>,
    /// Kaltura admin secret (prefer the environment variable: flags show in process lists).
    #[arg(long, env = "KALTURA_SECRET", hide_env_values = true, global = true)]
    pub secret: Option<String>,
    /// User id recorded on the Kaltura session.
    #[arg(
        long,
        env = "KALTURA_USERID",
        default_value = "kaltura-archiver",
        global = true
    )]
    pub user_id: String,
    /// Kaltura service URL, without /api_v3 (SaaS, a regional host, or on-prem).
    #[arg(long, env = "KALTURA_SERVICE_URL", default_value = kaltura::client::DEFAULT_SERVICE_URL, global = true)]
    pub service_url: String,
    /// How long one Kaltura call may keep retrying transient failures, in seconds.
    #[arg(
        long,
        env = "KALTURA_MAX_RETRY_SECONDS",
        default_value_t = 180,
        global = true
    )]
    pub max_retry_seconds: u64,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check the Kaltura login, the bucket when one is configured, and the placeholder video.
    Check(CheckArgs),
    /// Count the selected entries.
    Count(SelectArgs),
    /// List the selected entries (or their flavors).
    List(ListArgs),
    /// Entries and bytes by year, what is archived and replaced, and what the selection would
    /// free in Kaltura with its monthly storage cost per S3 class.
    Stats(StatsArgs),
}

/// `check`.
#[derive(Debug, Args)]
pub struct CheckArgs {
    /// S3 bucket of the archive (credentials, region and endpoint from the standard AWS
    /// environment: AWS_REGION, AWS_ENDPOINT_URL, AWS_ACCESS_KEY_ID, roles, …).
    #[arg(long, env = "AWS_BUCKET")]
    pub bucket: Option<String>,
    /// Placeholder video that replaces archived originals [default: the built-in one].
    #[arg(long, env = "PLACEHOLDER_VIDEO")]
    pub placeholder: Option<PathBuf>,
}

/// Which entries: every filter given must hold.
#[derive(Debug, Args, Clone, Default)]
pub struct SelectArgs {
    /// Only this entry (repeatable).
    #[arg(long = "id", value_name = "ENTRY_ID")]
    pub ids: Vec<String>,
    /// Only the entries listed in this file, one id per line (# comments allowed).
    #[arg(long, value_name = "FILE")]
    pub id_file: Option<PathBuf>,
    /// Entries with this tag; !TAG for entries without it (repeatable, all must hold).
    #[arg(long = "tag", value_name = "TAG", allow_hyphen_values = true)]
    pub tags: Vec<String>,
    /// Entries in this category or below it: a category id, or a full name like Courses>PHY101
    /// (that category only). Repeatable: any of them.
    #[arg(long = "category", value_name = "CATEGORY")]
    pub categories: Vec<String>,
    /// Entries played fewer than N times.
    #[arg(long, value_name = "N")]
    pub plays_below: Option<i64>,
    /// Entry statuses, comma-separated names or numbers (ready, no_content, …) [default: ready].
    #[arg(long = "status", value_name = "STATUS", value_delimiter = ',')]
    pub statuses: Vec<String>,
    /// Media types, comma-separated: video, audio, image [default: all].
    #[arg(long = "media-type", value_name = "TYPE", value_delimiter = ',')]
    pub media_types: Vec<String>,
    /// Entries created within the last N years.
    #[arg(long, value_name = "YEARS")]
    pub created_within: Option<f64>,
    /// Entries created more than N years ago.
    #[arg(long, value_name = "YEARS")]
    pub created_before: Option<f64>,
    /// Entries played within the last N years.
    #[arg(long, value_name = "YEARS")]
    pub played_within: Option<f64>,
    /// Entries not played for N years, never-played ones included.
    #[arg(long, value_name = "YEARS")]
    pub unplayed_for: Option<f64>,
    /// At most N entries.
    #[arg(long, value_name = "N")]
    pub max_entries: Option<u64>,
}

/// Output formats of `list`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// Tab-separated, with a header line.
    Tsv,
    /// Comma-separated (RFC 4180), with a header line.
    Csv,
    /// A JSON array of objects.
    Json,
}

/// `list`.
#[derive(Debug, Args)]
pub struct ListArgs {
    /// Which entries.
    #[command(flatten)]
    pub select: SelectArgs,
    /// One row per flavor instead of one per entry.
    #[arg(long)]
    pub flavors: bool,
    /// Output format.
    #[arg(long, value_enum, default_value = "tsv")]
    pub format: Format,
}

/// `stats`.
#[derive(Debug, Args)]
pub struct StatsArgs {
    /// Which entries (the policy whose savings are computed).
    #[command(flatten)]
    pub select: SelectArgs,
    /// Storage price override, CLASS=USD per GB-month (repeatable), e.g. DEEP_ARCHIVE=0.002.
    #[arg(long = "price", value_name = "CLASS=USD")]
    pub prices: Vec<String>,
    /// Output as JSON instead of text.
    #[arg(long)]
    pub json: bool,
}
