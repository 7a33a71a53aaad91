//! webkv: the Deno KV API for browsers and edge workers.
//!
//! Data flows one way: the wasm bindings convert JavaScript values and call a
//! backend; backends serve reads and commits, the in-memory one through the
//! pure core engine.

pub mod backend;
pub mod core;
pub mod kv;

#[cfg(target_arch = "wasm32")]
pub mod bindings;
