//! Errors of the upper-tester driver and of client profile loading.

use std::time::Duration;

/// What went wrong talking to a client adapter.
#[derive(Debug, thiserror::Error)]
pub enum UtError {
    /// The adapter process exited or closed the connection.
    #[error("adapter exited (status {}); stderr tail:\n{stderr_tail}", status.map_or("unknown".to_owned(), |c| c.to_string()))]
    Crashed {
        /// Exit code, when the process exited normally; None for a signal or a closed connection.
        status: Option<i32>,
        /// The last ~8 KiB the adapter wrote to stderr.
        stderr_tail: String,
    },
    /// The adapter wrote a line that is not a valid protocol message.
    #[error("adapter wrote a line that is not protocol JSON ({reason}): {line:?}; stderr tail:\n{stderr_tail}")]
    Garbage {
        /// The line (truncated to 512 bytes).
        line: String,
        /// Why it was rejected.
        reason: String,
        /// The last ~8 KiB the adapter wrote to stderr.
        stderr_tail: String,
    },
    /// No answer in time.
    #[error("timed out after {after:?} waiting for {what}; stderr tail:\n{stderr_tail}")]
    Timeout {
        /// What was awaited (`"response to sync (id 4)"`, `"event"`).
        what: String,
        /// The time allowed.
        after: Duration,
        /// The last ~8 KiB the adapter wrote to stderr.
        stderr_tail: String,
    },
    /// The adapter broke the protocol (wrong version, unexpected response id, event flood).
    #[error("upper-tester protocol violation: {0}")]
    Protocol(String),
    /// The adapter answered `ok: false`.
    #[error("adapter refused {command}: {error}")]
    Rejected {
        /// The command's wire name.
        command: String,
        /// The adapter's error text.
        error: String,
    },
    /// The adapter cannot be started this way (e.g. `in_process` through `spawn`).
    #[error("cannot start adapter: {0}")]
    Unsupported(String),
    /// Starting the process, connecting or writing failed.
    #[error("adapter I/O: {0}")]
    Io(#[from] std::io::Error),
}

/// Why a client profile could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ProfileError {
    /// The file could not be read.
    #[error("{path}: {source}")]
    Read {
        /// The profile path.
        path: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The YAML is malformed or does not fit the profile schema.
    #[error("{path}:{line}:{column}: {message}")]
    Invalid {
        /// The profile path.
        path: String,
        /// 1-based line (0 when unknown).
        line: usize,
        /// 1-based column (0 when unknown).
        column: usize,
        /// What is wrong.
        message: String,
    },
}
