//! kaltura-archiver's domain: which entries a command works on ([`selection`]), the state of an
//! entry ([`diagnose`]), the transitions ([`archive`], [`replace`], [`restore`]), the engine that
//! runs them with bounded concurrency ([`engine`]), the archive stores ([`store`]) and where
//! copies live in them ([`copies`]), what each copy holds ([`record`]) and how that is proven
//! ([`proof`]), the run journal ([`journal`]), library statistics
//! ([`stats`]), the report page ([`report`]), and the placeholder video ([`placeholder`]).

pub mod archive;
pub mod context;
pub mod copies;
pub mod diagnose;
pub mod engine;
pub mod error;
pub mod failpoint;
pub mod journal;
pub mod lock;
pub mod notice;
pub mod outcome;
pub mod placeholder;
pub mod policy;
pub mod proof;
pub mod record;
pub mod replace;
pub mod report;
pub mod restore;
pub mod selection;
pub mod shard;
pub mod sidecar;
pub mod stats;
pub mod store;
pub mod swap;
pub mod tags;
pub mod time;
pub mod verify;

pub use error::{Error, ErrorKind, Result};
