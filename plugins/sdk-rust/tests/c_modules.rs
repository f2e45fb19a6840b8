//! The C modules (plugins/c) built with plugins/Makefile and driven through
//! their C entry points by the SDK's test host; the broken fixtures checked
//! for exactly the defect each one claims. Crashing methods run in a child
//! process (this test binary re-executed).
//!
//! Needs `make` and a C compiler with zlib headers; without them the tests
//! print a loud SKIP and pass.

use bridgehost_module_sdk::abi::{self, ModuleDesc};
use bridgehost_module_sdk::testing::{late_uses, TestHost, TestInstance};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

const CHILD_ENV: &str = "BH_C_MODULES_CHILD";

fn manifest() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Build the C modules once per process; None (after a loud message) when
/// no toolchain is available.
fn out_dir() -> Option<&'static Path> {
    static OUT: OnceLock<Option<PathBuf>> = OnceLock::new();
    OUT.get_or_init(|| {
        let out = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("c-modules");
        if std::env::var_os(CHILD_ENV).is_some() {
            // A re-executed child: the parent built everything already (and
            // may have the files mapped: never rewrite them underneath it).
            return Some(out);
        }
        let plugins = manifest().join("..");
        let status = Command::new("make")
            .arg("-s")
            .arg("-C")
            .arg(&plugins)
            .arg(format!("OUT={}", out.display()))
            .status();
        match status {
            Ok(s) if s.success() => {}
            Ok(s) => panic!("make -C plugins failed: {s}"),
            Err(e) => {
                // Straight to stderr: libtest captures eprintln! of passing tests.
                let _ = std::io::Write::write_all(
                    &mut std::io::stderr(),
                    format!("\n*** SKIP: cannot run make ({e}); C module tests NOT run ***\n")
                        .as_bytes(),
                );
                return None;
            }
        }
        // A variant of zlib.c that feeds zlib in 1000-byte slices, to exercise
        // the > UINT_MAX chunking path without 4 GiB inputs.
        let cc = std::env::var("CC").unwrap_or_else(|_| "cc".into());
        let s = Command::new(&cc)
            .args([
                "-O2",
                "-g",
                "-fPIC",
                "-shared",
                "-Wall",
                "-Wextra",
                "-Werror",
                "-DBH_ZLIB_MAX_FEED=1000",
            ])
            .arg(format!("-I{}", plugins.join("include").display()))
            .arg("-o")
            .arg(out.join("libzlib_smallfeed.so.tmp"))
            .arg(plugins.join("c/zlib.c"))
            .arg("-lz")
            .status()
            .expect("C compiler vanished between make and now");
        assert!(s.success(), "building the small-feed zlib variant failed");
        std::fs::rename(
            out.join("libzlib_smallfeed.so.tmp"),
            out.join("libzlib_smallfeed.so"),
        )
        .unwrap();
        Some(out)
    })
    .as_deref()
}

struct Loaded {
    host: TestHost,
    _lib: libloading::Library,
}

fn entry_desc(lib: &libloading::Library) -> *const ModuleDesc {
    // SAFETY: the symbol, if present, is the module's entry point with the
    // ABI's signature (every module under test is ours).
    let entry = unsafe { lib.get::<abi::EntryFn>(abi::ENTRY_SYMBOL) }.expect("entry symbol");
    // SAFETY: calling the entry point has no preconditions.
    unsafe { entry() }
}

fn open_lib(path: &Path) -> libloading::Library {
    // SAFETY: loading our own modules runs no initialisers with preconditions.
    unsafe { libloading::Library::new(path) }
        .unwrap_or_else(|e| panic!("load {}: {e}", path.display()))
}

fn load(file: &str) -> Option<Loaded> {
    let lib = open_lib(&out_dir()?.join(file));
    let desc = entry_desc(&lib);
    // SAFETY: a valid module's entry returns a valid static descriptor, which
    // stays valid while `_lib` keeps the library loaded (it outlives `host`:
    // fields drop in declaration order).
    let host = unsafe { TestHost::new(desc) };
    Some(Loaded { host, _lib: lib })
}

fn inst(m: &Loaded, config: &[u8]) -> TestInstance {
    m.host.instantiate(config).expect("init")
}

// ---------------------------------------------------------------- zlib --

#[test]
fn zlib_descriptor() {
    let Some(z) = load("libbridgehost_mod_zlib.so") else {
        return;
    };
    assert_eq!(z.host.name(), "zlib");
    assert_eq!(z.host.thread_model(), abi::THREAD_SAFE);
    let names: Vec<_> = z
        .host
        .methods()
        .iter()
        .map(|(n, f)| (n.as_str(), *f))
        .collect();
    assert_eq!(
        names,
        [
            ("compress", 0),
            ("decompress", 0),
            ("crc32", abi::METHOD_NONBLOCKING),
            ("deflate", 0),
            ("inflate", 0)
        ]
    );
}

#[test]
fn zlib_roundtrip_and_vectors() {
    let Some(z) = load("libbridgehost_mod_zlib.so") else {
        return;
    };
    let i = inst(&z, b"");
    let hello = i.call("compress", b"hello").unwrap();
    assert_eq!(
        hello,
        [0x78, 0x9c, 0xcb, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00, 0x06, 0x2c, 0x02, 0x15]
    );
    assert_eq!(i.call("decompress", &hello).unwrap(), b"hello");
    assert_eq!(
        i.call("crc32", b"123456789").unwrap(),
        0xCBF4_3926u32.to_be_bytes()
    );
    assert_eq!(i.call("crc32", b"").unwrap(), [0, 0, 0, 0]);
    let empty = i.call("compress", b"").unwrap();
    assert_eq!(i.call("decompress", &empty).unwrap(), b"");
    let big: Vec<u8> = (0..3_000_000u32)
        .map(|n| (n % 251) as u8 ^ (n >> 12) as u8)
        .collect();
    let packed = i.call("compress", &big).unwrap();
    assert!(packed.len() < big.len());
    assert_eq!(i.call("decompress", &packed).unwrap(), big);
}

#[test]
fn zlib_levels_from_config() {
    let Some(z) = load("libbridgehost_mod_zlib.so") else {
        return;
    };
    let data = vec![b'a'; 100_000];
    let fast = inst(&z, b"1").call("compress", &data).unwrap();
    let best = inst(&z, b"9").call("compress", &data).unwrap();
    let store = inst(&z, b"0").call("compress", &data).unwrap();
    assert!(
        store.len() > data.len() && best.len() <= fast.len(),
        "{} {} {}",
        store.len(),
        fast.len(),
        best.len()
    );
    assert_eq!(inst(&z, b"-1").call("decompress", &store).unwrap(), data);
    for bad in [&b"10"[..], b"x", b"-2", b"", b"123456789012"] {
        if bad.is_empty() {
            continue;
        }
        let e = z.host.instantiate(bad).unwrap_err();
        assert_eq!(e.code, 22, "{bad:?}: {e}");
    }
}

#[test]
fn zlib_errors() {
    let Some(z) = load("libbridgehost_mod_zlib.so") else {
        return;
    };
    let i = inst(&z, b"");
    let packed = i.call("compress", &vec![7u8; 10_000]).unwrap();
    // Truncated.
    let e = i
        .call("decompress", &packed[..packed.len() - 3])
        .unwrap_err();
    assert_eq!(e.code, -5, "{e}");
    assert!(e.message.contains("truncated"), "{e}");
    let e = i.call("decompress", b"").unwrap_err();
    assert_eq!(e.code, -5, "{e}");
    // Corrupt header: zlib's own message and code.
    let e = i.call("decompress", b"\x00\x01garbage").unwrap_err();
    assert_eq!(
        (e.code, e.message.as_str()),
        (-3, "inflate: incorrect header check")
    );
    // Trailing bytes after the stream.
    let mut trailing = packed.clone();
    trailing.extend_from_slice(b"xyz");
    assert_eq!(i.call("decompress", &trailing).unwrap_err().code, 22);
    // Output limit on compress.
    let e = i.call_limited("compress", &vec![1u8; 1000], 4).unwrap_err();
    assert_eq!(e.code, abi::API_TOO_LARGE);
}

#[test]
fn zlib_decompression_bomb_stops_at_the_limit() {
    let Some(z) = load("libbridgehost_mod_zlib.so") else {
        return;
    };
    let i = inst(&z, b"9");
    let bomb = i.call("compress", &vec![0u8; 200 << 20]).unwrap();
    assert!(bomb.len() < 1 << 20, "bomb is {} bytes", bomb.len());
    let t = Instant::now();
    let e = i.call_limited("decompress", &bomb, 1 << 20).unwrap_err();
    assert_eq!(e.code, abi::API_TOO_LARGE);
    // Stopping at the first refused write means only ~1 MiB was inflated.
    assert!(
        t.elapsed() < Duration::from_secs(2),
        "took {:?}",
        t.elapsed()
    );
}

#[test]
fn zlib_chunked_feeding() {
    let Some(z) = load("libzlib_smallfeed.so") else {
        return;
    };
    let i = inst(&z, b"");
    let data: Vec<u8> = (0..200_000u32)
        .map(|n| (n.wrapping_mul(2_654_435_761) >> 24) as u8)
        .collect();
    let packed = i.call("compress", &data).unwrap();
    let Some(reference) = load("libbridgehost_mod_zlib.so") else {
        return;
    };
    let r = inst(&reference, b"");
    assert_eq!(r.call("decompress", &packed).unwrap(), data);
    assert_eq!(
        i.call("decompress", &r.call("compress", &data).unwrap())
            .unwrap(),
        data
    );
    assert_eq!(
        i.call("crc32", &data).unwrap(),
        r.call("crc32", &data).unwrap()
    );
    let mut trailing = packed.clone();
    trailing.extend_from_slice(&[0u8; 5000]);
    assert_eq!(i.call("decompress", &trailing).unwrap_err().code, 22);
    assert_eq!(
        i.call("decompress", &packed[..packed.len() - 1])
            .unwrap_err()
            .code,
        -5
    );
}

// -------------------------------------------------------------- faulty --

#[test]
fn faulty_descriptor() {
    let Some(f) = load("libbridgehost_mod_faulty.so") else {
        return;
    };
    assert_eq!(f.host.name(), "faulty");
    let names: Vec<_> = f.host.methods().iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        [
            "ok",
            "segfault",
            "abort",
            "hang",
            "exit",
            "leak",
            "stack_overflow",
            "oversized_output",
            "emit_after_destroy",
            "stale_count",
            "emit_stats",
            "bogus_write",
            "bad_fail",
            "print_garbage",
            "fork",
            "exec",
            "open_write",
            "socket",
            "ptrace",
            "bad_lengths",
            "save_ctx",
            "use_saved",
            "use_saved_thread",
            "race_late_write",
            "race_result",
            "stop_when_idle",
            "scribble_input",
            "slow_exit"
        ]
    );
}

#[test]
fn faulty_harmless_methods() {
    let Some(f) = load("libbridgehost_mod_faulty.so") else {
        return;
    };
    let i = inst(&f, b"");
    assert_eq!(i.call("ok", b"abc").unwrap(), b"abc");
    assert_eq!(i.call("print_garbage", b"echo").unwrap(), b"echo");
    assert_eq!(
        i.call("leak", &2u32.to_le_bytes()).unwrap(),
        2u32.to_le_bytes()
    );
    assert_eq!(i.call("leak", b"xy").unwrap_err().code, 22);
    let e = i
        .call_limited("oversized_output", b"", 1 << 20)
        .unwrap_err();
    assert_eq!(e.code, abi::API_TOO_LARGE);
    // Outside a sandbox the probes succeed.
    assert_eq!(i.call("open_write", b"").unwrap(), b"ok");
    assert_eq!(i.call("socket", b"").unwrap(), b"ok");
    assert_eq!(i.call("fork", b"").unwrap(), b"ok");
}

#[test]
fn faulty_bogus_write_and_bad_fail() {
    let Some(f) = load("libbridgehost_mod_faulty.so") else {
        return;
    };
    let i = inst(&f, b"");
    let e = i.call("bogus_write", b"null").unwrap_err();
    assert_eq!(
        (e.code, e.message.as_str()),
        (-1, "write(NULL,16)=-1 write(ptr,SIZE_MAX)=-")
    );
    // The refused huge write marks the output exceeded: the test host (like
    // the real one) reports the limit, whatever the module returned.
    assert_eq!(
        i.call("bogus_write", b"huge").unwrap_err().code,
        abi::API_TOO_LARGE
    );
    assert_eq!(
        i.call("bogus_write", b"").unwrap_err().code,
        abi::API_TOO_LARGE
    );
    let e = i.call("bad_fail", b"utf8").unwrap_err();
    assert_eq!(
        (e.code, e.message.as_str()),
        (43, "bad \u{fffd}\u{fffd} utf-8 \u{fffd}")
    );
    let e = i.call("bad_fail", b"null").unwrap_err();
    assert_eq!(e.code, 43);
    assert!(e.message.contains("invalid message pointer"), "{e}");
    let e = i.call("bad_fail", b"").unwrap_err();
    assert_eq!(
        (e.code, e.message.as_str()),
        (43, "bad_fail: utf8=0 null=-1 zero=-1")
    );
}

#[test]
fn faulty_emit_after_destroy_is_stale() {
    let Some(f) = load("libbridgehost_mod_faulty.so") else {
        return;
    };
    let probe = inst(&f, b"");
    let i = inst(&f, b"");
    let token = i.token();
    i.call("emit_after_destroy", &300u32.to_le_bytes()).unwrap();
    std::thread::sleep(Duration::from_millis(50));
    let (events, _) = i.destroy();
    assert!(!events.is_empty() && events.iter().all(|e| e.topic == "late"));
    let stats = |inst: &TestInstance| -> Vec<u32> {
        inst.call("emit_stats", b"")
            .unwrap()
            .chunks(4)
            .map(|c| u32::from_le_bytes(c.try_into().unwrap()))
            .collect()
    };
    let deadline = Instant::now() + Duration::from_secs(10);
    // Other tests in this process may run their own late threads: wait
    // until every started thread finished.
    while {
        let s = stats(&probe);
        s[3] != s[4]
    } {
        assert!(Instant::now() < deadline, "late thread never finished");
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(late_uses(token) > 0, "no emit after destroy was observed");
    let stale = u32::from_le_bytes(probe.call("stale_count", b"").unwrap().try_into().unwrap());
    assert!(stale as u64 >= late_uses(token), "stale_count {stale}");
    assert_eq!(stats(&probe)[2], 0, "unexpected statuses");
}

/// Runs a crashing method when re-executed as a child; a no-op otherwise.
#[test]
fn child_runner() {
    let Ok(method) = std::env::var(CHILD_ENV) else {
        return;
    };
    let Some(f) = load("libbridgehost_mod_faulty.so") else {
        return;
    };
    let i = inst(&f, b"");
    let r = i.call(&method, b"");
    println!("RETURNED {r:?}");
    std::process::exit(0);
}

fn run_child(method: &str, timeout: Duration) -> std::process::ExitStatus {
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "child_runner", "--nocapture", "--test-threads=1"])
        .env(CHILD_ENV, method)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(st) = child.try_wait().unwrap() {
            return st;
        }
        if Instant::now() > deadline {
            child.kill().unwrap();
            return child.wait().unwrap();
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn faulty_crashes_for_real() {
    use std::os::unix::process::ExitStatusExt;
    if out_dir().is_none() {
        return;
    }
    let t = Duration::from_secs(20);
    assert_eq!(run_child("segfault", t).signal(), Some(libc_sig::SIGSEGV));
    assert_eq!(run_child("abort", t).signal(), Some(libc_sig::SIGABRT));
    // In a Rust process std's SIGSEGV handler recognises the guard page and
    // aborts ("has overflowed its stack"); elsewhere it is a plain SIGSEGV.
    let so = run_child("stack_overflow", t).signal();
    assert!(
        matches!(so, Some(libc_sig::SIGSEGV | libc_sig::SIGABRT)),
        "{so:?}"
    );
    assert_eq!(run_child("exit", t).code(), Some(3));
    // execve replaces the process with /bin/true: exit 0, nothing printed.
    assert_eq!(run_child("exec", t).code(), Some(0));
    let st = run_child("hang", Duration::from_millis(500));
    assert_eq!(st.signal(), Some(libc_sig::SIGKILL), "hang returned: {st}");
}

mod libc_sig {
    pub const SIGABRT: i32 = 6;
    pub const SIGKILL: i32 = 9;
    pub const SIGSEGV: i32 = 11;
}

// -------------------------------------------------------------- broken --

/// Every broken fixture exists and has exactly the defect it is named for
/// (relative to a valid baseline), so host tests that expect a specific
/// rejection test what they think they test.
#[test]
fn broken_fixtures_have_their_defect() {
    let Some(out) = out_dir() else { return };
    let cases = String::from_utf8(
        Command::new("make")
            .args(["-s", "-C"])
            .arg(manifest().join(".."))
            .arg("list-broken")
            .output()
            .unwrap()
            .stdout,
    )
    .unwrap();
    let cases: Vec<&str> = cases.split_whitespace().collect();
    assert!(cases.len() >= 17, "{cases:?}");
    for case in cases {
        let lib = open_lib(&out.join(format!("broken/libbroken_{case}.so")));
        if case == "not_a_module" {
            // SAFETY: only looks the symbol up.
            assert!(unsafe { lib.get::<abi::EntryFn>(abi::ENTRY_SYMBOL) }.is_err());
            continue;
        }
        let p = entry_desc(&lib);
        if case == "entry_returns_null" {
            assert!(p.is_null());
            continue;
        }
        // SAFETY: the fixtures' descriptors are complete static structs (even
        // struct_size_small only *claims* a smaller size).
        let d = unsafe { &*p };
        let expect = |field: &str, ok: bool| assert!(ok, "{case}: {field}");
        expect("magic", (d.magic == abi::MAGIC) != (case == "wrong_magic"));
        expect(
            "abi_version",
            (d.abi_version == abi::ABI_VERSION) != (case == "wrong_abi_version"),
        );
        expect(
            "struct_size",
            (d.struct_size as usize == std::mem::size_of::<ModuleDesc>())
                != (case == "struct_size_small"),
        );
        expect(
            "thread_model",
            (d.thread_model <= 2) != (case == "unknown_thread_model"),
        );
        expect("init", d.init.is_some() != (case == "null_init"));
        expect("call", d.call.is_some() != (case == "null_call"));
        expect("destroy", d.destroy.is_some() != (case == "null_destroy"));
        expect(
            "module_flags",
            (d.module_flags & !abi::MODULE_KNOWN_FLAGS == 0) != (case == "unknown_module_flags"),
        );
        expect(
            "descriptor reserved",
            (d.reserved == 0) != (case == "module_reserved_nonzero"),
        );
        expect("methods", d.methods.is_null() == (case == "null_methods"));
        let count_ok = d.method_count == 2;
        expect(
            "method_count",
            count_ok != matches!(case, "method_count_zero" | "method_count_huge"),
        );
        let name_ok = !d.name.is_null()
            // SAFETY: a non-null name in the fixtures is a NUL-terminated literal.
            && std::str::from_utf8(unsafe { std::ffi::CStr::from_ptr(d.name) }.to_bytes()).is_ok();
        expect(
            "name",
            name_ok != matches!(case, "null_module_name" | "non_utf8_module_name"),
        );
        if d.methods.is_null() || !count_ok {
            continue;
        }
        // SAFETY: the fixtures' tables have 2 entries.
        let m = unsafe { std::slice::from_raw_parts(d.methods, 2) };
        expect(
            "flags",
            (m[1].flags & !abi::METHOD_KNOWN_FLAGS == 0) != (case == "unknown_flags"),
        );
        expect(
            "reserved",
            (m[1].reserved == 0) != (case == "reserved_nonzero"),
        );
        if m[1].name.is_null() {
            expect("method name null", case == "null_method_name");
            continue;
        }
        // SAFETY: non-null method names in the fixtures are NUL-terminated literals.
        let n1 = unsafe { std::ffi::CStr::from_ptr(m[1].name) }.to_bytes();
        // SAFETY: as above.
        let n0 = unsafe { std::ffi::CStr::from_ptr(m[0].name) }.to_bytes();
        let valid = !n1.is_empty()
            && n1.len() <= abi::MAX_NAME_LEN
            && std::str::from_utf8(n1).is_ok()
            && n1 != n0;
        expect(
            "method name",
            valid
                != matches!(
                    case,
                    "empty_method_name"
                        | "non_utf8_method_name"
                        | "duplicate_method_names"
                        | "method_name_too_long"
                ),
        );
        if case == "method_name_too_long" {
            assert_eq!(n1.len(), abi::MAX_NAME_LEN + 1);
        }
    }
}
