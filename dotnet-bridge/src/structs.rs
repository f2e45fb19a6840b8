//! Versioned structs a caller passes or fills: the prefix rule of docs/C_ABI.md ("Extending
//! structs") for `bh_host_options`, `bh_module_options` and `bh_counters` (unsafe boundary
//! module). [`Contract`]'s methods here read a caller's options struct, hand out the struct an
//! export fills (one rule for every one of them, [`PrefixedOut`]), and check every
//! `struct_size` against the field ends of its struct; the pointer contract itself (null,
//! lengths, alignment, overlap) is `crate::ptr`'s.

use crate::ptr::{check_aligned, invalid, null_out, Contract};
use crate::types::{bh_counters, bh_host_options, bh_module_options};
use bhcore::{Error, Result};
use std::marker::PhantomData;
use std::mem::{offset_of, size_of};
use std::ptr::NonNull;

impl Contract {
    /// The caller's `bh_host_options`, or `None` for NULL (defaults), read
    /// by the prefix rule ([`read_prefixed`]).
    pub(crate) fn host_options(
        &self,
        p: *const bh_host_options,
    ) -> Result<Option<bh_host_options>> {
        // SAFETY: the pointer contract of `Contract::new` (NULL or readable
        // for the `struct_size` it declares).
        unsafe { read_prefixed(p, &HOST_OPTIONS_SIZES, "bh_host_options") }
    }

    /// The caller's `bh_module_options`, or `None` for NULL (defaults), read
    /// by the prefix rule ([`read_prefixed`]).
    pub(crate) fn module_options(
        &self,
        p: *const bh_module_options,
    ) -> Result<Option<bh_module_options>> {
        // SAFETY: as in `host_options`.
        unsafe { read_prefixed(p, &MODULE_OPTIONS_SIZES, "bh_module_options") }
    }

    /// The caller's `bh_counters` to fill (non-null, aligned, a `struct_size` accepted by the
    /// prefix rule: [`COUNTERS_SIZES`], or larger up to [`STRUCT_SIZE_MAX`]), filled as every
    /// struct the library fills is ([`PrefixedOut::fill`]).
    pub(crate) fn counters<'c>(
        &'c self,
        p: *mut bh_counters,
    ) -> Result<PrefixedOut<'c, bh_counters>> {
        // SAFETY: as in `host_options_out`.
        unsafe { prefixed_out(p, &COUNTERS_SIZES, "bh_counters") }
    }
}

/// A caller's struct to fill (`bh_*_options_default`, `bh_*_counters`), by
/// the prefix rule: `struct_size` bytes at `p` are the caller's.
#[derive(Debug)]
pub(crate) struct PrefixedOut<'c, T> {
    p: NonNull<T>,
    size: usize,
    _borrow: PhantomData<&'c mut T>,
}

impl<T: Copy> PrefixedOut<'_, T> {
    /// Write `full` over the caller's struct after its `struct_size` (the
    /// first four bytes, left as they are): the bytes of `full` that fit in
    /// `struct_size`, and zero (the default of every field of a later
    /// version) for any bytes beyond `size_of::<T>()`.
    pub(crate) fn fill(self, full: &T) {
        const HEADER: usize = 4;
        let ours = size_of::<T>();
        let n = self.size.min(ours);
        let src = (full as *const T).cast::<u8>();
        let dst = self.p.as_ptr().cast::<u8>();
        // SAFETY: HEADER <= min size <= n <= size_of::<T>(), so the read
        // stays inside `full`; n <= struct_size, which the caller promised is
        // writable at `p`; `full` is our own value, disjoint from it.
        unsafe { std::ptr::copy_nonoverlapping(src.add(HEADER), dst.add(HEADER), n - HEADER) };
        if self.size > ours {
            // SAFETY: bytes ours..struct_size are the caller's, writable by
            // the contract.
            unsafe { std::ptr::write_bytes(dst.add(ours), 0, self.size - ours) };
        }
    }
}

impl Contract {
    /// The caller's `bh_host_options` to fill (non-null, aligned, a
    /// `struct_size` accepted by the prefix rule).
    pub(crate) fn host_options_out<'c>(
        &'c self,
        p: *mut bh_host_options,
    ) -> Result<PrefixedOut<'c, bh_host_options>> {
        // SAFETY: the pointer contract of `Contract::assume`.
        unsafe { prefixed_out(p, &HOST_OPTIONS_SIZES, "bh_host_options") }
    }

    /// The caller's `bh_module_options` to fill (see `host_options_out`).
    pub(crate) fn module_options_out<'c>(
        &'c self,
        p: *mut bh_module_options,
    ) -> Result<PrefixedOut<'c, bh_module_options>> {
        // SAFETY: as in `host_options_out`.
        unsafe { prefixed_out(p, &MODULE_OPTIONS_SIZES, "bh_module_options") }
    }
}

/// Check a struct to fill: non-null, aligned, a `struct_size` accepted by
/// [`check_struct_size`] (at most [`STRUCT_SIZE_MAX`]).
///
/// # Safety
/// `p` is NULL or writable (so readable) for the `struct_size` bytes it
/// declares, for the rest of the export call.
unsafe fn prefixed_out<'c, T>(
    p: *mut T,
    sizes: &[usize],
    name: &str,
) -> Result<PrefixedOut<'c, T>> {
    let p = NonNull::new(p).ok_or_else(|| null_out(name))?;
    check_aligned(p.as_ptr(), name)?;
    // SAFETY: non-null, aligned, and the contract makes struct_size bytes
    // (at least the first four, which hold it) readable at p.
    let declared = unsafe { p.as_ptr().cast::<u32>().read() } as usize;
    check_struct_size::<T>(declared, sizes, name)?;
    Ok(PrefixedOut {
        p,
        size: declared,
        _borrow: PhantomData,
    })
}

/// No versioned struct of this ABI grows past this: a larger `struct_size` is
/// a garbage value, refused before anything beyond the known fields is read
/// or written.
pub(crate) const STRUCT_SIZE_MAX: usize = 4096;

// The sizes a caller's struct smaller than this library's may have: where one of its fields
// ends, from the oldest struct accepted (0.1's) up to the current one (a pointer and its length
// are one field: a struct never has one without the other). Every older header's `sizeof` is
// one of them. Appending a field to a struct: add the offset where it starts (the end of the
// struct before it) before the final `size_of` (`struct_size_lists_are_the_field_ends` below
// checks that every size a header ever had stays accepted).

/// `bh_host_options`: 32 (0.1), 40, 56, 72, 76, 80.
pub(crate) const HOST_OPTIONS_SIZES: [usize; 6] = [
    offset_of!(bh_host_options, event_queue_bytes), // 0.1
    offset_of!(bh_host_options, thread_name),       // + event_queue_bytes
    offset_of!(bh_host_options, module_dirs),       // + thread_name, thread_name_len
    offset_of!(bh_host_options, explicit_zero),     // + module_dirs, module_dirs_len
    offset_of!(bh_host_options, reserved),          // + explicit_zero
    size_of::<bh_host_options>(),                   // + reserved
];

/// `bh_module_options`: 80 (0.1), 88, 92, 96 (before the supervision fields), 100, 104, 112,
/// 120, 128, 136, 144, 148, 152.
pub(crate) const MODULE_OPTIONS_SIZES: [usize; 13] = [
    offset_of!(bh_module_options, max_event), // 0.1
    offset_of!(bh_module_options, validate_in_worker),
    offset_of!(bh_module_options, explicit_zero),
    offset_of!(bh_module_options, spare_workers),
    offset_of!(bh_module_options, breaker_failures),
    offset_of!(bh_module_options, breaker_window_ms),
    offset_of!(bh_module_options, breaker_cooldown_ms),
    offset_of!(bh_module_options, startup_timeout_ms),
    offset_of!(bh_module_options, close_grace_ms),
    offset_of!(bh_module_options, cpu_limit_ms),
    offset_of!(bh_module_options, open_files),
    offset_of!(bh_module_options, sandbox),
    size_of::<bh_module_options>(),
];

/// `bh_counters`: the 8-byte header (struct_size, reserved), then any whole number of its
/// `u64` counters: 8, 16, .., 160.
pub(crate) const COUNTERS_SIZES: [usize; (size_of::<bh_counters>() - 8) / 8 + 1] = {
    let mut sizes = [0; (size_of::<bh_counters>() - 8) / 8 + 1];
    let mut i = 0;
    while i < sizes.len() {
        sizes[i] = 8 + 8 * i;
        i += 1;
    }
    sizes
};

/// The struct-size half of the prefix rule (docs/C_ABI.md "Extending structs"), the same for
/// every struct a caller passes or fills: `struct_size` (`declared`) is at least the oldest
/// size (`sizes[0]`) and at most [`STRUCT_SIZE_MAX`]; below `size_of::<T>()` it must be one of
/// `sizes`, the ends of the struct's fields, so that no field is ever half the caller's (a
/// field cut in two is never read as the caller's bytes and zeros, nor written in part).
/// A size at or above `size_of::<T>()` is a newer header's (its bytes beyond ours are judged by
/// the caller of this function).
fn check_struct_size<T>(declared: usize, sizes: &[usize], name: &str) -> Result<()> {
    let ours = size_of::<T>();
    let min = sizes[0];
    if declared < min || declared > STRUCT_SIZE_MAX {
        return Err(bad_size(declared, ours, min, name));
    }
    if declared < ours && !sizes.contains(&declared) {
        return Err(inside_a_field(declared, ours, sizes, name));
    }
    Ok(())
}

#[cold]
#[inline(never)]
fn bad_size(declared: usize, ours: usize, min: usize, name: &str) -> Error {
    invalid(format!(
        "{name}.struct_size is {declared}; set it to sizeof({name}) ({ours}; at least {min}, \
         at most {STRUCT_SIZE_MAX})"
    ))
}

#[cold]
#[inline(never)]
fn inside_a_field(declared: usize, ours: usize, sizes: &[usize], name: &str) -> Error {
    let ends: Vec<String> = sizes
        .iter()
        .filter(|&&s| s < ours)
        .map(|s| s.to_string())
        .collect();
    invalid(format!(
        "{name}.struct_size is {declared}, which ends inside a field; set it to sizeof({name}) \
         ({ours}), or to where a field ends for an older struct ({})",
        ends.join(", ")
    ))
}

/// The prefix rule for every options struct (docs/C_ABI.md "Extending
/// structs"): `struct_size` (the first field) is the caller's `sizeof`. A
/// struct from an older header (`struct_size < sizeof(T)`, one of `sizes`:
/// [`check_struct_size`]) is accepted and the fields it does not have are
/// zero, which means "default". A struct from a newer header (`struct_size >
/// sizeof(T)`) is accepted if every byte this library does not know is zero,
/// and refused otherwise (an option this version cannot honour). Smaller than
/// `sizes[0]`, larger than [`STRUCT_SIZE_MAX`], or ending inside a field:
/// `BH_E_INVALID_ARGUMENT`.
///
/// # Safety
/// `p` is NULL or readable for the `struct_size` bytes it declares (at least
/// its first four), and not written during the call.
unsafe fn read_prefixed<T: Copy>(p: *const T, sizes: &[usize], name: &str) -> Result<Option<T>> {
    if p.is_null() {
        return Ok(None);
    }
    check_aligned(p, name)?;
    // SAFETY: p is non-null and aligned; struct_size is the first field
    // (offset 0, pinned by tests/abi.rs) and the contract makes the struct's
    // declared bytes readable, which include these four.
    let declared = unsafe { p.cast::<u32>().read() } as usize;
    let ours = size_of::<T>();
    check_struct_size::<T>(declared, sizes, name)?;
    let bytes = p.cast::<u8>();
    if declared > ours {
        // SAFETY: the caller declared `declared` bytes readable at p.
        let tail = unsafe { std::slice::from_raw_parts(bytes.add(ours), declared - ours) };
        if let Some(i) = tail.iter().position(|&b| b != 0) {
            return Err(invalid(format!(
                "{name}.struct_size is {declared}: byte {} is set, but this library knows only the first {ours} bytes (an option it cannot honour)",
                ours + i
            )));
        }
    }
    let mut out = std::mem::MaybeUninit::<T>::zeroed();
    // SAFETY: min(declared, ours) bytes are readable at p (the caller's
    // declaration) and writable in `out` (its size is `ours`); the two do not
    // overlap (`out` is our local).
    unsafe {
        std::ptr::copy_nonoverlapping(bytes, out.as_mut_ptr().cast::<u8>(), declared.min(ours))
    };
    // SAFETY: every T used here is a repr(C) struct of integers and raw
    // pointers, for which all-zero and any copied bit pattern are valid
    // values; `out` is fully initialised (zeroed, then partly overwritten).
    Ok(Some(unsafe { out.assume_init() }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::c_char;

    fn contract() -> Contract {
        // SAFETY: the tests below pass only null pointers or pointers to live locals with their
        // true sizes.
        unsafe { Contract::assume() }
    }

    #[test]
    fn options_structs_follow_the_prefix_rule() {
        let c = contract();
        let zeroed = || {
            // SAFETY: integers and raw pointers: all-zero is valid.
            unsafe { std::mem::zeroed::<bh_module_options>() }
        };
        // An old (0.1) caller: 80 bytes, no max_event. The byte after its struct
        // is garbage that must not be read as max_event.
        let mut old = [0u64; 11];
        let o = old.as_mut_ptr().cast::<bh_module_options>();
        // SAFETY: `old` is 88 bytes, aligned to 8; we write within it, through
        // `o` only (so that `o` stays valid for the read below).
        unsafe {
            (*o).struct_size = 80;
            (*o).workers = 3;
            o.cast::<u64>().add(10).write(0xdead);
        }
        let got = c.module_options(o).unwrap().unwrap();
        assert_eq!((got.struct_size, got.workers, got.max_event), (80, 3, 0));
        // The current size carries max_event.
        let mut cur = zeroed();
        cur.struct_size = size_of::<bh_module_options>() as u32;
        cur.max_event = 64;
        assert_eq!(c.module_options(&cur).unwrap().unwrap().max_event, 64);
        // Smaller than 0.1: refused.
        cur.struct_size = 72;
        let e = c.module_options(&cur).unwrap_err();
        assert!(e.to_string().contains("at least 80"), "{e}");
        // An 88-byte caller (before validate_in_worker): the word after its struct is not
        // read as validate_in_worker.
        let mut mid = [0u64; 12];
        let o = mid.as_mut_ptr().cast::<bh_module_options>();
        // SAFETY: `mid` is 96 bytes, aligned to 8; written through `o` only.
        unsafe {
            (*o).struct_size = 88;
            o.cast::<u64>().add(11).write(1);
        }
        let got = c.module_options(o).unwrap().unwrap();
        assert_eq!((got.struct_size, got.validate_in_worker), (88, 0));
        // A 96-byte caller (before the supervision fields): the words after its struct are
        // not read as spare_workers .. sandbox.
        let mut pre = [0u64; 19];
        let o = pre.as_mut_ptr().cast::<bh_module_options>();
        // SAFETY: `pre` is 152 bytes, aligned to 8; written through `o` only.
        unsafe {
            (*o).struct_size = 96;
            for i in 12..19 {
                o.cast::<u64>().add(i).write(u64::MAX);
            }
        }
        let got = c.module_options(o).unwrap().unwrap();
        assert_eq!(
            (
                got.spare_workers,
                got.breaker_failures,
                got.breaker_window_ms,
                got.close_grace_ms,
                got.cpu_limit_ms,
                got.open_files,
                got.sandbox
            ),
            (0, 0, 0, 0, 0, 0, 0)
        );
        // A newer, larger caller: accepted if the unknown tail is zero.
        let mut newer = [0u64; 20];
        let n = newer.as_mut_ptr().cast::<bh_module_options>();
        // SAFETY: `newer` is 160 bytes, aligned to 8; written through `n` only.
        unsafe { (*n).struct_size = 160 };
        assert!(c.module_options(n).unwrap().is_some());
        // SAFETY: as above; byte 152 is inside `newer`.
        unsafe { n.cast::<u64>().add(19).write(1) };
        let e = c.module_options(n).unwrap_err();
        assert!(e.to_string().contains("byte 152 is set"), "{e}");
        // Host options: 32 bytes since 0.1; fewer are refused.
        // SAFETY: as above.
        let mut ho = unsafe { std::mem::zeroed::<bh_host_options>() };
        ho.struct_size = 31;
        assert!(c.host_options(&ho).is_err());
        ho.struct_size = 32;
        ho.submit_threads = 2;
        ho.event_queue_bytes = 0xdead; // past a 0.1 caller's struct: not read
        let got = c.host_options(&ho).unwrap().unwrap();
        assert_eq!((got.submit_threads, got.event_queue_bytes), (2, 0));
        ho.struct_size = size_of::<bh_host_options>() as u32;
        assert_eq!(
            c.host_options(&ho).unwrap().unwrap().event_queue_bytes,
            0xdead
        );
        // thread_name came after 0.1's 40 bytes: a 40-byte caller's is not read.
        ho.thread_name = NonNull::<c_char>::dangling().as_ptr(); // refused if read
        ho.thread_name_len = 1;
        ho.struct_size = 40;
        let got = c.host_options(&ho).unwrap().unwrap();
        assert_eq!(
            (got.thread_name, got.thread_name_len),
            (std::ptr::null(), 0)
        );
        // module_dirs came after the 56-byte struct: a 56-byte caller's is not read.
        ho.thread_name = std::ptr::null();
        ho.thread_name_len = 0;
        ho.module_dirs = NonNull::<c_char>::dangling().as_ptr(); // refused if read
        ho.module_dirs_len = 1;
        ho.struct_size = 56;
        let got = c.host_options(&ho).unwrap().unwrap();
        assert_eq!(
            (got.module_dirs, got.module_dirs_len),
            (std::ptr::null(), 0)
        );
        assert!(c.host_options(std::ptr::null()).unwrap().is_none());
    }

    #[test]
    fn counters_fill_only_whole_fields_within_struct_size() {
        let c = contract();
        let full = bh_counters {
            calls: 1,
            errors: 2,
            crashes: 3,
            latency_ns_max: 99,
            ..bh_counters::default()
        };
        let mut mine = bh_counters {
            struct_size: 8 + 8, // the header and calls
            reserved: 0xdead,
            errors: 555,
            ..bh_counters::default()
        };
        c.counters(&mut mine).unwrap().fill(&full);
        assert_eq!(mine.calls, 1);
        assert_eq!(
            mine.errors, 555,
            "a field beyond struct_size is not written"
        );
        assert_eq!(mine.struct_size, 16, "struct_size is the caller's");
        assert_eq!(
            mine.reserved, 0,
            "written as every field within struct_size is"
        );
        // A newer caller's bigger struct: this library's counters, then zero (the default of
        // the fields it does not know), as for the options structs; past 4096 bytes refused.
        let mut newer = [0xabab_abab_abab_abab_u64; 24];
        newer[0] = (size_of::<bh_counters>() + 16) as u64; // struct_size, reserved 0
        let p = newer.as_mut_ptr().cast::<bh_counters>();
        c.counters(p).unwrap().fill(&full);
        assert_eq!(newer[1], 1, "calls");
        assert_eq!(newer[2], 2, "errors");
        let ours = size_of::<bh_counters>() / 8;
        assert_eq!(
            &newer[ours..ours + 2],
            &[0, 0],
            "the tail a newer header knows is zeroed"
        );
        assert_eq!(
            newer[ours + 2],
            0xabab_abab_abab_abab,
            "nothing past struct_size"
        );
        newer[0] = 4096 + 8;
        let e = c.counters(newer.as_mut_ptr().cast()).unwrap_err();
        assert!(e.to_string().contains("at most 4096"), "{e}");
        // A size that ends inside a field is refused before anything is written.
        mine.struct_size = 8 + 8 + 7;
        let e = c.counters(&mut mine).unwrap_err();
        assert!(e.to_string().contains("ends inside a field"), "{e}");
        let mut small = bh_counters {
            struct_size: 4,
            ..bh_counters::default()
        };
        assert!(c.counters(&mut small).is_err());
    }

    /// The sizes an older caller may pass are the ends of the struct's fields, ascending, from
    /// the 0.1 size to the current one, and include every size a header ever had.
    #[test]
    fn struct_size_lists_are_the_field_ends() {
        fn check(sizes: &[usize], ours: usize, had: &[usize]) {
            assert!(sizes.windows(2).all(|w| w[0] < w[1]), "{sizes:?} ascends");
            assert_eq!(sizes.last(), Some(&ours));
            for h in had {
                assert!(sizes.contains(h), "{h} (a header's sizeof) is accepted");
            }
        }
        check(
            &HOST_OPTIONS_SIZES,
            size_of::<bh_host_options>(),
            &[32, 40, 56, 72, 80],
        );
        assert_eq!(HOST_OPTIONS_SIZES, [32, 40, 56, 72, 76, 80]);
        check(
            &MODULE_OPTIONS_SIZES,
            size_of::<bh_module_options>(),
            &[80, 88, 96, 152],
        );
        assert_eq!(
            MODULE_OPTIONS_SIZES,
            [80, 88, 92, 96, 100, 104, 112, 120, 128, 136, 144, 148, 152]
        );
        check(&COUNTERS_SIZES, size_of::<bh_counters>(), &[120, 160]);
        assert_eq!(COUNTERS_SIZES[0], 8);
    }

    /// A `struct_size` that ends inside a field is refused by every struct, in and out, before
    /// anything is read or written; one on a field boundary is accepted; at or above the
    /// current size the newer-header rule applies.
    #[test]
    fn a_struct_size_inside_a_field_is_refused() {
        let c = contract();
        fn inside(sizes: &[usize], ours: usize) -> Vec<usize> {
            (sizes[0]..ours).filter(|s| !sizes.contains(s)).collect()
        }
        let mo_inside = inside(&MODULE_OPTIONS_SIZES, size_of::<bh_module_options>());
        assert!(mo_inside.contains(&98) && mo_inside.contains(&150) && mo_inside.contains(&84));
        // Backing storage larger than any size tried, aligned to 8, all 0xff: a field read
        // in part would show up as a mix of these bytes and zeros.
        let mut buf = [u64::MAX; 32];
        let p = buf.as_mut_ptr();
        let set_size = |p: *mut u64, size: usize| {
            // SAFETY: p points to `buf` (256 bytes, aligned to 8); struct_size is its first
            // four bytes.
            unsafe { p.cast::<u32>().write(size as u32) }
        };
        for size in mo_inside {
            set_size(p, size);
            let e = c.module_options(p.cast()).unwrap_err();
            assert!(e.to_string().contains("ends inside a field"), "{size}: {e}");
            assert!(e.to_string().contains(&format!("struct_size is {size}")));
            let e = c.module_options_out(p.cast()).unwrap_err();
            assert!(e.to_string().contains("ends inside a field"), "{size}: {e}");
        }
        for size in inside(&HOST_OPTIONS_SIZES, size_of::<bh_host_options>()) {
            set_size(p, size);
            let e = c.host_options(p.cast()).unwrap_err();
            assert!(e.to_string().contains("ends inside a field"), "{size}: {e}");
            let e = c.host_options_out(p.cast()).unwrap_err();
            assert!(e.to_string().contains("ends inside a field"), "{size}: {e}");
        }
        for size in inside(&COUNTERS_SIZES, size_of::<bh_counters>()) {
            set_size(p, size);
            let e = c.counters(p.cast()).unwrap_err();
            assert!(e.to_string().contains("ends inside a field"), "{size}: {e}");
        }
        // SAFETY: p points to `buf`, 256 readable bytes.
        let untouched = |p: *mut u64| unsafe { (1..32).all(|i| p.add(i).read() == u64::MAX) };
        assert!(untouched(p), "nothing written by a refused call");
        // Every boundary is accepted, and reads whole fields only: a 100-byte caller has
        // spare_workers (all ones here), not breaker_failures.
        set_size(p, 100);
        let got = c.module_options(p.cast()).unwrap().unwrap();
        assert_eq!((got.spare_workers, got.breaker_failures), (u32::MAX, 0));
        for &size in &MODULE_OPTIONS_SIZES {
            set_size(p, size);
            assert!(c.module_options(p.cast()).is_ok(), "{size}");
        }
        for &size in &HOST_OPTIONS_SIZES {
            set_size(p, size);
            assert!(c.host_options(p.cast()).is_ok(), "{size}");
        }
        // The default of a 100-byte caller writes spare_workers, not the half of anything.
        let mut out = [u64::MAX; 32];
        let o = out.as_mut_ptr();
        set_size(o, 100);
        let full = bh_module_options {
            struct_size: size_of::<bh_module_options>() as u32,
            spare_workers: 1,
            breaker_failures: 5,
            // SAFETY: integers and raw pointers: all-zero is valid.
            ..unsafe { std::mem::zeroed() }
        };
        c.module_options_out(o.cast()).unwrap().fill(&full);
        // SAFETY: `out` is 256 bytes, aligned to 8; offsets 96 and 100 are inside it.
        let (spare, failures) = unsafe {
            (
                o.cast::<u8>().add(96).cast::<u32>().read(),
                o.cast::<u8>().add(100).cast::<u32>().read(),
            )
        };
        assert_eq!((spare, failures), (1, u32::MAX));
        for &size in &COUNTERS_SIZES {
            set_size(p, size);
            assert!(c.counters(p.cast()).is_ok(), "{size}");
        }
        // At or above the current size: a newer header's struct, judged by its unknown bytes
        // (not by boundaries this library cannot know).
        set_size(p, size_of::<bh_counters>() + 3);
        assert!(c.counters(p.cast()).is_ok());
        buf = [0; 32];
        let p = buf.as_mut_ptr();
        set_size(p, size_of::<bh_module_options>() + 3);
        assert!(c.module_options(p.cast()).is_ok());
    }
}
