//! `bridgehost new --lang c|rust NAME [--dir DIR] [--sdk PATH]`: a module project that builds
//! and tests on its own (docs/MODULES.md).
//!
//! * `rust`: a Cargo package (its own `[workspace]`) depending on `bridgehost-module-sdk`, with a
//!   unit test through the SDK's `TestHost` and an integration test that runs the built module
//!   through this CLI (`inspect`, `call`). `--sdk` is the SDK crate's directory; the default is,
//!   in order, the archive's `share/bridgehost/sdk-rust/bridgehost-module-sdk` beside this
//!   executable (`<exe>/../share/...`, the C/CLI archive of scripts/package.sh), the
//!   `plugins/sdk-rust` of the checkout this CLI was built from, else the version alone.
//! * `c`: `NAME.c`, a `Makefile` (`make`, `make test`) and `test.sh`, which runs the module
//!   through this CLI. `--sdk` is the directory holding `bridgehost_module.h`; the default is,
//!   in order, `<exe>/../include` (the archive), the checkout's `plugins/include`, else
//!   `pkg-config --variable=includedir bridgehost-module` when `make` runs (the Makefile stops
//!   with a message naming `BH_INCLUDE` when none of them has the header).
//!
//! The project records the path of this CLI as the default for its tests (`BRIDGEHOST_CLI`
//! overrides it).

use bridgehost::Error;
use std::path::{Path, PathBuf};

/// `bridgehost new --help`.
pub const USAGE: &str = "usage: bridgehost new --lang c|rust NAME [--dir DIR] [--sdk PATH]
  Creates DIR (default ./NAME): a module project that builds and tests on its own.
  --lang rust   a Cargo package on bridgehost-module-sdk (cargo build, cargo test)
  --lang c      NAME.c, Makefile and test.sh (make, make test)
  --dir DIR     the directory to create (never overwritten)
  --sdk PATH    rust: the bridgehost-module-sdk crate directory; c: the directory holding
                bridgehost_module.h. Default: the archive this CLI was unpacked from
                (<exe>/../share/bridgehost/sdk-rust, <exe>/../include), then the checkout it
                was built from, then the crate version / pkg-config bridgehost-module.
NAME: 1..=64 of [a-z0-9_], starting with a letter, not a bundled module's name (std, zlib, sqlite).
The guide: docs/MODULES.md (share/doc/bridgehost/docs/MODULES.md in the C/CLI archive).";

/// The modules every package ships (`open("std")` finds them first): a project of that name
/// would never be the module `open` loads.
pub const BUNDLED: &[&str] = &["std", "zlib", "sqlite"];

/// What `new` creates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    /// A Rust crate on the module SDK.
    Rust,
    /// A C source file on `bridgehost_module.h`.
    C,
}

/// A parsed `new` command line.
#[derive(Debug)]
pub struct NewArgs {
    /// The project's language.
    pub lang: Lang,
    /// Module (and crate) name.
    pub name: String,
    /// Directory to create (default `./NAME`).
    pub dir: PathBuf,
    /// SDK crate directory (Rust) or header directory (C), if known.
    pub sdk: Option<PathBuf>,
}

/// Parse the arguments after `new`; `Err` carries a usage message.
pub fn parse(args: &[String]) -> Result<NewArgs, String> {
    let mut lang = None;
    let mut dir = None;
    let mut sdk = None;
    let mut name = None;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--lang" => {
                lang = Some(match it.next().map(String::as_str) {
                    Some("rust") => Lang::Rust,
                    Some("c") => Lang::C,
                    _ => return Err("--lang needs c or rust".into()),
                })
            }
            "--dir" => dir = Some(PathBuf::from(it.next().ok_or("--dir needs a directory")?)),
            "--sdk" => {
                let p = PathBuf::from(it.next().ok_or("--sdk needs a directory")?);
                // Relative to where the command ran, not to the project it creates.
                sdk = Some(
                    std::path::absolute(&p).map_err(|e| format!("--sdk {}: {e}", p.display()))?,
                )
            }
            s if s.starts_with("--") => return Err(format!("unknown option {s}")),
            s if name.is_none() => name = Some(s.to_string()),
            s => return Err(format!("unexpected argument {s:?}")),
        }
    }
    let lang = lang.ok_or("new needs --lang c|rust")?;
    let name = name.ok_or("new needs a NAME")?;
    let dir = dir.unwrap_or_else(|| PathBuf::from(&name));
    Ok(NewArgs {
        lang,
        name,
        dir,
        sdk,
    })
}

/// A module name usable as a crate name, a C identifier and a bundled module name.
pub fn check_name(name: &str) -> Result<(), Error> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name.as_bytes()[0].is_ascii_lowercase()
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
    if !ok {
        return Err(Error::InvalidArgument(format!(
            "module name {name:?}: use 1..=64 of [a-z0-9_], starting with a letter"
        )));
    }
    if BUNDLED.contains(&name) {
        return Err(Error::InvalidArgument(format!(
            "module name {name:?} is a bundled module's name: open(\"{name}\") would load the \
             bundled one, never yours; choose another name"
        )));
    }
    Ok(())
}

/// `--sdk` must name an existing directory holding what the language needs.
fn check_sdk(a: &NewArgs) -> Result<(), Error> {
    let Some(p) = &a.sdk else { return Ok(()) };
    if !p.is_dir() {
        return Err(Error::InvalidArgument(format!(
            "--sdk {}: no such directory",
            p.display()
        )));
    }
    let need = match a.lang {
        Lang::Rust => "Cargo.toml",
        Lang::C => "bridgehost_module.h",
    };
    if !p.join(need).is_file() {
        return Err(Error::InvalidArgument(format!(
            "--sdk {}: no {need} there (rust: the bridgehost-module-sdk crate directory; c: the \
             directory holding bridgehost_module.h)",
            p.display()
        )));
    }
    Ok(())
}

/// `<exe>/../REL` (the unpacked C/CLI archive: `bin/bridgehost` links to `lib/bridgehost`) when
/// it holds `file`.
fn beside_exe(rel: &str, file: &str) -> Option<PathBuf> {
    let exe = std::env::current_exe().ok()?.canonicalize().ok()?;
    let p = exe.parent()?.parent()?.join(rel);
    p.join(file).is_file().then_some(p)
}

/// Where the project's README and sources point for the guide.
fn guide() -> String {
    match beside_exe("share/doc/bridgehost/docs", "MODULES.md") {
        Some(d) => d.join("MODULES.md").display().to_string(),
        None => {
            "docs/MODULES.md of bridgehost (share/doc/bridgehost/docs/ in its C/CLI archive)".into()
        }
    }
}

/// The checkout this CLI was built from (`cli/..`), if it is still there and holds `file`.
fn checkout_dir(rel: &str, file: &str) -> Option<PathBuf> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(rel);
    p.join(file)
        .is_file()
        .then(|| p.canonicalize().unwrap_or(p))
}

fn this_cli() -> String {
    std::env::current_exe()
        .ok()
        .and_then(|p| p.canonicalize().ok())
        .map(|p| p.display().to_string())
        .unwrap_or_else(|| "bridgehost".to_string())
}

/// Create the project; returns the list of files written.
pub fn create(a: &NewArgs) -> Result<Vec<PathBuf>, Error> {
    check_name(&a.name)?;
    check_sdk(a)?;
    if a.dir.exists() {
        return Err(Error::InvalidArgument(format!(
            "{} already exists: refusing to overwrite it",
            a.dir.display()
        )));
    }
    let files = match a.lang {
        Lang::Rust => rust_files(a),
        Lang::C => c_files(a),
    };
    let mut written = Vec::new();
    for (rel, text) in files {
        let path = a.dir.join(rel);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)
                .map_err(|e| Error::InvalidArgument(format!("{}: {e}", parent.display())))?;
        }
        std::fs::write(&path, text)
            .map_err(|e| Error::InvalidArgument(format!("{}: {e}", path.display())))?;
        written.push(path);
    }
    Ok(written)
}

fn fill(template: &str, a: &NewArgs, extra: &[(&str, String)]) -> String {
    let mut s = template
        .replace("@NAME@", &a.name)
        .replace("@CLI@", &this_cli())
        .replace("@VERSION@", bridgehost::VERSION)
        .replace("@GUIDE@", &guide());
    for (k, v) in extra {
        s = s.replace(k, v);
    }
    s
}

fn rust_files(a: &NewArgs) -> Vec<(String, String)> {
    let sdk = a
        .sdk
        .clone()
        .or_else(|| {
            beside_exe(
                "share/bridgehost/sdk-rust/bridgehost-module-sdk",
                "Cargo.toml",
            )
        })
        .or_else(|| checkout_dir("plugins/sdk-rust", "Cargo.toml"));
    let dep = match sdk {
        Some(p) => format!(
            "{{ version = \"{}\", path = \"{}\" }}",
            bridgehost::VERSION,
            p.display()
        ),
        None => format!("\"{}\"", bridgehost::VERSION),
    };
    let extra = [("@SDK_DEP@", dep)];
    [
        ("Cargo.toml", fill(RUST_CARGO, a, &extra)),
        ("src/lib.rs", fill(RUST_LIB, a, &extra)),
        ("tests/cli.rs", fill(RUST_CLI_TEST, a, &extra)),
        (".gitignore", "/target/\n".to_string()),
        ("README.md", fill(README_RUST, a, &extra)),
    ]
    .into_iter()
    .map(|(p, t)| (p.to_string(), t))
    .collect()
}

fn c_files(a: &NewArgs) -> Vec<(String, String)> {
    let include = a
        .sdk
        .clone()
        .or_else(|| beside_exe("include", "bridgehost_module.h"))
        .or_else(|| checkout_dir("plugins/include", "bridgehost_module.h"))
        .map(|p| p.display().to_string())
        .unwrap_or_else(|| {
            "$(shell pkg-config --variable=includedir bridgehost-module 2>/dev/null)".into()
        });
    let extra = [("@INCLUDE@", include)];
    vec![
        (format!("{}.c", a.name), fill(C_SOURCE, a, &extra)),
        ("Makefile".to_string(), fill(C_MAKEFILE, a, &extra)),
        ("test.sh".to_string(), fill(C_TEST, a, &extra)),
        (".gitignore".to_string(), "*.so\n".to_string()),
        ("README.md".to_string(), fill(README_C, a, &extra)),
    ]
}

const RUST_CARGO: &str = r#"[package]
name = "@NAME@"
version = "0.1.0"
edition = "2021"
publish = false

[lib]
# The file name the host looks for: libbridgehost_mod_@NAME@.so ("rlib" for the tests).
name = "bridgehost_mod_@NAME@"
crate-type = ["cdylib", "rlib"]

[dependencies]
bridgehost-module-sdk = @SDK_DEP@

# A project of its own, even when created inside another Cargo workspace.
[workspace]
"#;

const RUST_LIB: &str = r#"//! The bridgehost module `@NAME@`. The guide (the contract, threads, errors, events,
//! versioning, testing and shipping): @GUIDE@.
use bridgehost_module_sdk::{export_module, Host, Module, ModuleError, Output, ThreadModel, NONBLOCKING};

/// One instance per `open`; `Sync` because the module is thread-safe.
pub struct Greeter {
    host: Host,
    greeting: Vec<u8>,
}

impl Module for Greeter {
    /// `config` is the bytes the application passed to `open` (here: the greeting).
    fn init(host: Host, config: &[u8]) -> Result<Self, ModuleError> {
        let greeting = if config.is_empty() { b"hello, ".to_vec() } else { config.to_vec() };
        Ok(Greeter { host, greeting })
    }
}

impl Greeter {
    /// Returns its input unchanged.
    fn echo(&self, input: &[u8], out: &mut Output<'_>) -> Result<(), ModuleError> {
        out.write(input)?;
        Ok(())
    }

    /// Returns the greeting followed by the input (UTF-8), and emits a `greeted` event.
    fn greet(&self, input: &[u8], out: &mut Output<'_>) -> Result<(), ModuleError> {
        if std::str::from_utf8(input).is_err() {
            return Err(ModuleError::new(1, "greet: the input is not UTF-8"));
        }
        out.write(&self.greeting)?;
        out.write(input)?;
        // Events never block; a full queue drops the event (the error says so).
        let _ = self.host.emit("greeted", input);
        Ok(())
    }
}

export_module! {
    module: Greeter,
    name: "@NAME@",
    version: env!("CARGO_PKG_VERSION"),
    thread_model: ThreadModel::ThreadSafe,
    methods: [
        ("echo", NONBLOCKING, Greeter::echo),
        ("greet", 0, Greeter::greet),
    ],
    // If the instance keeps state across calls (a cache, a handle, counters), declare it:
    // isolated, it then runs in one worker with no warm spare, and a worker restart fails
    // the next call once with StateLost instead of silently losing the state.
    // stateful: true,
}

#[cfg(test)]
mod tests {
    use bridgehost_module_sdk::testing::TestHost;
    use std::time::Duration;

    #[test]
    fn through_the_sdk_test_host() {
        // SAFETY: the descriptor comes from export_module! in this crate.
        let host = unsafe { TestHost::new(crate::bridgehost_module_v1()) };
        let inst = host.instantiate(b"").unwrap();
        assert_eq!(inst.call("echo", b"abc").unwrap(), b"abc");
        assert_eq!(inst.call("greet", b"you").unwrap(), b"hello, you");
        assert_eq!(inst.wait_events(1, Duration::from_secs(5)).len(), 1);
        let err = inst.call("greet", &[0xff]).unwrap_err();
        assert_eq!(err.code, 1);
        let custom = host.instantiate(b"hi ").unwrap();
        assert_eq!(custom.call("greet", b"there").unwrap(), b"hi there");
    }
}
"#;

const RUST_CLI_TEST: &str = r#"//! Runs the built module through the bridgehost CLI, as an application would load it.
//! BRIDGEHOST_CLI overrides the CLI recorded by `bridgehost new`.
use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

fn cli() -> PathBuf {
    std::env::var_os("BRIDGEHOST_CLI")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("@CLI@"))
}

/// The cdylib cargo built for this test run.
fn module() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let deps = exe.parent().unwrap();
    let file = "libbridgehost_mod_@NAME@.so";
    [deps.join(file), deps.parent().unwrap().join(file)]
        .into_iter()
        .find(|p| p.is_file())
        .unwrap_or_else(|| panic!("{file} not built next to {}", deps.display()))
}

fn run(args: &[&str], input: &[u8]) -> Output {
    let mut child = Command::new(cli())
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{}: {e} (set BRIDGEHOST_CLI)", cli().display()));
    child.stdin.take().unwrap().write_all(input).unwrap();
    child.wait_with_output().unwrap()
}

#[test]
fn inspect_lists_the_methods() {
    let m = module();
    let out = run(&["inspect", m.to_str().unwrap()], b"");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}{}", String::from_utf8_lossy(&out.stderr));
    assert!(text.contains("@NAME@"), "{text}");
    assert!(text.contains("greet"), "{text}");
}

#[test]
fn call_in_process_and_isolated() {
    let m = module();
    let out = run(&["call", m.to_str().unwrap(), "greet"], b"world");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(out.stdout, b"hello, world");
    let out = run(&["call", "--isolated", m.to_str().unwrap(), "echo"], b"abc");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(out.stdout, b"abc");
}

#[test]
fn a_module_error_is_exit_14() {
    let m = module();
    let out = run(&["call", m.to_str().unwrap(), "greet"], &[0xff]);
    assert_eq!(out.status.code(), Some(14), "{}", String::from_utf8_lossy(&out.stderr));
}
"#;

const README_RUST: &str = r#"# @NAME@ — a bridgehost module

Created by `bridgehost new --lang rust @NAME@` (bridgehost @VERSION@).

```sh
cargo build --release     # target/release/libbridgehost_mod_@NAME@.so
cargo test                # the SDK's TestHost, then the bridgehost CLI (BRIDGEHOST_CLI=path overrides)
bridgehost inspect target/release/libbridgehost_mod_@NAME@.so
```

The guide (contract, threads, errors, events, versioning, testing, shipping): @GUIDE@.
"#;

const C_SOURCE: &str = r#"/* The bridgehost module "@NAME@". The guide (the contract, threads, errors, events,
 * versioning, testing and shipping): @GUIDE@. */
#include "bridgehost_module.h"
#include <stdlib.h>
#include <string.h>

typedef struct {
    const bh_host_api *api; /* valid until destroy returns */
} instance;

static int32_t mod_init(const bh_host_api *api, const uint8_t *cfg, size_t cfg_len, void **out,
                        bh_call_ctx *err) {
    (void)cfg;
    (void)cfg_len;
    instance *m = malloc(sizeof *m);
    if (!m) {
        api->fail(err, 12, "out of memory", 13);
        return 12;
    }
    m->api = api;
    *out = m;
    return 0;
}

enum { METHOD_ECHO = 0, METHOD_GREET = 1 };

static int32_t mod_call(void *self, uint32_t method, const uint8_t *in, size_t len,
                        bh_call_ctx *call) {
    instance *m = self;
    int32_t w = BH_API_OK;
    if (method == METHOD_GREET) {
        static const char greeting[] = "hello, ";
        if (len == 0) {
            m->api->fail(call, 1, "greet: empty input", 18);
            return 1;
        }
        w = m->api->write(call, (const uint8_t *)greeting, sizeof greeting - 1);
    }
    if (w == BH_API_OK && len > 0) w = m->api->write(call, in, len);
    if (w != BH_API_OK) {
        m->api->fail(call, 2, "write refused", 13);
        return 2;
    }
    return 0;
}

static void mod_destroy(void *self) { free(self); } /* join your threads here */

static const bh_method_desc methods[] = {
    {"echo", BH_METHOD_NONBLOCKING, 0},
    {"greet", 0, 0},
};
static const bh_module_desc desc = {
    .magic = BH_MODULE_MAGIC,
    .abi_version = BH_MODULE_ABI_VERSION,
    .struct_size = sizeof(bh_module_desc),
    .thread_model = BH_THREAD_SAFE,
    .method_count = sizeof methods / sizeof methods[0],
    .name = "@NAME@",
    .version = "0.1.0",
    .methods = methods,
    .init = mod_init,
    .call = mod_call,
    .destroy = mod_destroy,
    /* If the instance keeps state across calls (a cache, a handle, counters), declare it:
     * isolated, it then runs in one worker with no warm spare, and a worker restart fails
     * the next call once with StateLost instead of silently losing the state.
     * .module_flags = BH_MODULE_STATEFUL, */
};

__attribute__((visibility("default"))) const bh_module_desc *bridgehost_module_v1(void) {
    return &desc;
}
"#;

const C_MAKEFILE: &str = r#"# make        -> libbridgehost_mod_@NAME@.so (the file name the host looks for)
# make test   -> test.sh: the module through the bridgehost CLI (BRIDGEHOST_CLI overrides)
BH_INCLUDE ?= @INCLUDE@
BRIDGEHOST_CLI ?= @CLI@
ifeq ($(wildcard $(BH_INCLUDE)/bridgehost_module.h),)
$(error bridgehost_module.h not found (BH_INCLUDE is "$(BH_INCLUDE)"): run make BH_INCLUDE=DIR with \
  the include/ directory of the bridgehost C/CLI archive or plugins/include of a checkout, or put the \
  archive's lib/pkgconfig on PKG_CONFIG_PATH)
endif
CC ?= cc
CFLAGS ?= -O2 -g
LIB := libbridgehost_mod_@NAME@.so

all: $(LIB)

$(LIB): @NAME@.c
	$(CC) $(CFLAGS) -fPIC -shared -fvisibility=hidden -Wall -Wextra -Werror -I$(BH_INCLUDE) \
		-o $@ $< -Wl,-z,defs

test: $(LIB)
	BRIDGEHOST_CLI=$(BRIDGEHOST_CLI) sh ./test.sh ./$(LIB)

clean:
	rm -f $(LIB)

.PHONY: all test clean
"#;

const C_TEST: &str = r#"#!/bin/sh
# The module through the bridgehost CLI, as an application would load it.
set -eu
LIB="$1"
CLI="${BRIDGEHOST_CLI:-@CLI@}"
fail() { echo "FAIL: $*" >&2; exit 1; }
"$CLI" inspect "$LIB" > inspect.out || fail "inspect"
grep -q '@NAME@' inspect.out && grep -q 'greet' inspect.out || fail "inspect output: $(cat inspect.out)"
rm -f inspect.out
[ "$(printf world | "$CLI" call "$LIB" greet)" = "hello, world" ] || fail "greet"
[ "$(printf abc | "$CLI" call --isolated "$LIB" echo)" = "abc" ] || fail "isolated echo"
rc=0; "$CLI" call "$LIB" greet </dev/null 2>/dev/null || rc=$?
[ "$rc" -eq 14 ] || fail "a module error must exit 14, got $rc"
echo "@NAME@: 3 passed"
"#;

const README_C: &str = r#"# @NAME@ — a bridgehost module in C

Created by `bridgehost new --lang c @NAME@` (bridgehost @VERSION@).

```sh
make          # libbridgehost_mod_@NAME@.so (BH_INCLUDE=dir of bridgehost_module.h)
make test     # through the bridgehost CLI (BRIDGEHOST_CLI=path overrides)
```

The guide (contract, threads, errors, events, versioning, testing, shipping): @GUIDE@.
"#;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_checked() {
        for good in ["a", "my_mod2", "zlib2"] {
            assert!(check_name(good).is_ok(), "{good}");
        }
        for bad in [
            "",
            "2x",
            "A",
            "a-b",
            "a/b",
            "a.b",
            &"x".repeat(65),
            "std",
            "zlib",
            "sqlite",
        ] {
            assert!(check_name(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn arguments_parse() {
        let a: Vec<String> = ["--lang", "c", "m", "--dir", "/tmp/x"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let p = parse(&a).unwrap();
        assert_eq!((p.lang, p.name.as_str()), (Lang::C, "m"));
        assert_eq!(p.dir, PathBuf::from("/tmp/x"));
        assert!(parse(&["m".to_string()]).is_err());
        assert!(parse(&["--lang".to_string(), "go".to_string(), "m".to_string()]).is_err());
    }
}
