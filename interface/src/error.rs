//! The one error type of the interface crate.

/// Why an interface or a typed payload was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Error {
    /// The WIT text does not parse or resolve (wit-parser's message).
    Parse(String),
    /// The WIT is valid but uses something bridgehost does not support
    /// (worlds, several interfaces, futures, streams, async, ...).
    Unsupported(String),
    /// A size, count or nesting limit was exceeded.
    TooLarge(String),
    /// Bytes that do not decode as the expected type.
    Decode {
        /// Byte offset where decoding failed.
        offset: usize,
        /// What was wrong.
        reason: String,
    },
    /// A value that does not match the type it is encoded as (or JSON that
    /// does not convert).
    Value(String),
    /// Two interfaces are not compatible (names the first difference).
    Incompatible(String),
    /// Not the input's fault (a thread could not be started, ...).
    Internal(String),
}

/// `Result` with this crate's [`Error`].
pub type Result<T> = std::result::Result<T, Error>;

impl Error {
    /// Prefix the message with where it happened.
    pub fn context(self, what: &str) -> Error {
        match self {
            Error::Parse(m) => Error::Parse(format!("{what}: {m}")),
            Error::Unsupported(m) => Error::Unsupported(format!("{what}: {m}")),
            Error::TooLarge(m) => Error::TooLarge(format!("{what}: {m}")),
            Error::Decode { offset, reason } => Error::Decode {
                offset,
                reason: format!("{what}: {reason}"),
            },
            Error::Value(m) => Error::Value(format!("{what}: {m}")),
            Error::Incompatible(m) => Error::Incompatible(format!("{what}: {m}")),
            Error::Internal(m) => Error::Internal(format!("{what}: {m}")),
        }
    }
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Error::Parse(m) => write!(f, "WIT parse error: {m}"),
            Error::Unsupported(m) => write!(f, "unsupported WIT: {m}"),
            Error::TooLarge(m) => write!(f, "limit exceeded: {m}"),
            Error::Decode { offset, reason } => {
                write!(f, "malformed typed payload at byte {offset}: {reason}")
            }
            Error::Value(m) => write!(f, "value does not match its type: {m}"),
            Error::Incompatible(m) => write!(f, "incompatible interface: {m}"),
            Error::Internal(m) => write!(f, "internal error: {m}"),
        }
    }
}

impl std::error::Error for Error {}
