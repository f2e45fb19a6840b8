//! The front ends' handle registry: a named, generation-checked
//! [`HandleTable`] per object type, one family of them per front end (the C
//! ABI's `bh_*` handles, the JNI bridge's `long` ids), each with its own tag,
//! so a handle of one type never resolves as another. A failed lookup is a
//! [`Stale`] naming the table and, for a live handle of a sibling table, what
//! it really is; each front end maps it to its runtime's error (docs/SYMMETRY.md:
//! `ClosedException` in Java, `BH_E_INVALID_ARGUMENT` in C).
#![forbid(unsafe_code)]

use crate::handles::HandleTable;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// Bits above the tag in the handle encoding (`tag | generation | index`).
const TAG_SHIFT: u32 = 56;

/// A handle that resolves to nothing in the table it was used with: stale
/// (its object was removed), forged, or of another table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stale {
    /// The name of the table it was used with (`"bh_host"`, `"method"`).
    pub table: &'static str,
    /// The handle.
    pub handle: u64,
    /// The name of the sibling table whose tag it carries, if another one.
    pub other: Option<&'static str>,
    /// True when it has the shape of a handle this table issued (its tag, a
    /// non-zero generation): a retired handle, freed or removed after its
    /// object closed (or a forgery that mimics one). The C ABI reports it as
    /// closed, as the other runtimes report a closed object; anything else
    /// (NULL, garbage, another table's handle) is an invalid argument.
    pub retired: bool,
}

impl std::fmt::Display for Stale {
    /// `stale or invalid bh_host handle 0x… (it is a bh_module handle)`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "stale or invalid {} handle 0x{:016x}",
            self.table, self.handle
        )?;
        if let Some(o) = self.other {
            write!(f, " (it is a {o} handle)")?;
        }
        Ok(())
    }
}

/// One named table of a front end's family.
pub struct Registry<T: ?Sized + 'static> {
    name: &'static str,
    tag: u8,
    /// Every table of the family as (tag, name), this one included: what a
    /// foreign handle is named in [`Stale::other`].
    family: &'static [(u8, &'static str)],
    table: HandleTable<T>,
    /// Set once the table is in the fork handlers' list (`crate::fork`).
    fork_registered: AtomicBool,
}

impl<T: ?Sized + 'static> std::fmt::Debug for Registry<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Registry")
            .field("name", &self.name)
            .field("table", &self.table)
            .finish()
    }
}

impl<T: ?Sized + 'static> Registry<T> {
    /// Entry `index` of `family` (its tag and name); long-lived objects
    /// ([`HandleTable::new`]).
    pub const fn new(family: &'static [(u8, &'static str)], index: usize) -> Self {
        Registry {
            name: family[index].1,
            tag: family[index].0,
            family,
            table: HandleTable::new(family[index].0),
            fork_registered: AtomicBool::new(false),
        }
    }

    /// As [`Registry::new`], for handles removed about as often as they are
    /// looked up ([`HandleTable::new_short_lived`]).
    pub const fn new_short_lived(family: &'static [(u8, &'static str)], index: usize) -> Self {
        Registry {
            name: family[index].1,
            tag: family[index].0,
            family,
            table: HandleTable::new_short_lived(family[index].0),
            fork_registered: AtomicBool::new(false),
        }
    }

    /// The table's name.
    pub fn name(&self) -> &'static str {
        self.name
    }

    /// Store `value`; its new handle. A registry is a process-global (`static`),
    /// and its first insert or remove adds it to the tables the fork
    /// handlers hold across `fork()` (`crate::fork`), so a child forked while
    /// another thread was inside an insert or remove does not find the
    /// table's writer mutex locked forever.
    pub fn insert(&'static self, value: Arc<T>) -> u64 {
        self.register_for_fork();
        self.table.insert(value)
    }

    /// The live value of `h`.
    pub fn get(&self, h: u64) -> Result<Arc<T>, Stale> {
        self.table.get(h).ok_or_else(|| self.stale(h))
    }

    /// Run `f` on the live value of `h`, borrowed for the length of `f` (the
    /// table's lock-free lookup: safe across a long call and a concurrent
    /// remove).
    #[inline]
    pub fn with<R>(&self, h: u64, f: impl FnOnce(&T) -> R) -> Result<R, Stale> {
        self.table.with(h, f).ok_or_else(|| self.stale(h))
    }

    /// Retire `h`; its value. A second remove is a [`Stale`] (see
    /// [`insert`](Self::insert) for `'static`).
    pub fn remove(&'static self, h: u64) -> Result<Arc<T>, Stale> {
        self.register_for_fork();
        self.table.remove(h).ok_or_else(|| self.stale(h))
    }

    /// Add this table to the fork handlers' list, once, before its writer
    /// mutex is first taken (the list's lock orders the two: a fork that
    /// has not seen the table cannot find its writer held).
    #[inline]
    fn register_for_fork(&'static self) {
        if !self.fork_registered.load(Ordering::Acquire) {
            crate::fork::register_table(self.table.writer_mutex());
            self.fork_registered.store(true, Ordering::Release);
        }
    }

    /// Live handles.
    pub fn len(&self) -> usize {
        self.table.len()
    }

    /// True when no handle is live.
    pub fn is_empty(&self) -> bool {
        self.table.is_empty()
    }

    fn stale(&self, h: u64) -> Stale {
        let tag = (h >> TAG_SHIFT) as u8;
        Stale {
            table: self.name,
            handle: h,
            retired: self.table.is_own(h),
            other: self
                .family
                .iter()
                .find(|(t, _)| *t == tag && *t != self.tag)
                .map(|(_, n)| *n),
        }
    }
}

impl Registry<crate::Method> {
    /// [`Method::call_scalar`](crate::Method::call_scalar) on the method `h`
    /// names: the front ends' typed primitive call. The calling thread's
    /// hazard record is looked up once and serves the handle lookup, the
    /// module's gate and the direct context (in a loaded library each
    /// thread-local lookup is a call into the dynamic linker).
    ///
    /// The call's error comes boxed: the result then travels in two
    /// registers. Unboxed, the compiler built the nested result piecewise on
    /// the stack and read it back in wider loads, two store-forwarding
    /// stalls that cost more than the thread-local lookups saved
    /// (`bh_call_scalar` 57 → 67–74 ns per call).
    #[inline]
    pub fn call_scalar(
        &self,
        h: u64,
        args: &[u64],
    ) -> Result<Result<u64, Box<crate::Error>>, Stale> {
        let here = crate::ffi::hazard::here();
        self.table
            .with_in(here, h, |m| m.call_scalar_in(here, args).map_err(Box::new))
            .ok_or_else(|| self.stale(h))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FAMILY: [(u8, &str); 2] = [(0x71, "apple"), (0x72, "pear")];
    static APPLES: Registry<u32> = Registry::new(&FAMILY, 0);
    static PEARS: Registry<u32> = Registry::new_short_lived(&FAMILY, 1);

    #[test]
    fn a_handle_resolves_only_in_its_own_table_and_stale_names_what_it_is() {
        let a = APPLES.insert(Arc::new(1));
        let p = PEARS.insert(Arc::new(2));
        assert_eq!(*APPLES.get(a).unwrap(), 1);
        assert_eq!(APPLES.with(a, |v| *v + 1), Ok(2));
        let e = APPLES.get(p).unwrap_err();
        assert_eq!(e.other, Some("pear"));
        assert_eq!(
            e.to_string(),
            format!("stale or invalid apple handle 0x{p:016x} (it is a pear handle)")
        );
        assert_eq!(*PEARS.remove(p).unwrap(), 2);
        let e = PEARS.remove(p).unwrap_err();
        assert_eq!(
            (e.table, e.other, e.retired),
            ("pear", None, true),
            "a stale handle of its own table"
        );
        assert!(
            !APPLES.get(p).unwrap_err().retired,
            "a pear is no retired apple"
        );
        let forged = APPLES.get(0).unwrap_err();
        assert_eq!((forged.other, forged.retired), (None, false), "forged");
        assert!(
            !APPLES.get(0x71 << 56).unwrap_err().retired,
            "generation 0 is never issued"
        );
        assert_eq!(*APPLES.remove(a).unwrap(), 1);
        assert!(APPLES.is_empty() && PEARS.is_empty());
    }
}
