//! The bulk copies of the isolated call path: an input into its shared
//! region (two threads for large inputs) and an output range out of shared
//! memory into the caller's sink (straight into the final buffer where the
//! caller owns it).
#![forbid(unsafe_code)]

use super::super::sys::SharedMem;
use super::{COPY_CHUNK, PARALLEL_COPY_MIN};
use crate::error::Error;
use crate::output::{CallOutput, Direct};

/// Copy `input` to the start of `mem` (which holds it: the caller ensured
/// the region). An input of [`PARALLEL_COPY_MIN`] bytes or more is copied
/// by two threads, the caller's and a scoped helper, half each: one copy,
/// on two cores. False when it does not fit.
pub(super) fn copy_in(mem: &SharedMem, input: &[u8]) -> bool {
    if input.len() < PARALLEL_COPY_MIN {
        return mem.write_from(0, input);
    }
    // Split on a cache line, so the two threads never write the same one.
    let half = (input.len() / 2) & !63;
    let (first, second) = input.split_at(half);
    std::thread::scope(|s| {
        let helper = std::thread::Builder::new()
            .name("bh-copy-in".into())
            .spawn_scoped(s, || mem.write_from(half, second));
        let done = mem.write_from(0, first);
        match helper {
            Ok(h) => h.join().unwrap_or(false) && done,
            // No thread to be had: the caller copies the rest itself.
            Err(_) => done && mem.write_from(half, second),
        }
    })
}

/// Copy `len` bytes at `base` of `mem` into `out`: one copy, straight into
/// the caller's final buffer when it is memory the caller owns (a vector, a
/// buffer with room); through a bounce buffer otherwise. The range is the
/// host's own (validated) and inside `mem`; `Err` if it is not.
pub(super) fn copy_range(
    mem: &SharedMem,
    base: usize,
    len: usize,
    out: &mut CallOutput<'_>,
) -> Result<(), Error> {
    let direct = out.write_direct(len, |d| match d {
        Direct::Slice(dst) => mem.read_into(base, dst),
        Direct::Vec(v) => mem.append_to_vec(base, len, v),
    });
    if direct.is_ok_and(|done| !done) {
        // A custom sink, a spill, a buffer without room: through a
        // bounce buffer, a chunk at a time.
        let mut buf = vec![0u8; len.min(COPY_CHUNK)];
        let mut done = 0;
        while done < len {
            let k = (len - done).min(buf.len());
            if !mem.read_into(base + done, &mut buf[..k]) {
                return Err(Error::Internal("output outside its region".into()));
            }
            if out.write(&buf[..k]).is_err() {
                break;
            }
            done += k;
        }
    }
    Ok(())
}
