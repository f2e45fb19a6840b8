//! Helpers shared by the integration tests: they drive the exports exactly as
//! a C caller would (raw pointers, status codes, the thread-local error).
#![allow(dead_code)]

use bridgehost_c::*;
use std::path::PathBuf;
use std::sync::{Mutex, MutexGuard};

/// Tests that count live handles run one at a time (the tables are global).
static SERIAL: Mutex<()> = Mutex::new(());

pub fn serial() -> MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

/// The staged module directory: `BRIDGEHOST_MODULE_PATH`'s first entry, else
/// `<workspace>/target/dist` (scripts/build.sh fills it).
pub fn dist() -> PathBuf {
    let dir = std::env::var_os("BRIDGEHOST_MODULE_PATH")
        .and_then(|v| std::env::split_paths(&v).next())
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/dist"));
    assert!(
        dir.join("libbridgehost_mod_std.so").is_file(),
        "bundled modules not found in {}: run scripts/build.sh (or cargo build -p bridgehost-mod-std \
         and make -C plugins OUT=target/dist, then copy libbridgehost_mod_std.so there)",
        dir.display()
    );
    dir
}

/// This thread's last error message.
pub fn last_error() -> String {
    // SAFETY: (NULL, 0) sizes; then a buffer of exactly the stated capacity.
    let n = unsafe { bh_last_error_message(std::ptr::null_mut(), 0) };
    let mut buf = vec![0u8; n + 1];
    // SAFETY: buf is writable for its length.
    let m = unsafe { bh_last_error_message(buf.as_mut_ptr().cast(), buf.len()) };
    assert_eq!(m, n);
    assert_eq!(buf[n], 0, "NUL-terminated");
    String::from_utf8(buf[..n].to_vec()).unwrap()
}

/// Assert `status` is `want`, with the last error in the message.
#[track_caller]
pub fn expect(status: bh_status, want: bh_status) {
    if status != want {
        panic!(
            "status {status}, want {want} (last error: {})",
            last_error()
        );
    }
}

/// Assert `status` is `want` and the last error message contains `needle`.
#[track_caller]
pub fn expect_err(status: bh_status, want: bh_status, needle: &str) {
    expect(status, want);
    let m = last_error();
    assert!(
        m.contains(needle),
        "last error {m:?} does not contain {needle:?}"
    );
}

/// A host that finds the staged modules.
pub fn host() -> bh_host {
    let dir = dist();
    let dir = dir.to_str().unwrap();
    let opts = bh_host_options {
        struct_size: std::mem::size_of::<bh_host_options>() as u32,
        submit_threads: 2,
        submit_queue_capacity: 0,
        event_queue_capacity: 0,
        module_dir: dir.as_ptr().cast(),
        module_dir_len: dir.len(),
        event_queue_bytes: 0,
        thread_name: std::ptr::null(),
        thread_name_len: 0,
        module_dirs: std::ptr::null(),
        module_dirs_len: 0,
        explicit_zero: 0,
        reserved: 0,
    };
    let mut h = Default::default();
    // SAFETY: opts and its module_dir are live for the call; h is writable.
    expect(unsafe { bh_host_new(&opts, &mut h) }, BH_OK);
    h
}

/// Open `spec` in-process with default options.
pub fn open(h: bh_host, spec: &str) -> bh_module {
    let mut m = Default::default();
    // SAFETY: spec is live for the call; m is writable.
    expect(
        unsafe {
            bh_module_open(
                h,
                spec.as_ptr().cast(),
                spec.len(),
                std::ptr::null(),
                &mut m,
            )
        },
        BH_OK,
    );
    m
}

/// Resolve `name`.
pub fn method(m: bh_module, name: &str) -> bh_method {
    let mut f = Default::default();
    // SAFETY: name is live for the call; f is writable.
    expect(
        unsafe { bh_method_resolve(m, name.as_ptr().cast(), name.len(), &mut f) },
        BH_OK,
    );
    f
}

/// Call `f` and return the output (the buffer is freed).
pub fn call(f: bh_method, input: &[u8]) -> Result<Vec<u8>, bh_status> {
    let mut b = Default::default();
    // SAFETY: input is live for the call; b is writable.
    let s = unsafe { bh_call(f, input.as_ptr(), input.len(), &mut b) };
    if s != BH_OK {
        return Err(s);
    }
    let mut p = std::ptr::null();
    let mut n = Default::default();
    // SAFETY: out-pointers are writable locals.
    expect(unsafe { bh_buffer_data(b, &mut p, &mut n) }, BH_OK);
    assert!(!p.is_null(), "buffer data is never NULL");
    // SAFETY: the buffer is live until bh_buffer_free below.
    let v = unsafe { std::slice::from_raw_parts(p, n) }.to_vec();
    expect(bh_buffer_free(b), BH_OK);
    Ok(v)
}
