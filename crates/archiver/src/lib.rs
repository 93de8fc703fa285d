//! kaltura-archiver's domain. So far: which entries a command works on ([`selection`]), what the
//! archive tags say about them ([`tags`]), library statistics ([`stats`]), the archive stores
//! ([`store`]) and the placeholder video ([`placeholder`]); transitions and the engine follow.

pub mod placeholder;
pub mod selection;
pub mod stats;
pub mod store;
pub mod tags;
pub mod time;
