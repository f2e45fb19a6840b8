//! The panic boundary of every entry point: catch the panic, keep its message and location for
//! the module error, and keep the default hook from printing it to the host's stderr.
//!
//! The hook is the module's own (a Rust module links its own copy of `std`, so `set_hook` here
//! changes nothing in the host). It is silent only for panics on a thread that is inside one of
//! the SDK's shims: those become a module error and an error log record through the host's
//! `log` (plus a debug record with the panic's location), so the message reaches the caller and the runtime's logging, never raw stderr. A panic
//! anywhere else (a module-owned thread, a test thread) goes to the hook that was installed
//! before, unchanged.
#![forbid(unsafe_code)]

use std::any::Any;
use std::cell::{Cell, RefCell};
use std::panic::{self, AssertUnwindSafe};
use std::sync::Once;

thread_local! {
    /// How many SDK shims this thread is inside (a module may call back into itself through
    /// the host, so shims nest).
    static DEPTH: Cell<u32> = const { Cell::new(0) };
    /// Where the last caught panic of this thread happened, recorded by the hook.
    static LOCATION: RefCell<Option<String>> = const { RefCell::new(None) };
}

fn install_hook() {
    static HOOK: Once = Once::new();
    HOOK.call_once(|| {
        let previous = panic::take_hook();
        panic::set_hook(Box::new(move |info| {
            let inside = DEPTH.try_with(|d| d.get() > 0).unwrap_or(false);
            if !inside {
                return previous(info);
            }
            let at = info
                .location()
                .map(|l| format!("{}:{}:{}", l.file(), l.line(), l.column()));
            // try_with: a panic during thread-local teardown has nowhere to keep it.
            let _ = LOCATION.try_with(|slot| {
                if let Ok(mut slot) = slot.try_borrow_mut() {
                    *slot = at;
                }
            });
        }));
    });
}

/// Extract a message from a panic payload and drop the payload without letting a panicking
/// `Drop` of the payload escape.
fn payload_message(payload: Box<dyn Any + Send>) -> String {
    let msg = if let Some(s) = payload.downcast_ref::<&'static str>() {
        (*s).to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "(non-string panic payload)".to_string()
    };
    if let Err(second) = panic::catch_unwind(AssertUnwindSafe(move || drop(payload))) {
        // A payload whose Drop panics: leak the second payload rather than risk a third panic.
        std::mem::forget(second);
    }
    msg
}

/// A panic caught by [`catch`].
pub(crate) struct Caught {
    /// `"<what>: <message>"`: the module error's text.
    pub message: String,
    /// `file:line:col` of the panic, when the hook saw it.
    pub location: Option<String>,
}

/// Run `f` inside the panic boundary.
#[inline]
pub(crate) fn catch<R>(what: &str, f: impl FnOnce() -> R) -> Result<R, Caught> {
    install_hook();
    // One thread-local access per call (in a dlopen'ed module each is a `__tls_get_addr` call):
    // the depth is raised and lowered through the same reference. catch_unwind returns on a
    // panic too, so the depth always comes back down.
    let mut f = Some(f);
    let result = DEPTH
        .try_with(|d| {
            d.set(d.get() + 1);
            let f = f.take().expect("run once");
            let r = panic::catch_unwind(AssertUnwindSafe(f));
            d.set(d.get() - 1);
            r
        })
        .unwrap_or_else(|_| {
            // This thread's thread-locals are gone (a call from a TLS destructor): the hook
            // cannot tell, so a panic here is also reported by the previous hook.
            let f = f.take().expect("not run by try_with");
            panic::catch_unwind(AssertUnwindSafe(f))
        });
    result.map_err(|payload| {
        let msg = payload_message(payload);
        let location = LOCATION
            .try_with(|slot| slot.try_borrow_mut().ok().and_then(|mut s| s.take()))
            .ok()
            .flatten();
        Caught {
            message: format!("{what}: {msg}"),
            location,
        }
    })
}

#[cfg(test)]
mod tests {
    use super::catch;

    #[test]
    fn a_caught_panic_keeps_its_message_and_location() {
        let err = catch("panic", || -> () { panic!("boom {}", 7) }).unwrap_err();
        assert_eq!(err.message, "panic: boom 7");
        let at = err.location.expect("the hook saw the panic");
        assert!(at.contains("panic.rs:"), "{at}");
    }

    #[test]
    fn no_panic_is_ok_and_depth_unwinds() {
        assert_eq!(catch("panic", || 5).ok(), Some(5));
        assert_eq!(super::DEPTH.with(|d| d.get()), 0);
        let _ = catch("panic", || -> () { panic!("x") });
        assert_eq!(super::DEPTH.with(|d| d.get()), 0);
    }
}
