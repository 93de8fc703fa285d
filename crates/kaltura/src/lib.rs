//! A typed async client for the subset of the Kaltura API v3 that kaltura-archiver uses
//! (see `docs/reference/kaltura-api.md`): JSON format, sessions started and renewed on demand, one retry
//! policy with backoff and jitter, lenient parsing of the service's inconsistent types, and no
//! secret or KS in any log, error or `Debug` output.
//!
//! ```no_run
//! # async fn demo() -> kaltura::Result<()> {
//! use kaltura::{Client, MediaEntryFilter};
//! let client = Client::builder()
//!     .with_service_url("http://127.0.0.1:8080")
//!     .with_partner_id(100)
//!     .with_secret("sim-admin-secret".to_string().into())
//!     .build()?;
//! let page = client.list_media(&MediaEntryFilter::default(), 500, 1).await?;
//! println!("{} entries", page.total_count);
//! # Ok(()) }
//! ```

pub mod captions;
pub mod client;
pub mod codes;
pub mod content;
pub mod error;
pub mod media;
pub mod models;
pub mod retry;
pub mod users;

pub use captions::CaptionAsset;
pub use client::{Client, ClientBuilder, Idempotence};
pub use codes::{EntryStatus, FlavorStatus, MediaType, ReplacementStatus};
pub use content::ByteStream;
pub use error::{Error, Result};
pub use media::MediaEntryFilter;
pub use models::{EntryId, FlavorAsset, FlavorId, InvalidEntryId, ListResponse, MediaEntry};
pub use retry::RetryPolicy;
pub use secrecy::SecretString;
pub use users::User;
