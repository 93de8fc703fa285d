//! The command line: every option declared once, with its environment variable and default.
//! Precedence is flag > environment > default.

use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

use kaltura::{EntryId, EntryStatus, MediaType};

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
#[command(next_help_heading = "Kaltura")]
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
    /// PEM file of the certificate authority that signed an on-premises Kaltura's certificate
    /// (trusted beside the system's roots).
    #[arg(long, env = "KALTURA_CA_BUNDLE", value_name = "PEM", global = true)]
    pub ca_bundle: Option<std::path::PathBuf>,
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
    Count(CountArgs),
    /// List the selected entries (or their flavors).
    List(ListArgs),
    /// Entries and bytes by year, what is archived and replaced, and what the selection would
    /// free in Kaltura with its monthly storage cost per S3 class.
    Stats(StatsArgs),
    /// Copy the READY originals of the selection to the store, verify, tag archived_to_s3.
    /// Without filters: the policy (unplayed and created more than --years ago, not archived).
    Archive(ChangeArgs),
    /// Replace archived originals with the placeholder video (only where a verified copy matches
    /// the current original and the entry is older and unplayed for --years). Without filters:
    /// archived, not replaced, unplayed and created more than --years ago.
    Replace(ChangeArgs),
    /// Bring replaced entries back: request Glacier thaws, then stream thawed copies back into
    /// Kaltura. Without filters: replaced entries played within --years.
    Restore(ChangeArgs),
    /// Report every entry's state and any anomaly (exit 1 when there are anomalies).
    Health(ChangeArgs),
    /// Move each anomaly to the nearest safe state (re-archive, add or remove tags, restore).
    Repair(ChangeArgs),
    /// Everything about one entry on one screen: tags, original, archive copies, state, what the
    /// policy does next and why, and the journal lines that mention it.
    Explain(ExplainArgs),
    /// Write one entry's original to a file: from Kaltura, or from the archive when replaced.
    Download(DownloadArgs),
    /// List everything in the archive from the store alone (no Kaltura needed): one row per
    /// copy with its entry's name, owner, date, categories, size and captions, from the
    /// sidecars; filters by owner, category, name and creation date; the total on stderr.
    Catalog(CatalogArgs),
    /// Prove every copy in the store against its record (the stored checksum of its pinned
    /// version; with --read-data, the bytes read and hashed wherever they can be read now);
    /// report corrupt, missing, unrecorded copies and entries AT RISK; exit 1 on any bad copy.
    Verify(VerifyArgs),
    /// A self-contained HTML page for the people who pay for Kaltura: entries and bytes by year
    /// created and last played, what is in Kaltura vs archived vs replaced over time (from the
    /// run journals), storage money saved per month by class, restores waiting, failures of the
    /// last runs. `run health` writes it into the store as reports/latest.html.
    Report(ReportArgs),
    /// A scheduled job, as the reference's archive.rc / restore.rc / health.rc: counts before,
    /// the work by policy (archive = archive then replace), counts after, a JSON summary line;
    /// exit 1 when entries failed.
    Run(ScheduledArgs),
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell) on stdout.
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
    /// Print the manual page (roff) on stdout: `kaltura-archiver man > kaltura-archiver.1`.
    Man,
    /// The whole story on this machine: a simulated Kaltura partner started in-process, a
    /// local-directory archive, then archive, replace, plays, restore and health.
    #[cfg(feature = "demo")]
    Demo(DemoArgs),
}

/// `demo`.
#[cfg(feature = "demo")]
#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Entries of the simulated partner.
    #[arg(long, default_value_t = 300, value_parser = clap::value_parser!(u64).range(10..=20000))]
    pub entries: u64,
    /// Archive directory [default: a temporary one, removed at the end].
    #[arg(long)]
    pub dir: Option<PathBuf>,
    /// Keep the simulator running at the end, to try the other commands against it.
    #[arg(long)]
    pub serve: bool,
}

/// The scheduled jobs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ScheduledJob {
    /// Archive what the policy selects, then replace it with the placeholder.
    Archive,
    /// Restore replaced entries that were played.
    Restore,
    /// Report every entry's state.
    Health,
}

impl ScheduledJob {
    /// The job's name.
    pub fn name(self) -> &'static str {
        match self {
            ScheduledJob::Archive => "archive",
            ScheduledJob::Restore => "restore",
            ScheduledJob::Health => "health",
        }
    }
}

/// `run`.
#[derive(Debug, Args)]
pub struct ScheduledArgs {
    /// The job.
    #[arg(value_enum)]
    pub job: ScheduledJob,
    /// This task's shard K/N (0 <= K < N): entries split by a stable hash of their id [default:
    /// AWS_BATCH_JOB_ARRAY_INDEX or JOB_COMPLETION_INDEX with SHARD_COUNT when set, else all].
    #[arg(long, env = "SHARD")]
    pub shard: Option<String>,
    /// Minutes of the run lock's lease: a running process renews it every third of that; a
    /// crashed or killed run's lock lapses within it.
    #[arg(long, env = "LOCK_LEASE_MINUTES", default_value_t = 15.0)]
    pub lock_lease_minutes: f64,
    /// Narrows the policy (e.g. --category 'Courses>PHY101', --max-entries 100): every filter
    /// given must hold as well.
    #[command(flatten)]
    pub select: SelectArgs,
    /// The archive.
    #[command(flatten)]
    pub store: StoreArgs,
    /// How to run.
    #[command(flatten)]
    pub run: RunArgs,
    /// Prices of the report `run health` writes.
    #[command(flatten)]
    pub prices: PriceArgs,
}

/// `report`.
#[derive(Debug, Args)]
pub struct ReportArgs {
    /// The archive (its run journals).
    #[command(flatten)]
    pub store: StoreArgs,
    /// Where the page goes (`-` for stdout).
    #[arg(
        short,
        long,
        value_name = "FILE",
        default_value = "kaltura-archive-report.html"
    )]
    pub output: PathBuf,
    /// `html` (the page) or `json` (its numbers).
    #[arg(long, value_enum, default_value = "html")]
    pub format: ReportFormat,
    /// Prices.
    #[command(flatten)]
    pub prices: PriceArgs,
    /// Storage class of copies whose journal line does not say (journals of older versions).
    #[arg(long, env = "STORAGE_CLASS", default_value = "GLACIER")]
    pub storage_class: String,
}

/// What `report` writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ReportFormat {
    /// The self-contained HTML page.
    Html,
    /// Its numbers as one JSON document.
    Json,
}

/// The prices money is computed with.
#[derive(Debug, Args, Clone)]
#[command(next_help_heading = "Report")]
pub struct PriceArgs {
    /// What Kaltura charges per GB stored a month, in USD (your contract) [default: 0.10,
    /// marked as assumed on the page].
    #[arg(long, env = "KALTURA_PRICE", value_name = "USD")]
    pub kaltura_price: Option<f64>,
    /// Archive storage price override, CLASS=USD per GB-month (repeatable), e.g.
    /// DEEP_ARCHIVE=0.002 [default: AWS list prices, us-east-1].
    #[arg(long = "price", value_name = "CLASS=USD")]
    pub prices: Vec<String>,
}

/// Where the archive is.
#[derive(Debug, Args, Clone)]
#[command(next_help_heading = "Archive store")]
pub struct StoreArgs {
    /// S3 bucket of the archive (credentials, region and endpoint from the standard AWS
    /// environment: AWS_REGION, AWS_ENDPOINT_URL, AWS_ACCESS_KEY_ID, roles, …).
    #[arg(long, env = "AWS_BUCKET")]
    pub bucket: Option<String>,
    /// Key prefix inside the bucket [default: none — keys are bare entry ids, as the reference
    /// tool wrote them].
    #[arg(long, env = "AWS_PREFIX", default_value = "")]
    pub prefix: String,
    /// A local directory (or NAS mount) as the archive instead of S3.
    #[arg(long, env = "ARCHIVE_DIR", conflicts_with = "bucket")]
    pub archive_dir: Option<PathBuf>,
    /// Server-side encryption of new copies: AES256, or a KMS key id/ARN [default: the bucket's].
    #[arg(long, env = "AWS_SSE")]
    pub sse: Option<String>,
}

/// How a changing command runs.
#[derive(Debug, Args, Clone)]
#[command(next_help_heading = "Run")]
pub struct RunArgs {
    /// Act. Without it (or DOIT=true; also 1/yes/on, and false/0/no/off for a dry run) every
    /// command is a dry run that reports what it would do.
    #[arg(long, env = "DOIT", value_parser = clap::builder::BoolishValueParser::new())]
    pub execute: bool,
    /// Entries worked on at once.
    #[arg(long, env = "JOBS", default_value_t = 4, value_parser = clap::value_parser!(u16).range(1..=64))]
    pub jobs: u16,
    /// The policy's N: archive and replace entries unplayed (and created) more than N years ago;
    /// restore replaced entries played within N years.
    #[arg(long, env = "N_YEARS", default_value_t = 3.0)]
    pub years: f64,
    /// Storage class of new copies: STANDARD, STANDARD_IA, GLACIER_IR, GLACIER, DEEP_ARCHIVE,
    /// INTELLIGENT_TIERING.
    #[arg(long, env = "STORAGE_CLASS", default_value = "GLACIER")]
    pub storage_class: String,
    /// Storage class of sidecars (metadata, captions, thumbnail beside each copy): one that
    /// reads without a thaw, so the catalog never waits.
    #[arg(long, env = "SIDECAR_STORAGE_CLASS", default_value = "STANDARD_IA")]
    pub sidecar_class: String,
    /// Glacier restore tier: bulk, standard or expedited (not for DEEP_ARCHIVE).
    #[arg(long, env = "RESTORE_TIER", default_value = "bulk")]
    pub restore_tier: String,
    /// Days a thawed copy stays readable.
    #[arg(long, env = "RESTORE_DAYS", default_value_t = 7, value_parser = clap::value_parser!(u32).range(1..=365))]
    pub restore_days: u32,
    /// Minutes a run waits for Kaltura to convert the replacements it started (the rest finish
    /// in the next run).
    #[arg(long, env = "WAIT_MINUTES", default_value_t = 10.0)]
    pub wait_minutes: f64,
    /// Placeholder video that replaces archived originals [default: the built-in one].
    #[arg(long, env = "PLACEHOLDER_VIDEO")]
    pub placeholder: Option<PathBuf>,
    /// Format of the per-entry report on stdout.
    #[arg(long, value_enum, default_value = "tsv")]
    pub format: Format,
    /// Entries kept out of the policy.
    #[command(flatten)]
    pub exempt: ExemptArgs,
    /// Owners told before archiving and after restoring.
    #[command(flatten)]
    pub notice: NoticeArgs,
}

/// How notices are delivered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum MailVia {
    /// An SMTP server (SMTP_HOST, SMTP_PORT, SMTP_SECURITY, SMTP_USER, SMTP_PASSWORD).
    Smtp,
    /// Amazon SES v2, with the AWS credentials and region of the environment.
    Ses,
}

/// Owner notices: off unless `NOTICE_DAYS` is set. Entries named by `--id` get none.
#[derive(Debug, Args, Clone)]
#[command(next_help_heading = "Owner notices")]
pub struct NoticeArgs {
    /// Tell each owner, in one notice per run, this many days before their recordings are
    /// archived (archived only after, and only if still unplayed), and when one is restored.
    #[arg(long, env = "NOTICE_DAYS", value_parser = clap::value_parser!(u32).range(1..=365))]
    pub notice_days: Option<u32>,
    /// Sender of the notices, e.g. "Media Team <media@example.edu>" (needed with NOTICE_DAYS).
    #[arg(long, env = "NOTICE_FROM")]
    pub notice_from: Option<String>,
    /// Whom owners ask to keep a recording, named in the notice [default: NOTICE_FROM].
    #[arg(long, env = "NOTICE_CONTACT")]
    pub notice_contact: Option<String>,
    /// Address told instead of owners that have none in Kaltura [default: their entries are
    /// not archived].
    #[arg(long, env = "NOTICE_FALLBACK")]
    pub notice_fallback: Option<String>,
    /// Directory whose archive.txt, archive.html, restored.txt or restored.html replace the
    /// built-in wording.
    #[arg(long, env = "NOTICE_TEMPLATES", value_name = "DIR")]
    pub notice_templates: Option<PathBuf>,
    /// How notices are delivered.
    #[arg(long, env = "MAIL_VIA", value_enum, default_value = "smtp")]
    pub mail_via: MailVia,
    /// SMTP server.
    #[arg(long, env = "SMTP_HOST")]
    pub smtp_host: Option<String>,
    /// SMTP port [default: 587 for starttls, 465 for tls, 25 for none].
    #[arg(long, env = "SMTP_PORT")]
    pub smtp_port: Option<u16>,
    /// SMTP connection security: starttls (required, not opportunistic), tls, or none.
    #[arg(long, env = "SMTP_SECURITY", default_value = "starttls")]
    pub smtp_security: String,
    /// SMTP login user.
    #[arg(long, env = "SMTP_USER")]
    pub smtp_user: Option<String>,
    /// SMTP login password (prefer the environment variable).
    #[arg(long, env = "SMTP_PASSWORD", hide_env_values = true)]
    pub smtp_password: Option<String>,
}

/// Entries never archived or replaced by any command unless named by `--id`.
#[derive(Debug, Args, Clone)]
#[command(next_help_heading = "Exemptions")]
pub struct ExemptArgs {
    /// Entries with any of these tags (comma-separated).
    #[arg(
        long = "exempt-tag",
        env = "EXEMPT_TAGS",
        value_delimiter = ',',
        default_value = "archive_exempt"
    )]
    pub exempt_tags: Vec<String>,
    /// Entries in any of these categories or their subcategories: full names (Events>Graduation)
    /// or ids, comma-separated.
    #[arg(
        long = "exempt-category",
        env = "EXEMPT_CATEGORIES",
        value_delimiter = ','
    )]
    pub exempt_categories: Vec<String>,
    /// Entries owned by any of these users (the entry's userId), comma-separated.
    #[arg(long = "exempt-owner", env = "EXEMPT_OWNERS", value_delimiter = ',')]
    pub exempt_owners: Vec<String>,
    /// Entries listed in this file, one id per line (# comments allowed).
    #[arg(long = "exempt-file", env = "EXEMPT_FILE", value_name = "FILE")]
    pub exempt_file: Option<PathBuf>,
}

/// Arguments of the commands that go through the engine.
#[derive(Debug, Args, Clone)]
pub struct ChangeArgs {
    /// Which entries.
    #[command(flatten)]
    pub select: SelectArgs,
    /// The archive.
    #[command(flatten)]
    pub store: StoreArgs,
    /// How to run.
    #[command(flatten)]
    pub run: RunArgs,
}

/// `explain`.
#[derive(Debug, Args)]
pub struct ExplainArgs {
    /// The entry.
    pub entry_id: EntryId,
    /// The archive.
    #[command(flatten)]
    pub store: StoreArgs,
    /// The policy's N (see `archive --help`).
    #[arg(long, env = "N_YEARS", default_value_t = 3.0)]
    pub years: f64,
    /// Placeholder video in use [default: the built-in one].
    #[arg(long, env = "PLACEHOLDER_VIDEO")]
    pub placeholder: Option<PathBuf>,
    /// Entries kept out of the policy.
    #[command(flatten)]
    pub exempt: ExemptArgs,
    /// Notice period in days, to show where the entry stands with its owner's notice.
    #[arg(long, env = "NOTICE_DAYS", value_parser = clap::value_parser!(u32).range(1..=365))]
    pub notice_days: Option<u32>,
    /// Format: text for a person, or one JSON object.
    #[arg(long, value_enum, default_value = "tsv")]
    pub format: Format,
}

/// `catalog`.
#[derive(Debug, Args)]
pub struct CatalogArgs {
    /// The archive.
    #[command(flatten)]
    pub store: StoreArgs,
    /// Only copies of entries owned by this user (repeatable).
    #[arg(long)]
    pub owner: Vec<String>,
    /// Only entries in this category or below it (full name, e.g. Courses>PHY101; repeatable).
    #[arg(long)]
    pub category: Vec<String>,
    /// Only entries whose name contains this text (any case).
    #[arg(long, value_name = "TEXT")]
    pub name_contains: Option<String>,
    /// Only entries created on or after this day (YYYY-MM-DD, UTC).
    #[arg(long, value_name = "DATE")]
    pub created_from: Option<String>,
    /// Only entries created before this day (YYYY-MM-DD, UTC).
    #[arg(long, value_name = "DATE")]
    pub created_to: Option<String>,
    /// Sidecars read at once.
    #[arg(long, env = "JOBS", default_value_t = 16, value_parser = clap::value_parser!(u16).range(1..=256))]
    pub jobs: u16,
    /// Format of the rows on stdout.
    #[arg(long, value_enum, default_value = "tsv")]
    pub format: Format,
}

/// `verify`.
#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// The archive.
    #[command(flatten)]
    pub store: StoreArgs,
    /// Read and hash every copy that can be read now (a local directory, STANDARD, STANDARD_IA,
    /// GLACIER_IR and thawed copies), not only compare the stored checksums.
    #[arg(long)]
    pub read_data: bool,
    /// Copies checked at once.
    #[arg(long, env = "JOBS", default_value_t = 4, value_parser = clap::value_parser!(u16).range(1..=64))]
    pub jobs: u16,
    /// Placeholder video in use [default: the built-in one].
    #[arg(long, env = "PLACEHOLDER_VIDEO")]
    pub placeholder: Option<PathBuf>,
    /// Format of the per-copy report on stdout.
    #[arg(long, value_enum, default_value = "tsv")]
    pub format: Format,
}

/// `download`.
#[derive(Debug, Args)]
pub struct DownloadArgs {
    /// The entry.
    #[arg(long = "id", value_name = "ENTRY_ID")]
    pub entry_id: EntryId,
    /// File to write [default: ENTRY_ID.EXT in the current directory].
    #[arg(long, short)]
    pub output: Option<PathBuf>,
    /// The archive.
    #[command(flatten)]
    pub store: StoreArgs,
    /// Placeholder video in use [default: the built-in one].
    #[arg(long, env = "PLACEHOLDER_VIDEO")]
    pub placeholder: Option<PathBuf>,
    /// When the copy needs a thaw (GLACIER, DEEP_ARCHIVE), request one; run again once it is
    /// readable.
    #[arg(long)]
    pub request_thaw: bool,
    /// Glacier restore tier of a thaw: bulk, standard or expedited.
    #[arg(long, env = "RESTORE_TIER", default_value = "bulk")]
    pub restore_tier: String,
}

/// `check`.
#[derive(Debug, Args)]
pub struct CheckArgs {
    /// The archive.
    #[command(flatten)]
    pub store: StoreArgs,
    /// Placeholder video that replaces archived originals [default: the built-in one].
    #[arg(long, env = "PLACEHOLDER_VIDEO")]
    pub placeholder: Option<PathBuf>,
    /// Format of the result: text lines, or one JSON object.
    #[arg(long, value_enum, default_value = "tsv")]
    pub format: Format,
}

/// `count`.
#[derive(Debug, Args)]
pub struct CountArgs {
    /// Which entries.
    #[command(flatten)]
    pub select: SelectArgs,
    /// `tsv`/`csv`: the number alone; `json`: `{"count": N}`.
    #[arg(long, value_enum, default_value = "tsv")]
    pub format: Format,
}

/// Which entries: every filter given must hold.
#[derive(Debug, Args, Clone, Default, PartialEq)]
#[command(next_help_heading = "Selection")]
pub struct SelectArgs {
    /// Only this entry (repeatable).
    #[arg(long = "id", value_name = "ENTRY_ID")]
    pub ids: Vec<EntryId>,
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
    #[arg(
        long = "status",
        value_name = "STATUS",
        value_delimiter = ',',
        allow_hyphen_values = true
    )]
    pub statuses: Vec<EntryStatus>,
    /// Media types, comma-separated: video, audio, image [default: all].
    #[arg(long = "media-type", value_name = "TYPE", value_delimiter = ',')]
    pub media_types: Vec<MediaType>,
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
    /// Output as JSON instead of text (`--format json`; `--json` is the same).
    #[arg(long, value_enum, default_value = "tsv")]
    pub format: Format,
    /// The same as `--format json`.
    #[arg(long, hide = true)]
    pub json: bool,
    /// What the next `run archive` would archive and replace (the policy for N years, narrowed by
    /// the filters given, less the exemptions), by year, with its cost per month per class and
    /// what restoring it would cost.
    #[arg(long)]
    pub policy: bool,
    /// The policy's N (with --policy).
    #[arg(long, env = "N_YEARS", default_value_t = 3.0)]
    pub years: f64,
    /// Entries kept out of the policy (with --policy).
    #[command(flatten)]
    pub exempt: ExemptArgs,
}
