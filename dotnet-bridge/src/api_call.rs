//! Calls: synchronous into a library buffer or a caller buffer, asynchronous
//! with a completion callback and cancellation; output buffers.

use crate::callback::Completion;
use crate::handles::{TaskSlot, BUFFERS, METHODS, SHARED_BUFFERS, TASKS};
use crate::ptr::{data_ptr, Contract};
use crate::types::{bh_buffer, bh_completion_fn, bh_method, bh_shared_buffer, bh_status, bh_task};
use bhcore::interface::typed::wire;
use bhcore::internal::shared_buffer_ptr;
use bhcore::output::{CallOutput, ListRunSink, Spilled};
use bhcore::{Error, Method, RequestedLen, Result, SharedBuffer};
use std::ffi::c_void;
use std::sync::Arc;

/// Borrow the input of a call on `method` that is about to be *copied*
/// (`bh_submit`): its shape is checked (null with a length, > isize::MAX:
/// invalid argument), then the module's limit by the core's rule
/// (`Method::check_input_len`, resource limit), so that an input over the
/// limit is refused before a copy of it is made. A synchronous call borrows
/// its input with [`Contract::bytes`] alone: the core refuses an input over
/// the limit (and counts the refusal) before anything reads it.
fn input_to_copy<'c>(
    c: &'c Contract,
    method: &Method,
    p: *const u8,
    len: usize,
) -> Result<&'c [u8]> {
    c.check_bytes(p, len, "input")?;
    method.check_input_len(len)?;
    c.bytes(p, len, "input")
}

/// Call on this thread; the output becomes a `bh_buffer` (free it with
/// `bh_buffer_free`). `(NULL, 0)` is an empty input. `*out` is written on
/// success only.
///
/// # Safety
/// `input` must be NULL or readable for `in_len` bytes and not written during
/// the call; `out` valid for a write of `bh_buffer`.
#[no_mangle]
pub unsafe extern "C" fn bh_call(
    f: bh_method,
    input: *const u8,
    in_len: usize,
    out: *mut bh_buffer,
) -> bh_status {
    ffi_boundary!(|c| {
        let out = c.out(out, "out")?;
        let data = c.bytes(input, in_len, "input")?;
        // No separate input check: the core refuses an input over max_input
        // before anything reads a byte of it (as in bh_call_into and
        // bh_call_spill).
        let output = METHODS.with(f, |method| method.call(data))??;
        out.write(BUFFERS.insert(Arc::new(output)));
        Ok(())
    })
}

/// Call on this thread, writing the output into the caller's buffer
/// (`out` may be NULL when `out_cap` is 0). On `BH_OK`, `*out_len` is the
/// output length. On `BH_E_BUFFER_TOO_SMALL`, `*out_len` (and
/// `bh_last_error_detail()`) is the size required; the method ran, so call
/// again with a larger buffer only if it is idempotent. On any other error
/// `*out_len` is not written and the buffer's contents are unspecified (the
/// module may have written part of its output). `input` and `out` must not
/// overlap (`BH_E_INVALID_ARGUMENT`).
///
/// # Safety
/// `input` must be NULL or readable for `in_len` bytes; `out` NULL or
/// writable for `out_cap` bytes, neither touched by anyone else during the
/// call; `out_len` valid for a write of `size_t`.
#[no_mangle]
pub unsafe extern "C" fn bh_call_into(
    f: bh_method,
    input: *const u8,
    in_len: usize,
    out: *mut u8,
    out_cap: usize,
    out_len: *mut usize,
) -> bh_status {
    ffi_boundary!(|c| {
        let out_len = c.out(out_len, "out_len")?;
        let (data, buf) = c.in_out(input, in_len, out, out_cap)?;
        // As in bh_call_spill: the core refuses an input over max_input
        // before anything reads it.
        // The error is boxed inside the closures: a `Result<usize, Error>`
        // moved out through them cost two store-forwarding stalls per call
        // (`perf annotate` of a C loop over std.echo), `Result<usize, Box<_>>`
        // travels in two registers.
        let called = METHODS.with(f, |method| {
            buf.with(|buf| method.call_to_slice(data, buf).map_err(Box::new))
        })?;
        match called {
            Ok(n) => {
                out_len.write(n);
                Ok(())
            }
            Err(e) => {
                if let Error::BufferTooSmall { required } = *e {
                    out_len.write(required);
                }
                Err(*e)
            }
        }
    })
}

/// Call on this thread; the method runs exactly once and its whole output is
/// returned whatever its size. If it fits in `out[0..out_cap)`, it is
/// written there, `*out_len` is its length and `*spill` is 0. Otherwise it is
/// kept in a new buffer: `*spill` is its handle (read it with
/// `bh_buffer_data`, free it with `bh_buffer_free`), `*out_len` its length,
/// and the caller buffer's contents are unspecified. `out` may be NULL when
/// `out_cap` is 0 (every non-empty output then spills). `*out_len` and
/// `*spill` are written on success only; on error the buffer's contents are
/// unspecified. `input` and `out` must not overlap (`BH_E_INVALID_ARGUMENT`).
///
/// # Safety
/// `input` must be NULL or readable for `in_len` bytes; `out` NULL or
/// writable for `out_cap` bytes, neither touched by anyone else during the
/// call; `out_len` and `spill` valid for writes of their types.
#[no_mangle]
pub unsafe extern "C" fn bh_call_spill(
    f: bh_method,
    input: *const u8,
    in_len: usize,
    out: *mut u8,
    out_cap: usize,
    out_len: *mut usize,
    spill: *mut bh_buffer,
) -> bh_status {
    ffi_boundary!(|c| {
        let out_len = c.out(out_len, "out_len")?;
        let spill = c.out(spill, "spill")?;
        let (data, buf) = c.in_out(input, in_len, out, out_cap)?;
        // No separate input check: the core refuses an input over max_input
        // before the module (or anything else) reads a byte of it.
        // The error boxed inside the closures, as in bh_call_into.
        let stored = METHODS
            .with(f, |method| {
                buf.with(|buf| method.call_spill(data, buf).map_err(Box::new))
            })?
            .map_err(|e| *e)?;
        match stored {
            Spilled::InBuffer(n) => {
                out_len.write(n);
                spill.write(bh_buffer::default()); // {0}: no spill
            }
            Spilled::Spilled(v) => {
                out_len.write(v.len());
                spill.write(BUFFERS.insert(Arc::new(v)));
            }
        }
        Ok(())
    })
}

/// Call a direct-eligible method (a typed function whose parameters, at most
/// 8, and result, none or one, are all scalars: docs/TYPED.md, "Direct
/// calls") with one 64-bit slot per argument, on this thread: no encoding,
/// no output buffer. `*result` is the result's slot (0 for a function without
/// a result), written on success only. Slots: `bool` 0 or 1; `u8`..`u32`
/// zero-extended; `s8`..`s64` sign-extended; `u64` as is; `f32` its bits in
/// the low 32 bits; `f64` its bits; `char` the Unicode scalar value.
///
/// In-process, a module that exports a direct entry for the method runs it;
/// otherwise (isolated workers, single-thread modules, no direct entry) the
/// same arguments go through the ordinary call, with the same result.
/// `BH_E_INVALID_ARGUMENT` (no module code runs): a method without a scalar
/// signature, `nargs` not its parameter count ("add takes 2 argument(s), got
/// 3"), a slot that is not a value of its parameter's type ("parameter b:
/// 4294967296 is out of range for u32"), `args` NULL with `nargs` > 0 or not
/// aligned for `uint64_t`. A result slot that is not a value of the result
/// type is `BH_E_ABI_MISMATCH`. Other errors as for [`bh_call_into`].
///
/// # Safety
/// `args` must be NULL (with `nargs` 0) or readable for `nargs` `uint64_t`
/// and not written during the call; `result` valid for a write of
/// `uint64_t`.
#[no_mangle]
pub unsafe extern "C" fn bh_call_scalar(
    f: bh_method,
    args: *const u64,
    nargs: usize,
    result: *mut u64,
) -> bh_status {
    ffi_boundary!(|c| {
        let result = c.out(result, "result")?;
        let args = c.slots(args, nargs, "args")?;
        let slot = METHODS.call_scalar(f, args)?;
        result.write(slot);
        Ok(())
    })
}

/// [`bh_call_typed`] flag: the input is one `list<u8>`'s bytes; the call
/// encodes it (its `u32` little-endian length, then the bytes).
pub const BH_TYPED_LIST_INPUT: u32 = 1;
/// [`bh_call_typed`] flag: the output must be exactly one `list<u8>`; the
/// call checks it and reports where its bytes are.
pub const BH_TYPED_LIST_OUTPUT: u32 = 2;
/// [`bh_call_typed`] flag, with `BH_TYPED_LIST_OUTPUT` only: the caller
/// expects a `list<u8>` of exactly `out_cap` bytes and `out` receives the
/// list's bytes alone (no length prefix) when the output is that; any other
/// output goes whole to the spill buffer.
pub const BH_TYPED_LIST_EXACT: u32 = 4;

/// The call under a typed binding's function whose input and/or result is
/// one `list<u8>` (docs/TYPED.md): [`bh_call_spill`], except that with
/// `BH_TYPED_LIST_INPUT` the module's input is `input` encoded as a
/// `list<u8>` (the length is counted against `max_input`), and with
/// `BH_TYPED_LIST_OUTPUT` an output that is not exactly one `list<u8>` is
/// `BH_E_ABI_MISMATCH` ("output of F does not match its interface: ...") and
/// on success `*out_skip` is the offset of the list's bytes within the
/// output (in `out` or in the spill buffer) and `*out_len` their count.
/// Without that flag `*out_skip` is 0 and `*out_len` the output's length.
/// With `BH_TYPED_LIST_EXACT` (and `BH_TYPED_LIST_OUTPUT`) the caller
/// expects a `list<u8>` of exactly `out_cap` bytes: when the output is that,
/// the module's writes of its bytes go straight into `out` (the length
/// prefix is not stored), `*out_skip` is 0, `*out_len` is `out_cap` and
/// `*spill` is 0, so the caller's buffer is the result with no copy; any
/// other output goes whole into a spill buffer (`*spill`, with `*out_skip`
/// and `*out_len` as above, or `BH_E_ABI_MISMATCH`) and `out` holds an
/// unspecified prefix of the list's bytes. `BH_TYPED_LIST_EXACT` without
/// `BH_TYPED_LIST_OUTPUT`, and other flag bits, are `BH_E_INVALID_ARGUMENT`;
/// so is a flag the function's declared signature contradicts, refused
/// before the module runs: `BH_TYPED_LIST_INPUT` for a function whose
/// parameters are not exactly one `list<u8>`, `BH_TYPED_LIST_OUTPUT` for one
/// whose result is not `list<u8>` ("bh_call_typed: echo-string returns
/// string, not list<u8>"), and either flag on a method no typed interface
/// declares. With flags 0 it is [`bh_call_spill`].
/// Outputs are written on success only.
///
/// # Safety
/// As [`bh_call_spill`]; `out_skip` valid for a write of `size_t`.
#[no_mangle]
#[allow(clippy::too_many_arguments)]
pub unsafe extern "C" fn bh_call_typed(
    f: bh_method,
    input: *const u8,
    in_len: usize,
    flags: u32,
    out: *mut u8,
    out_cap: usize,
    out_len: *mut usize,
    out_skip: *mut usize,
    spill: *mut bh_buffer,
) -> bh_status {
    ffi_boundary!(|c| {
        if flags & !(BH_TYPED_LIST_INPUT | BH_TYPED_LIST_OUTPUT | BH_TYPED_LIST_EXACT) != 0 {
            return Err(Error::InvalidArgument(format!(
                "unknown bh_call_typed flags {flags:#x}"
            )));
        }
        let exact = flags & BH_TYPED_LIST_EXACT != 0;
        if exact && flags & BH_TYPED_LIST_OUTPUT == 0 {
            return Err(Error::InvalidArgument(
                "bh_call_typed: BH_TYPED_LIST_EXACT needs BH_TYPED_LIST_OUTPUT".into(),
            ));
        }
        let out_len = c.out(out_len, "out_len")?;
        let out_skip = c.out(out_skip, "out_skip")?;
        let spill = c.out(spill, "spill")?;
        let (data, buf) = c.in_out(input, in_len, out, out_cap)?;
        let (stored, skip, len) = METHODS.with(f, |method| {
            bhcore::interface::check_list_claim(
                method,
                flags & BH_TYPED_LIST_INPUT != 0,
                flags & BH_TYPED_LIST_OUTPUT != 0,
                "bh_call_typed",
            )?;
            let framed;
            let data = if flags & BH_TYPED_LIST_INPUT != 0 {
                let head = wire::run_prefix(data.len(), wire::Run::Bytes)
                    .map_err(|e| Error::InvalidArgument(e.to_string()))?;
                // Refused before the copy, as an untyped input is before it is read.
                method.check_input_len(data.len().saturating_add(head.len()))?;
                let mut v = Vec::new();
                v.try_reserve_exact(head.len() + data.len()).map_err(|_| {
                    Error::ResourceLimit(format!(
                        "cannot allocate {} bytes for the typed input",
                        head.len() + data.len()
                    ))
                })?;
                v.extend_from_slice(&head);
                v.extend_from_slice(data);
                framed = v;
                &framed[..]
            } else {
                data
            };
            buf.with(|buf| {
                if exact {
                    return call_list_exact(method, data, buf);
                }
                let stored = method.call_spill(data, buf)?;
                let output: &[u8] = match &stored {
                    Spilled::InBuffer(n) => &buf[..*n],
                    Spilled::Spilled(v) => v,
                };
                let (skip, len) = if flags & BH_TYPED_LIST_OUTPUT != 0 {
                    list_in(method, output)?
                } else {
                    (0, output.len())
                };
                Ok::<_, Error>((stored, skip, len))
            })
        })??;
        out_len.write(len);
        out_skip.write(skip);
        match stored {
            Spilled::InBuffer(_) => spill.write(bh_buffer::default()),
            Spilled::Spilled(v) => spill.write(BUFFERS.insert(Arc::new(v))),
        }
        Ok(())
    })
}

/// [`bh_call_typed`] with `BH_TYPED_LIST_EXACT`: the output through the
/// core's [`ListRunSink`] into `buf`. `(InBuffer(cap), 0, cap)` when the
/// output was exactly a `list<u8>` of `buf.len()` bytes (they are in `buf`);
/// otherwise the whole output spilled and checked as one `list<u8>`.
fn call_list_exact(
    method: &Method,
    input: &[u8],
    buf: &mut [u8],
) -> Result<(Spilled, usize, usize)> {
    let cap = buf.len();
    let mut spilled = Vec::new();
    let exact = {
        let mut sink = ListRunSink::new(buf, &mut spilled);
        method.call_into(
            input,
            &mut CallOutput::to_sink(&mut sink, method.max_output()),
        )?;
        sink.finish()
    };
    if exact {
        return Ok((Spilled::InBuffer(cap), 0, cap));
    }
    let (skip, len) = list_in(method, &spilled)?;
    Ok((Spilled::Spilled(spilled), skip, len))
}

/// Where the bytes of the one `list<u8>` that `output` must be start, and
/// their count (the core's check: anything else is `AbiMismatch`).
fn list_in(method: &Method, output: &[u8]) -> Result<(usize, usize)> {
    let payload = bhcore::interface::bytes_output(method, output)?;
    Ok((
        payload.as_ptr() as usize - output.as_ptr() as usize,
        payload.len(),
    ))
}

/// The bytes of a buffer: `*data` (never NULL, also when `*len` is 0) stays
/// valid until `bh_buffer_free`. Both outputs are written on success only.
///
/// # Safety
/// `data` and `len` must be valid for writes of their types.
#[no_mangle]
pub unsafe extern "C" fn bh_buffer_data(
    b: bh_buffer,
    data: *mut *const u8,
    len: *mut usize,
) -> bh_status {
    ffi_boundary!(|c| {
        let data = c.out(data, "data")?;
        let len = c.out(len, "len")?;
        // The table keeps its own reference: the bytes live until the handle
        // is freed, after this borrow has ended.
        let (p, n) = BUFFERS.with(b, |buf| (data_ptr(buf), buf.len()))?;
        data.write(p);
        len.write(n);
        Ok(())
    })
}

/// Free a buffer (its data pointer dangles afterwards). A second free is
/// `BH_E_CLOSED` (a retired handle).
#[no_mangle]
pub extern "C" fn bh_buffer_free(b: bh_buffer) -> bh_status {
    ffi_boundary!({
        BUFFERS.remove(b)?;
        Ok(())
    })
}

/// Check a shared buffer's length as a signed caller holds it (a .NET
/// `int`, a Java `long`) by the core's one rule for it, the rule
/// `bh_shared_buffer_new` applies: 0 or negative is `BH_E_INVALID_ARGUMENT`
/// ("a shared buffer of -1 bytes: give it a length of at least 1"), more than
/// this machine's RAM and swap `BH_E_RESOURCE_LIMIT`; nothing is allocated.
/// For callers whose length type is signed, so a negative length is refused
/// with its own value.
#[no_mangle]
pub extern "C" fn bh_shared_buffer_check_length(len: i64) -> bh_status {
    ffi_boundary!(|_c| {
        let requested = match usize::try_from(len) {
            Ok(n) => RequestedLen::Size(n),
            Err(_) => RequestedLen::Negative(&len),
        };
        SharedBuffer::check_len(requested).map(drop)
    })
}

/// A buffer of `len` (> 0) zero bytes that the caller writes and isolated
/// workers read in place: an input of `bh_call`/`bh_call_into`/`bh_call_spill`
/// that lies in it (above 64 KiB) is not copied into the worker
/// (docs/ISOLATION.md, "Transport"). `len` 0 is `BH_E_INVALID_ARGUMENT`;
/// memory that cannot be had, `BH_E_RESOURCE_LIMIT`. `*out` is written on
/// success only. A worker it was lent to can read everything written into it
/// until it is freed; no worker can change it.
///
/// # Safety
/// `out` must be valid for a write of `bh_shared_buffer`.
#[no_mangle]
pub unsafe extern "C" fn bh_shared_buffer_new(len: usize, out: *mut bh_shared_buffer) -> bh_status {
    ffi_boundary!(|c| {
        let out = c.out(out, "out")?;
        let buf = SharedBuffer::new(len)?;
        out.write(SHARED_BUFFERS.insert(Arc::new(buf)));
        Ok(())
    })
}

/// The bytes of a shared buffer, writable: `*data` stays valid until
/// `bh_shared_buffer_free`. Both outputs are written on success only. Do
/// not write the bytes while a call reads them, and do not free the buffer
/// while a call reads it (as for any input).
///
/// # Safety
/// `data` and `len` must be valid for writes of their types.
#[no_mangle]
pub unsafe extern "C" fn bh_shared_buffer_data(
    b: bh_shared_buffer,
    data: *mut *mut u8,
    len: *mut usize,
) -> bh_status {
    ffi_boundary!(|c| {
        let data = c.out(data, "data")?;
        let len = c.out(len, "len")?;
        let (p, n) = SHARED_BUFFERS.with(b, |buf| (shared_buffer_ptr(buf), buf.len()))?;
        data.write(p);
        len.write(n);
        Ok(())
    })
}

/// Free a shared buffer (its data pointer dangles afterwards; a worker that
/// held it lets it go at its next call). A second free is `BH_E_CLOSED`.
#[no_mangle]
pub extern "C" fn bh_shared_buffer_free(b: bh_shared_buffer) -> bh_status {
    ffi_boundary!({
        SHARED_BUFFERS.remove(b)?;
        Ok(())
    })
}

/// Run the call on the host's pool threads. `input` is copied before this
/// returns. If `BH_OK`, `cb` runs exactly once, on a pool thread (or on the
/// thread closing the host for tasks still queued then), with the output or
/// the error (`BH_E_CANCELLED`, `BH_E_CLOSED`, ...); if not, `cb` never runs.
/// `out` may be NULL; a task handle retires before `cb` runs (a later
/// `bh_task_cancel` is `BH_E_CLOSED`). A full queue is
/// `BH_E_OVERLOADED`.
///
/// # Safety
/// `input` must be NULL or readable for `in_len` bytes; `cb` a function of
/// type `bh_completion_fn` that does not unwind; `user_data` usable from the
/// pool thread until `cb` runs; `out` NULL or valid for a write of `bh_task`.
#[no_mangle]
pub unsafe extern "C" fn bh_submit(
    f: bh_method,
    input: *const u8,
    in_len: usize,
    cb: bh_completion_fn,
    user_data: *mut c_void,
    out: *mut bh_task,
) -> bh_status {
    ffi_boundary!(|c| {
        let out = c.opt_out(out, "out")?;
        let completion = Completion::new(c, cb, user_data)?;
        let method = METHODS.get(f)?;
        let data = input_to_copy(c, &method, input, in_len)?.to_vec();
        let Some(out) = out else {
            method.submit(data, move |r| completion.complete(r))?;
            return Ok(());
        };
        let slot = Arc::new(TaskSlot::default());
        let task = TASKS.insert(Arc::clone(&slot));
        let submitted = method.submit(data, move |r| {
            TASKS.retire(task);
            completion.complete(r)
        });
        match submitted {
            Ok(handle) => {
                // Only this call sets it; the slot is fresh.
                let _ = slot.submitted.set(handle);
                out.write(task);
                Ok(())
            }
            Err(e) => {
                TASKS.retire(task);
                Err(e)
            }
        }
    })
}

/// Cancel a submitted task: `*cancelled = 1` when it had not started, or was
/// a running isolated call (its worker is killed and replaced), and its
/// completion reports `BH_E_CANCELLED`; `*cancelled = 0` when it is a running
/// in-process call (it completes normally). A task whose completion already
/// ran has a retired handle: `BH_E_CLOSED`.
///
/// # Safety
/// `cancelled` must be valid for a write of `int32_t`.
#[no_mangle]
pub unsafe extern "C" fn bh_task_cancel(t: bh_task, cancelled: *mut i32) -> bh_status {
    ffi_boundary!(|c| {
        let cancelled = c.out(cancelled, "cancelled")?;
        let slot = TASKS.get(t)?;
        let done = slot.submitted.get().is_some_and(|h| h.cancel());
        cancelled.write(i32::from(done));
        Ok(())
    })
}
