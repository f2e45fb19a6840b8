//! `bridgehost` — check and exercise a module from the shell.
//!
//! ```text
//! bridgehost inspect [--in-process] [--timeout-ms N] MODULE
//!                                        ABI version, thread model, methods
//! bridgehost validate [--timeout-ms N] MODULE   exit 0 only for a valid module
//! bridgehost call [OPTIONS] MODULE METHOD   stdin → method → stdout
//! bridgehost new --lang c|rust NAME [--dir DIR] [--sdk PATH]   a module project (new.rs)
//!     --isolated            run the module in a worker process
//!     --timeout-ms N        per-call deadline (isolated only)
//!     --config FILE         bytes passed to the module's init
//!     --max-output N        output limit in bytes
//!     --json ARGS           typed call: ARGS is a JSON array of the
//!                           arguments (`-`: read it from stdin), the
//!                           result is printed as JSON
//! bridgehost wit FILE.wit                check a WIT interface, print it and its hash
//! bridgehost bindgen --lang c|csharp|java|python|rust [--package P] (MODULE | FILE.wit) -o DIR
//!                                        typed bindings (docs/TYPED.md)
//! ```
//! MODULE is a path or a bundled name (`std`, `zlib`). Exit codes: 0 success,
//! 2 usage, and `10 + ErrorKind code` for a bridgehost error (so 11 invalid
//! argument, 12 not found, 13 ABI mismatch, 14 module error, 15 worker
//! crashed, 16 timeout, ...).
//!
//! `inspect` and `validate` load the module in a worker process (never in
//! this one) with a deadline (`--timeout-ms`, default 10 s): a module whose
//! constructor exits (even with status 0), crashes or hangs is a typed
//! error and a non-zero exit (22 worker exited, 15 worker crashed, 16
//! timeout), never an empty "success". `inspect --in-process` loads it here
//! (its constructors then run in this process).
#![forbid(unsafe_code)]

/// `println!` for the CLI's own output: a reader that went away (`bridgehost inspect std | head
/// -1`) ends the program quietly with success, as Unix filters do, instead of a panic; any other
/// write error is reported and exits 1.
macro_rules! out {
    ($($arg:tt)*) => {
        $crate::emit(format_args!("{}\n", format_args!($($arg)*)))
    };
}

mod new;
mod typed;

use bridgehost::{Error, Host, Isolation, ModuleOptions};
use std::io::{Read, Write};
use std::process::ExitCode;
use std::time::Duration;

const USAGE: &str = "usage:
  bridgehost inspect [--in-process] [--timeout-ms N] MODULE
  bridgehost validate [--timeout-ms N] MODULE
  bridgehost call [--isolated] [--timeout-ms N] [--config FILE] [--max-output N] MODULE METHOD
  bridgehost call [OPTIONS] MODULE METHOD --json '[ARGS...]'
  bridgehost wit FILE.wit
  bridgehost bindgen --lang c|csharp|java|python|rust [--package P] [--timeout-ms N] (MODULE | FILE.wit) -o DIR
  bridgehost new --lang c|rust NAME [--dir DIR] [--sdk PATH]   (a module project; docs/MODULES.md)
MODULE is a path to a module (.so) or a bundled name (std, zlib, sqlite).
Input is read from stdin, output written to stdout; with --json the
arguments are encoded through the module's typed interface and the
result is printed as JSON (see docs/TYPED.md); --json - reads the JSON
array from stdin (arguments too large for a command line).
Exit status: 0 ok, 2 usage, 10+kind for errors (see `bridgehost help`).";

const BINDGEN_USAGE: &str = "usage: bridgehost bindgen --lang LANG [--package P] [--timeout-ms N] (MODULE | FILE.wit) -o DIR
Typed bindings generated from a module's WIT interface (docs/TYPED.md): the interface comes from
FILE.wit, or from MODULE (a path or a bundled name) as `inspect` reads it, in a worker.
  --lang java      DIR/<package path>/<Interface>.java (callers; docs/JAVA.md)
  --lang python    DIR/<name>.py (callers; --package is the module name)
  --lang csharp    DIR/<Interface>.cs (callers; --package is the namespace; docs/DOTNET.md)
  --lang c         DIR/PREFIX_iface.h, PREFIX_iface.c (module authors; --package is PREFIX)
  --lang rust      DIR/<name>_wit.rs (module authors: a trait to implement)
  --timeout-ms N   deadline for reading MODULE's interface in a worker";

fn exit_for(e: &Error) -> ExitCode {
    ExitCode::from(10 + e.kind().code() as u8)
}

/// The error's own text already names its kind ("module error 7: ...", "not found: ..."), and
/// the exit status carries it (10 + kind): say it once.
fn fail(e: Error) -> ExitCode {
    eprintln!("bridgehost: {e}");
    exit_for(&e)
}

fn usage(msg: &str) -> ExitCode {
    eprintln!("bridgehost: {msg}\n{USAGE}");
    ExitCode::from(2)
}

/// The usage error for an argument beyond the command's positional ones (`call std add extra`):
/// named, quoted so that an empty or blank one shows, as `new` names its own.
fn unexpected(arg: &str) -> ExitCode {
    usage(&format!("unexpected argument {arg:?}"))
}

/// `inspect`/`validate` arguments: (in_process, deadline, MODULE).
fn load_args(
    args: &[String],
    allow_in_process: bool,
) -> Result<(bool, Option<Duration>, String), ExitCode> {
    let (mut in_process, mut deadline, mut rest) = (false, None, Vec::new());
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--in-process" if allow_in_process => in_process = true,
            // A number here; its range is the core's inspect-deadline rule
            // (`Span::InspectDeadline`: 0 or over a year is refused there).
            "--timeout-ms" => match it.next().and_then(|v| v.parse::<u64>().ok()) {
                Some(ms) => deadline = Some(Duration::from_millis(ms)),
                None => return Err(usage("--timeout-ms needs a number of milliseconds")),
            },
            s if s.starts_with("--") => return Err(usage(&format!("unknown option {s}"))),
            _ => rest.push(a.clone()),
        }
    }
    match rest.as_slice() {
        [m] => Ok((in_process, deadline, m.clone())),
        [_, extra, ..] => Err(unexpected(extra)),
        [] => Err(usage("needs exactly one MODULE")),
    }
}

/// `bridgehost bindgen --lang L [--package P] [--timeout-ms N] (MODULE | FILE.wit) -o DIR`: the
/// interface comes from the WIT file, or from the module as `inspect` reads it (in a worker).
fn bindgen(args: &[String]) -> ExitCode {
    let (mut lang, mut package, mut out, mut deadline, mut rest) =
        (None, None, None, None, Vec::new());
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--lang" => lang = it.next().cloned(),
            "--package" => package = it.next().cloned(),
            "-o" | "--out" => out = it.next().cloned(),
            // As in `inspect`: the core judges the deadline's range.
            "--timeout-ms" => match it.next().and_then(|v| v.parse::<u64>().ok()) {
                Some(ms) => deadline = Some(Duration::from_millis(ms)),
                None => return usage("--timeout-ms needs a number of milliseconds"),
            },
            s if s.starts_with('-') => return usage(&format!("unknown option {s}")),
            _ => rest.push(a.clone()),
        }
    }
    if let [_, extra, ..] = rest.as_slice() {
        return unexpected(extra);
    }
    let (Some(lang), Some(out), [source]) = (lang, out, rest.as_slice()) else {
        return usage("bindgen needs --lang LANG, -o DIR and exactly one MODULE or FILE.wit");
    };
    match typed::bindgen(&lang, package.as_deref(), source, &out, deadline) {
        Ok(files) => {
            for f in files {
                out!("wrote {}", f.display());
            }
            ExitCode::SUCCESS
        }
        Err(e) => fail(e),
    }
}

fn validate(args: &[String]) -> ExitCode {
    let (_, deadline, spec) = match load_args(args, false) {
        Ok(a) => a,
        Err(code) => return code,
    };
    match bridgehost::validate(&spec, &[], deadline) {
        Ok(info) => {
            out!("valid: {} {} ({})", info.name, info.version, info.path);
            ExitCode::SUCCESS
        }
        Err(e) => fail(e),
    }
}

fn inspect(args: &[String]) -> ExitCode {
    let (in_process, deadline, spec) = match load_args(args, true) {
        Ok(a) => a,
        Err(code) => return code,
    };
    let info = if in_process {
        bridgehost::inspect(&spec, &[])
    } else {
        bridgehost::validate(&spec, &[], deadline)
    };
    match info {
        Ok(info) => {
            out!("path:          {}", info.path);
            out!("name:          {}", info.name);
            out!("version:       {}", info.version);
            out!("abi version:   {}", info.abi_version);
            out!("thread model:  {}", info.thread_model.name());
            if info.stateful {
                // Only when set: the output of every other module is unchanged.
                out!(
                    "stateful:      yes (one isolated worker, no spare, StateLost after a restart)"
                );
            }
            out!("methods:       {}", info.methods.len());
            for m in &info.methods {
                let flags = if m.is_nonblocking() {
                    " [nonblocking]"
                } else {
                    ""
                };
                out!("  {}{flags}", m.name);
            }
            typed::print_interface(&info);
            ExitCode::SUCCESS
        }
        Err(e) => fail(e),
    }
}

fn call(args: &[String]) -> ExitCode {
    let mut opts = ModuleOptions::default();
    let mut rest = Vec::new();
    let mut json_args = None;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--isolated" => opts.isolation = Isolation::Process,
            "--timeout-ms" => match it.next().and_then(|v| v.parse::<u64>().ok()) {
                Some(ms) => opts.call_timeout = Some(Duration::from_millis(ms)),
                None => return usage("--timeout-ms needs a number"),
            },
            "--max-output" => match it.next().and_then(|v| v.parse::<usize>().ok()) {
                Some(n) => opts.max_output = n,
                None => return usage("--max-output needs a number"),
            },
            "--config" => match it.next() {
                Some(f) => match std::fs::read(f) {
                    Ok(b) => opts.config = b,
                    Err(e) => return fail(Error::InvalidArgument(format!("--config {f}: {e}"))),
                },
                None => return usage("--config needs a file"),
            },
            "--json" => match it.next() {
                // Given twice, one array of arguments would be dropped unseen.
                Some(_) if json_args.is_some() => return usage("--json given more than once"),
                Some(j) => json_args = Some(j.clone()),
                None => return usage("--json needs a JSON array of arguments"),
            },
            s if s.starts_with("--") => return usage(&format!("unknown option {s}")),
            _ => rest.push(a.clone()),
        }
    }
    let (module, method) = match rest.as_slice() {
        [module, method] => (module, method),
        [_, _, extra, ..] => return unexpected(extra),
        _ => return usage("call needs MODULE and METHOD"),
    };
    if let Some(j) = json_args {
        // `--json -`: the arguments from stdin (a command line is limited to a few
        // hundred KiB; `-` is not JSON, so nothing else can mean it). Its errors name stdin,
        // not `--json`, as where to look.
        let (text, source) = if j == "-" {
            let mut text = String::new();
            if let Err(e) = std::io::stdin().read_to_string(&mut text) {
                return fail(Error::InvalidArgument(format!(
                    "reading {}: {e}",
                    typed::JsonSource::Stdin
                )));
            }
            (text, typed::JsonSource::Stdin)
        } else {
            (j, typed::JsonSource::Argument)
        };
        return match typed::call_json(module, method, text, source, opts) {
            Ok(out) => {
                out!("{out}");
                ExitCode::SUCCESS
            }
            Err(e) => fail(e),
        };
    }
    let mut input = Vec::new();
    if let Err(e) = std::io::stdin().read_to_end(&mut input) {
        return fail(Error::InvalidArgument(format!("reading stdin: {e}")));
    }
    let result = (|| {
        let host = Host::new()?;
        let m = host.open(module, opts)?;
        let out = m.method(method)?.call(&input)?;
        host.close();
        Ok::<_, Error>(out)
    })();
    match result {
        Ok(out) => {
            let mut stdout = std::io::stdout().lock();
            if let Err(e) = stdout.write_all(&out).and_then(|_| stdout.flush()) {
                // The bytes are the result: not all written is a failure, said unless the
                // reader went away (`| head -c 10`), which needs no message.
                if e.kind() != std::io::ErrorKind::BrokenPipe {
                    eprintln!("bridgehost: writing the output: {e}");
                }
                return ExitCode::from(1);
            }
            ExitCode::SUCCESS
        }
        Err(e) => fail(e),
    }
}

/// Write to stdout for [`out!`].
fn emit(args: std::fmt::Arguments<'_>) {
    if let Err(e) = std::io::stdout().lock().write_fmt(args) {
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            std::process::exit(0);
        }
        eprintln!("bridgehost: writing the output: {e}");
        std::process::exit(1);
    }
}

fn main() -> ExitCode {
    // Every argument is text (module names and paths, JSON): one that is not UTF-8 is a usage
    // error naming it, not a panic.
    let mut args = Vec::new();
    for a in std::env::args_os().skip(1) {
        match a.into_string() {
            Ok(a) => args.push(a),
            Err(a) => {
                return usage(&format!(
                    "argument {:?} is not valid UTF-8",
                    a.to_string_lossy()
                ))
            }
        }
    }
    match args.first().map(String::as_str) {
        Some("inspect" | "validate" | "call" | "wit")
            if args[1..].iter().any(|a| a == "--help" || a == "-h") =>
        {
            out!("{USAGE}");
            ExitCode::SUCCESS
        }
        Some("inspect") => inspect(&args[1..]),
        Some("validate") => validate(&args[1..]),
        Some("call") => call(&args[1..]),
        Some("wit") if args.len() == 2 => match typed::wit(&args[1]) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => fail(e),
        },
        Some("wit") if args.len() > 2 => unexpected(&args[2]),
        Some("wit") => usage("wit needs exactly one FILE.wit"),
        Some("bindgen") if args[1..].iter().any(|a| a == "--help" || a == "-h") => {
            out!("{BINDGEN_USAGE}");
            ExitCode::SUCCESS
        }
        Some("bindgen") => bindgen(&args[1..]),
        Some("new") if args[1..].iter().any(|a| a == "--help" || a == "-h") => {
            out!("{}", new::USAGE);
            ExitCode::SUCCESS
        }
        Some("new") => match new::parse(&args[1..]) {
            Ok(a) => match new::create(&a) {
                Ok(files) => {
                    for f in files {
                        out!("created {}", f.display());
                    }
                    ExitCode::SUCCESS
                }
                Err(e) => fail(e),
            },
            Err(msg) => {
                eprintln!("bridgehost: {msg}\n{}", new::USAGE);
                ExitCode::from(2)
            }
        },
        Some("help") | Some("--help") | Some("-h") => {
            out!("{USAGE}\n\nerror exit codes:");
            for k in bridgehost::ErrorKind::ALL {
                out!("  {:>3}  {}", 10 + k.code(), k.name());
            }
            ExitCode::SUCCESS
        }
        Some("--version") | Some("version") => {
            out!("bridgehost {}", bridgehost::VERSION);
            ExitCode::SUCCESS
        }
        _ => usage("missing or unknown command"),
    }
}
