//! The bindings in Node.
#![cfg(target_arch = "wasm32")]

mod wasm_common;

/// Node has no IndexedDB: the JS layer opens memory instead (README).
#[wasm_bindgen_test::wasm_bindgen_test]
fn node_has_no_indexed_db() {
    assert!(!webkv::bindings::has_indexed_db());
}
