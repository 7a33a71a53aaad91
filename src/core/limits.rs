//! Deno CLI's limits (ext/kv `KvConfig` defaults) and their error messages.
//! The denokv server is stricter on some (10 checks); its own errors pass
//! through unchanged over KV Connect.

use super::error::KvError;

#[derive(Debug, Clone)]
pub struct Limits {
    pub max_write_key_size_bytes: usize,
    pub max_read_key_size_bytes: usize,
    pub max_value_size_bytes: usize,
    pub max_read_ranges: usize,
    pub max_read_entries: usize,
    pub max_checks: usize,
    pub max_mutations: usize,
    pub max_watched_keys: usize,
    pub max_total_mutation_size_bytes: usize,
    pub max_total_key_size_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_write_key_size_bytes: 2048,
            max_read_key_size_bytes: 2049,
            max_value_size_bytes: 65536,
            max_read_ranges: 10,
            max_read_entries: 1000,
            max_checks: 100,
            max_mutations: 1000,
            max_watched_keys: 10,
            max_total_mutation_size_bytes: 800 * 1024,
            max_total_key_size_bytes: 80 * 1024,
        }
    }
}

impl Limits {
    pub fn check_read_key_size(&self, key: &[u8]) -> Result<(), KvError> {
        if key.len() > self.max_read_key_size_bytes {
            return Err(KvError::type_error(format!(
                "Key too large for read (max {} bytes)",
                self.max_read_key_size_bytes
            )));
        }
        Ok(())
    }

    pub fn check_write_key_size(&self, key: &[u8]) -> Result<usize, KvError> {
        if key.len() > self.max_write_key_size_bytes {
            return Err(KvError::type_error(format!(
                "Key too large for write (max {} bytes)",
                self.max_write_key_size_bytes
            )));
        }
        Ok(key.len())
    }

    pub fn check_value_size(&self, len: usize) -> Result<usize, KvError> {
        if len > self.max_value_size_bytes {
            return Err(KvError::type_error(format!(
                "Value too large (max {} bytes)",
                self.max_value_size_bytes
            )));
        }
        Ok(len)
    }

    pub fn check_enqueue_payload_size(&self, len: usize) -> Result<usize, KvError> {
        if len > self.max_value_size_bytes {
            return Err(KvError::type_error(format!(
                "enqueue payload too large (max {} bytes)",
                self.max_value_size_bytes
            )));
        }
        Ok(len)
    }

    pub fn too_many_ranges(&self) -> KvError {
        KvError::type_error(format!("Too many ranges (max {})", self.max_read_ranges))
    }

    pub fn too_many_entries(&self) -> KvError {
        KvError::type_error(format!("Too many entries (max {})", self.max_read_entries))
    }
}
