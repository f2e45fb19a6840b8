//! Binding generators (`bridgehost bindgen`, docs/TYPED.md "Generated bindings"): source code in
//! a caller's language, generated from the owned [`Interface`] model, never from WIT text. Each
//! generator is a pure function from the model to files; the CLI writes them.

use crate::error::{Error, Result};
use crate::model::Interface;

pub mod c;
pub mod csharp;
pub mod java;
pub mod python;
pub mod rust;

/// One generated file: its path relative to the output directory, and its text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct File {
    /// Relative path, `/`-separated (e.g. `io/example/Std.java`).
    pub path: String,
    /// The file's text.
    pub text: String,
}

/// The words of a WIT (kebab-case) name.
fn words(name: &str) -> impl Iterator<Item = &str> {
    name.split('-').filter(|w| !w.is_empty())
}

/// `to-end` → `ToEnd`.
pub(crate) fn pascal(name: &str) -> String {
    words(name)
        .map(|w| {
            let mut c = w.chars();
            match c.next() {
                Some(f) => f.to_ascii_uppercase().to_string() + c.as_str(),
                None => String::new(),
            }
        })
        .collect()
}

/// `to-end` → `toEnd`.
pub(crate) fn camel(name: &str) -> String {
    let p = pascal(name);
    let mut c = p.chars();
    match c.next() {
        Some(f) => f.to_ascii_lowercase().to_string() + c.as_str(),
        None => p,
    }
}

/// `to-end` → `TO_END`.
pub(crate) fn upper_snake(name: &str) -> String {
    words(name)
        .map(|w| w.to_ascii_uppercase())
        .collect::<Vec<_>>()
        .join("_")
}

/// A refusal of the generator: the interface uses something it cannot map.
pub(crate) fn unsupported(lang: &str, what: String) -> Error {
    Error::Unsupported(format!("{lang} bindings: {what}"))
}

/// Generate bindings for `lang` (`c`, `csharp`, `java`, `python`, `rust`). `package` names the target package/namespace
/// (for python: the module's name); `None`
/// derives it from the interface's WIT package.
pub fn generate(lang: &str, iface: &Interface, package: Option<&str>) -> Result<Vec<File>> {
    match lang {
        "csharp" => csharp::generate(iface, package),
        "java" => java::generate(iface, package),
        "python" => python::generate(iface, package),
        "c" => c::generate(iface, package),
        "rust" => rust::generate(iface, package),
        other => Err(Error::Unsupported(format!(
            "bindgen language {other:?}: this build generates c, csharp, java, python and rust"
        ))),
    }
}
