//! # bridgehost-interface
//!
//! A module's typed interface: one WIT package (one `interface`, plus an
//! optional `events` interface) parsed with `wit-parser`, checked against
//! bridgehost's subset and limits as hostile input, and resolved into a small
//! owned model ([`Interface`]). The crate also owns the typed wire format
//! ([`wire`]), the JSON mapping used by the CLI ([`json`]), the conversion of a
//! dynamic runtime's values (Python's typed view, [`dynamic`]), the compatibility
//! rules between two versions of an interface ([`compat`]) and the golden
//! vectors (`golden/`). docs/TYPED.md specifies all of it.
//!
//! ```
//! use bridgehost_interface::{Interface, Value};
//! let wit = "package demo:calc; interface calc { add: func(a: u32, b: u32) -> u32; }";
//! let iface = Interface::parse(wit)?;
//! let add = iface.function("add").unwrap();
//! let input = bridgehost_interface::wire::encode_params(&iface, add, &[Value::U32(2), Value::U32(40)])?;
//! assert_eq!(input, [2, 0, 0, 0, 40, 0, 0, 0]);
//! # Ok::<(), bridgehost_interface::Error>(())
//! ```
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod bindgen;
pub mod compat;
pub mod dynamic;
mod error;
pub mod json;
pub mod limits;
mod model;
pub mod scalar;
pub mod wire;

pub use error::{Error, Result};
pub use model::{
    Case, Event, Field, Function, FunctionKind, Handles, Interface, Param, Type, TypeDef,
    TypeDefKind, TypeIndex, CANONICAL_HEADER, EVENTS_INTERFACE,
};
pub use wire::Value;

/// Lowercase hex of `bytes`.
pub fn hex(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(char::from(b"0123456789abcdef"[usize::from(b >> 4)]));
        s.push(char::from(b"0123456789abcdef"[usize::from(b & 15)]));
    }
    s
}

/// Parse lowercase or uppercase hex (no separators).
pub fn unhex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    let digit = |c: u8| -> Option<u8> {
        match c {
            b'0'..=b'9' => Some(c - b'0'),
            b'a'..=b'f' => Some(c - b'a' + 10),
            b'A'..=b'F' => Some(c - b'A' + 10),
            _ => None,
        }
    };
    s.as_bytes()
        .chunks(2)
        .map(|p| Some(digit(p[0])? << 4 | digit(p[1])?))
        .collect()
}
