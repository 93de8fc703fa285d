//! Typed async client for the Kaltura API v3 subset the archiver uses (not yet built; see issue 3).
