//! The typed side of the CLI (docs/TYPED.md): printing a module's interface,
//! `bridgehost call ... --json`, and `bridgehost wit FILE.wit`.

use bridgehost::interface::typed::{json, scalar, wire, Interface};
use bridgehost::{Error, Host, ModuleInfo, ModuleOptions};

/// The interface part of `bridgehost inspect`.
pub fn print_interface(info: &ModuleInfo) {
    match &info.interface {
        None => out!("interface:     none (bytes-only module)"),
        Some(i) => {
            out!("interface:     {} (sha256 {})", i.package, i.hash_hex());
            for line in i.render().lines() {
                out!("  {line}");
            }
        }
    }
}

/// `bridgehost wit FILE.wit`: parse and validate a WIT file as a module
/// would embed it, print it and its hash (the value a C module puts in
/// `bh_module_interface.hash`).
pub fn wit(file: &str) -> Result<(), Error> {
    let text = std::fs::read(file).map_err(|e| Error::NotFound(format!("{file}: {e}")))?;
    let i = Interface::parse_bytes(&text)
        .map_err(|e| Error::InvalidArgument(format!("{file}: {e}")))?;
    crate::emit(format_args!("{}", i.render()));
    Ok(())
}

/// Where the JSON arguments of `call --json` came from, as its errors name it: `--json`, or
/// stdin for `--json -` (the line and column of a syntax error are then stdin's).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum JsonSource {
    /// `--json ARGS`
    Argument,
    /// `--json -`
    Stdin,
}

impl std::fmt::Display for JsonSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            JsonSource::Argument => "--json",
            JsonSource::Stdin => "stdin (--json -)",
        })
    }
}

/// `bridgehost call [OPTIONS] MODULE METHOD --json ARGS`: encode the JSON
/// array `text` (from `source`) through the module's interface, call, print the result as
/// JSON (`null` for a function without a result).
///
/// Each intermediate form of the arguments (the text, the JSON tree, the values, the encoded
/// input) and of the result is dropped as soon as the next one is made, so that a large argument
/// is not held in every form at once (its JSON tree alone is 72 bytes an element:
/// `serde_json::Value` with `preserve_order`); docs/TYPED.md, "JSON form".
pub fn call_json(
    module: &str,
    method: &str,
    text: String,
    source: JsonSource,
    opts: ModuleOptions,
) -> Result<String, Error> {
    let args: serde_json::Value = serde_json::from_str(&text).map_err(|e| {
        Error::InvalidArgument(match json::value_error(&source.to_string(), &text, &e) {
            Some(v) => v.to_string(),
            None => format!("{source} is not valid JSON: {e}"),
        })
    })?;
    let host = Host::new()?;
    let m = host.open(module, opts)?;
    let iface = m.interface().ok_or_else(|| {
        Error::InvalidArgument(format!(
            "module {:?} has no typed interface: call it with bytes on stdin",
            m.info().name
        ))
    })?;
    let f = iface.function(method).ok_or_else(|| {
        Error::NotFound(format!(
            "function {method:?} in the interface of {:?} (it has: {})",
            m.info().name,
            iface
                .functions
                .iter()
                .map(|f| f.name.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ))
    })?;
    let values = json::args_from_json(iface, f, &args)
        .map_err(|e| Error::InvalidArgument(exact_big_integer(&text, e.to_string())))?;
    drop(args);
    drop(text);
    let bad_output = |e: bridgehost::interface::typed::Error| Error::AbiMismatch {
        path: m.info().path.clone(),
        reason: format!("output of {method} does not match its interface: {e}"),
    };
    let handle = m.method(method)?;
    let result = match handle.scalar_signature() {
        // A direct-eligible function takes the call every runtime's binding makes
        // (docs/TYPED.md, "Direct calls"): the module's direct entry in-process.
        Some(sig) => {
            let slots: Vec<u64> = values.iter().filter_map(scalar::slot_of).collect();
            let slot = handle.call_scalar(&slots)?;
            sig.result.map(|r| r.value_of(slot))
        }
        None => {
            let input = wire::encode_params(iface, f, &values)
                .map_err(|e| Error::InvalidArgument(e.to_string()))?;
            drop(values);
            let out = handle.call(&input)?;
            drop(input);
            wire::decode_result(iface, f, &out).map_err(bad_output)?
        }
    };
    let shown = match (&f.result, &result) {
        (Some(t), Some(v)) => json::to_json(iface, t, v).map_err(bad_output)?,
        _ => serde_json::Value::Null,
    };
    drop(result);
    let printed = shown.to_string();
    drop(shown);
    host.close();
    Ok(printed)
}

/// serde_json reads an integer literal beyond 64 bits as an `f64`, so the value error names it
/// rounded (`1.8446744073709552e+19 (an integer beyond 64 bits) ...`): show the literal as typed
/// in `text` instead. The literal is found by its rounding: the integer literals of `text`
/// (outside strings) beyond 64 bits whose `f64` prints as the message's number; when two
/// different literals round to it, the message keeps the number (it cannot tell which one).
fn exact_big_integer(text: &str, message: String) -> String {
    const BEYOND: &str = " (an integer beyond 64 bits)";
    let Some(end) = message.find(BEYOND) else {
        return message;
    };
    let start = message[..end].rfind(' ').map_or(0, |i| i + 1);
    let shown = &message[start..end];
    let mut found: Option<&str> = None;
    for lit in big_integer_literals(text) {
        let rounded = lit
            .parse::<f64>()
            .ok()
            .and_then(serde_json::Number::from_f64);
        if rounded.is_some_and(|n| n.to_string() == shown) {
            if found.is_some_and(|f| f != lit) {
                return message;
            }
            found = Some(lit);
        }
    }
    match found {
        Some(lit) => format!("{}{lit}{}", &message[..start], &message[end..]),
        None => message,
    }
}

/// The integer literals (no fraction, no exponent) of the JSON `text` outside its strings that
/// fit neither `u64` nor `i64`.
fn big_integer_literals(text: &str) -> Vec<&str> {
    let b = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'"' => {
                i += 1;
                while i < b.len() && b[i] != b'"' {
                    i += if b[i] == b'\\' { 2 } else { 1 };
                }
                i += 1;
            }
            b'-' | b'0'..=b'9' => {
                let start = i;
                i += 1;
                while i < b.len() && matches!(b[i], b'0'..=b'9' | b'.' | b'e' | b'E' | b'+' | b'-')
                {
                    i += 1;
                }
                let lit = &text[start..i];
                let digits = lit.strip_prefix('-').unwrap_or(lit);
                if !digits.is_empty()
                    && digits.bytes().all(|c| c.is_ascii_digit())
                    && lit.parse::<u64>().is_err()
                    && lit.parse::<i64>().is_err()
                {
                    out.push(lit);
                }
            }
            _ => i += 1,
        }
    }
    out
}

/// `bridgehost bindgen`: generate `lang` bindings of the interface in `source` (a `.wit` file,
/// or a module whose embedded interface is read in a worker, as `inspect` does) under `out`.
pub fn bindgen(
    lang: &str,
    package: Option<&str>,
    source: &str,
    out: &str,
    deadline: Option<std::time::Duration>,
) -> Result<Vec<std::path::PathBuf>, Error> {
    let iface = if source.ends_with(".wit") {
        let text = std::fs::read(source).map_err(|e| Error::NotFound(format!("{source}: {e}")))?;
        Interface::parse_bytes(&text)
            .map_err(|e| Error::InvalidArgument(format!("{source}: {e}")))?
    } else {
        let info = bridgehost::validate(source, &[], deadline)?;
        match info.interface {
            Some(i) => (*i).clone(),
            None => {
                return Err(Error::InvalidArgument(format!(
                    "module {:?} has no typed interface: nothing to generate",
                    info.name
                )))
            }
        }
    };
    let files = bridgehost::interface::typed::bindgen::generate(lang, &iface, package)
        .map_err(|e| Error::InvalidArgument(e.to_string()))?;
    let mut written = Vec::new();
    for f in files {
        let path = std::path::Path::new(out).join(&f.path);
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)
                .map_err(|e| Error::InvalidArgument(format!("{}: {e}", dir.display())))?;
        }
        std::fs::write(&path, f.text)
            .map_err(|e| Error::InvalidArgument(format!("{}: {e}", path.display())))?;
        written.push(path);
    }
    Ok(written)
}
