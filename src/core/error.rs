use std::fmt;

/// The JavaScript error class an error surfaces as, so that webkv throws
/// exactly what `Deno.Kv` throws for the same input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorClass {
    TypeError,
    RangeError,
    Error,
    /// `Deno.errors.BadResource`: what a closed database answers.
    BadResource,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KvError {
    pub class: ErrorClass,
    pub message: String,
}

impl KvError {
    /// What every operation on a closed database fails with, as in Deno.
    pub fn closed() -> Self {
        Self::bad_resource("Bad resource ID")
    }

    pub fn type_error(message: impl Into<String>) -> Self {
        Self {
            class: ErrorClass::TypeError,
            message: message.into(),
        }
    }

    pub fn range_error(message: impl Into<String>) -> Self {
        Self {
            class: ErrorClass::RangeError,
            message: message.into(),
        }
    }

    pub fn bad_resource(message: impl Into<String>) -> Self {
        Self {
            class: ErrorClass::BadResource,
            message: message.into(),
        }
    }

    pub fn error(message: impl Into<String>) -> Self {
        Self {
            class: ErrorClass::Error,
            message: message.into(),
        }
    }
}

impl fmt::Display for KvError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}: {}", self.class, self.message)
    }
}

impl std::error::Error for KvError {}

pub type KvResult<T> = Result<T, KvError>;
