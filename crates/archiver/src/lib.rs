//! kaltura-archiver's domain. So far: which entries a command works on ([`selection`]) and what
//! the archive tags say about them ([`tags`]); stores, transitions and the engine follow.

pub mod selection;
pub mod stats;
pub mod store;
pub mod tags;
pub mod time;
