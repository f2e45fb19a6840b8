//! Errors crossing into Java: one typed exception per core [`ErrorKind`].
//!
//! Java builds the exception (`BridgeHostException.fromNative(kind, message,
//! detail)` picks the subclass), so the mapping from kind to class lives in
//! one Java switch, and the bridge only passes the kind's stable code, the
//! message and the detail code (module error code, signal, exit status,
//! required size).
#![forbid(unsafe_code)]

use bridgehost::{Error, ErrorKind};
use jni::errors::ErrorPolicy;
use jni::Env;

/// Why a native method failed.
#[derive(Debug)]
pub(crate) enum BridgeError {
    /// A core error: thrown as its typed exception. Boxed so that a
    /// `BResult<T>` is a few words: the hot path returns one through several
    /// closures, and moving the unboxed error's 56-byte enum around cost
    /// four store-forwarding stalls per call (`perf annotate` of
    /// `registry::with_method` under `Method.call(byte[])`).
    Core(Box<Error>),
    /// A JNI call left a Java exception pending (an `OutOfMemoryError`, an
    /// exception thrown by Java code we called): return at once and let the
    /// JVM throw it. No further JNI call is made.
    Pending,
}

/// Result of a native method body.
pub(crate) type BResult<T> = Result<T, BridgeError>;

impl From<Error> for BridgeError {
    fn from(e: Error) -> Self {
        BridgeError::Core(Box::new(e))
    }
}

impl From<jni::errors::Error> for BridgeError {
    fn from(e: jni::errors::Error) -> Self {
        match e {
            jni::errors::Error::JavaException => BridgeError::Pending,
            other => jni_failure(other.to_string()),
        }
    }
}

impl BridgeError {
    /// A caught panic.
    pub(crate) fn from_panic(payload: &(dyn std::any::Any + Send)) -> Self {
        BridgeError::Core(Box::new(Error::from_panic(payload)))
    }

    /// `(kind code, message, detail)` as handed to `BridgeHostException.fromNative`.
    pub(crate) fn to_java(&self) -> Option<(i32, String, i64)> {
        match self {
            BridgeError::Core(e) => Some((e.kind().code(), e.to_string(), e.detail_code())),
            BridgeError::Pending => None,
        }
    }
}

/// Any other failure of the jni crate: thrown as `InternalException`
/// ("internal error: JNI: ...").
#[cold]
pub(crate) fn jni_failure(what: String) -> BridgeError {
    BridgeError::Core(Box::new(Error::Internal(format!("JNI: {what}"))))
}

/// Shorthand for an invalid-argument error.
pub(crate) fn invalid(msg: impl Into<String>) -> BridgeError {
    BridgeError::Core(Box::new(Error::InvalidArgument(msg.into())))
}

/// Throw `err` as its Java exception, unless an exception is already
/// pending (it takes precedence and is left untouched: no JNI call other
/// than `ExceptionCheck` is made while it is pending).
pub(crate) fn throw(env: &mut Env<'_>, err: BridgeError) {
    if env.exception_check() {
        return;
    }
    let (kind, message, detail) = match err.to_java() {
        Some(t) => t,
        // `Pending` with nothing pending: a bug in the bridge; still report it.
        None => (
            ErrorKind::Internal.code(),
            "internal error: a JNI call failed without leaving an exception".to_string(),
            0,
        ),
    };
    crate::jvm::throw_typed(env, kind, &message, detail);
}

/// The [`ErrorPolicy`] of every generic-entry native method: errors and
/// panics become typed `BridgeHostException`s; an exception already pending
/// wins; the method returns its type's default (`null`, `0`, `false`), which
/// Java never sees because the exception is thrown on return.
#[derive(Debug)]
pub(crate) struct ThrowTyped;

impl<T: Default> ErrorPolicy<T, BridgeError> for ThrowTyped {
    type Captures<'unowned_env_local: 'native_method, 'native_method> = ();

    fn on_error<'unowned_env_local: 'native_method, 'native_method>(
        env: &mut Env<'unowned_env_local>,
        _cap: &mut (),
        err: BridgeError,
    ) -> jni::errors::Result<T> {
        throw(env, err);
        Ok(T::default())
    }

    fn on_panic<'unowned_env_local: 'native_method, 'native_method>(
        env: &mut Env<'unowned_env_local>,
        _cap: &mut (),
        payload: Box<dyn std::any::Any + Send + 'static>,
    ) -> jni::errors::Result<T> {
        throw(env, BridgeError::from_panic(&*payload));
        Ok(T::default())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jni::sys::{jbyteArray, jint};

    /// The hot path returns these through several closures: kept to one and
    /// two words.
    #[test]
    fn a_result_of_a_pointer_or_an_int_is_two_words() {
        assert_eq!(std::mem::size_of::<BridgeError>(), 8);
        assert_eq!(std::mem::size_of::<BResult<jbyteArray>>(), 16);
        assert_eq!(std::mem::size_of::<BResult<jint>>(), 16);
    }
}
