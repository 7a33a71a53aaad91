//! The pure core: no JavaScript types, tested natively.

pub mod engine;
pub mod entry;
pub mod error;
pub mod key;
pub mod limits;
pub mod numeric;
pub mod page_index;
pub mod pages;
pub mod queue;
pub mod record;
pub mod selector;
pub mod validate;
pub mod versionstamp;
