//! The library's one error type. Every variant names the file (or repository)
//! it is about and the reason, and maps to a process exit code, so the CLI can
//! print a single precise line and exit without a panic.

use std::path::PathBuf;

/// Exit code for usage or input errors.
pub const EXIT_INPUT: u8 = 2;
/// Exit code for operations refused for safety (dirty tree, lock, diverged branch).
pub const EXIT_REFUSED: u8 = 3;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The recipe file is not valid TOML or fails validation.
    #[error("{file}:{line}: {field}: {reason}")]
    Recipe {
        file: String,
        line: usize,
        field: String,
        reason: String,
    },
    /// Reading or writing a file failed.
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// A file could not be parsed; `line` is 1-based (0 when unknown).
    #[error("{}:{line}: {reason}", path.display())]
    Parse {
        path: PathBuf,
        line: usize,
        reason: String,
    },
    /// The repository is unusable for the requested operation.
    #[error("{}: {reason}", path.display())]
    Repo { path: PathBuf, reason: String },
    /// The operation was refused because it could lose work or race another run.
    #[error("refused: {0}")]
    Refused(String),
    /// A git operation failed.
    #[error("git: {0}")]
    Git(String),
    /// Stopped by Ctrl-C or SIGTERM; what was started has been ended.
    #[error("interrupted: {0}")]
    Interrupted(String),
    /// Bad usage that clap cannot express (e.g. unknown phase id).
    #[error("{0}")]
    Usage(String),
}

impl Error {
    /// The process exit code this error maps to.
    pub fn exit_code(&self) -> u8 {
        match self {
            Error::Refused(_) => EXIT_REFUSED,
            _ => EXIT_INPUT,
        }
    }

    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            source,
        }
    }
}

impl From<git2::Error> for Error {
    fn from(e: git2::Error) -> Self {
        Error::Git(e.message().to_string())
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
