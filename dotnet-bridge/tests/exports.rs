//! The boundary rules, checked on the crate's source text and on the built
//! library:
//!
//! * every exported or `extern "C"` function is defined through the panic
//!   boundary (its whole body is one `ffi_boundary!` invocation), uses the
//!   "C" ABI (never "C-unwind"), and is `unsafe` exactly when it takes raw
//!   pointers or C function pointers;
//! * nothing but functions is exported (`#[no_mangle]` statics are refused);
//! * `unsafe` blocks, impls, traits and non-export `unsafe fn`s appear only in
//!   the boundary modules (panic.rs, ptr.rs, structs.rs, callback.rs);
//! * the dynamic symbols of `libbridgehost.so` are exactly the functions
//!   documented in docs/C_ABI.md and declared in include/bridgehost.h.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use syn::spanned::Spanned;
use syn::visit::Visit;

const BOUNDARY_FILES: [&str; 4] = ["panic.rs", "ptr.rs", "structs.rs", "callback.rs"];

fn manifest_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Violations of the boundary rules in one file's source.
fn check_source(file: &str, src: &str, boundary: bool) -> Vec<String> {
    let ast = match syn::parse_file(src) {
        Ok(ast) => ast,
        Err(e) => return vec![format!("{file}: does not parse: {e}")],
    };
    let mut v = Checker {
        file,
        boundary,
        problems: Vec::new(),
        exports: Vec::new(),
    };
    v.visit_file(&ast);
    v.problems
}

struct Checker<'a> {
    file: &'a str,
    boundary: bool,
    problems: Vec<String>,
    exports: Vec<String>,
}

fn is_export_attr(a: &syn::Attribute) -> bool {
    let p = a.path();
    if p.is_ident("no_mangle") || p.is_ident("export_name") {
        return true;
    }
    // #[unsafe(no_mangle)] / #[unsafe(export_name = "...")] (edition 2024 spelling)
    if p.is_ident("unsafe") {
        if let syn::Meta::List(l) = &a.meta {
            let t = l.tokens.to_string();
            return t.contains("no_mangle") || t.contains("export_name");
        }
    }
    false
}

/// True when the body is exactly one `ffi_boundary!(...)` / `{...}` invocation.
fn body_is_boundary(block: &syn::Block) -> bool {
    let mac = match block.stmts.as_slice() {
        [syn::Stmt::Macro(m)] => &m.mac,
        [syn::Stmt::Expr(syn::Expr::Macro(m), None)] => &m.mac,
        _ => return false,
    };
    mac.path
        .segments
        .last()
        .is_some_and(|s| s.ident == "ffi_boundary")
}

/// True when an argument is a raw pointer or a C function pointer type.
fn is_pointer_arg(ty: &syn::Type) -> bool {
    match ty {
        syn::Type::Ptr(_) | syn::Type::BareFn(_) => true,
        syn::Type::Path(p) => p.path.segments.last().is_some_and(|s| {
            let name = s.ident.to_string();
            // Callback typedefs (bh_*_fn) and Option<fn> are function pointers.
            name.ends_with("_fn")
                || (name == "Option" && {
                    let args = &s.arguments;
                    matches!(args, syn::PathArguments::AngleBracketed(a)
                        if a.args.iter().any(|g| matches!(g, syn::GenericArgument::Type(t) if is_pointer_arg(t))))
                })
        }),
        syn::Type::Paren(p) => is_pointer_arg(&p.elem),
        syn::Type::Group(g) => is_pointer_arg(&g.elem),
        _ => false,
    }
}

impl Checker<'_> {
    fn problem(&mut self, span: proc_macro2::Span, msg: String) {
        let line = span.start().line;
        self.problems.push(format!("{}:{line}: {msg}", self.file));
    }

    fn check_fn(
        &mut self,
        attrs: &[syn::Attribute],
        vis: &syn::Visibility,
        sig: &syn::Signature,
        block: &syn::Block,
    ) {
        let exported = attrs.iter().any(is_export_attr);
        let abi = sig.abi.as_ref().map(|a| {
            a.name
                .as_ref()
                .map(|n| n.value())
                .unwrap_or_else(|| "C".to_string()) // `extern fn` is "C"
        });
        let name = sig.ident.to_string();
        if !exported && abi.is_none() {
            if sig.unsafety.is_some() && !self.boundary {
                self.problem(
                    sig.span(),
                    format!("`unsafe fn {name}` outside the boundary modules"),
                );
            }
            return;
        }
        match abi.as_deref() {
            Some("C") => {}
            Some(other) => self.problem(
                sig.span(),
                format!("fn {name} uses extern \"{other}\"; exports use extern \"C\" only"),
            ),
            None => self.problem(
                sig.span(),
                format!("fn {name} is exported but not extern \"C\""),
            ),
        }
        if exported {
            self.exports.push(name.clone());
            if !matches!(vis, syn::Visibility::Public(_)) {
                self.problem(sig.span(), format!("export {name} is not `pub`"));
            }
        }
        if !body_is_boundary(block) {
            self.problem(
                sig.span(),
                format!(
                    "fn {name}: the whole body must be one ffi_boundary! invocation (panic boundary)"
                ),
            );
        }
        let takes_pointers = sig.inputs.iter().any(|a| match a {
            syn::FnArg::Typed(t) => is_pointer_arg(&t.ty),
            syn::FnArg::Receiver(_) => false,
        });
        match (takes_pointers, sig.unsafety.is_some()) {
            (true, false) => self.problem(
                sig.span(),
                format!("fn {name} takes pointers but is not `unsafe` (its caller has a contract)"),
            ),
            (false, true) => self.problem(
                sig.span(),
                format!("fn {name} takes no pointers but is `unsafe`"),
            ),
            _ => {}
        }
    }
}

impl<'ast> Visit<'ast> for Checker<'_> {
    fn visit_item_fn(&mut self, f: &'ast syn::ItemFn) {
        self.check_fn(&f.attrs, &f.vis, &f.sig, &f.block);
        syn::visit::visit_item_fn(self, f);
    }

    fn visit_impl_item_fn(&mut self, f: &'ast syn::ImplItemFn) {
        self.check_fn(&f.attrs, &f.vis, &f.sig, &f.block);
        syn::visit::visit_impl_item_fn(self, f);
    }

    fn visit_item_static(&mut self, s: &'ast syn::ItemStatic) {
        if s.attrs.iter().any(is_export_attr) {
            self.problem(
                s.span(),
                format!("static {} is exported; only functions may be", s.ident),
            );
        }
        syn::visit::visit_item_static(self, s);
    }

    fn visit_expr_unsafe(&mut self, e: &'ast syn::ExprUnsafe) {
        if !self.boundary {
            self.problem(
                e.span(),
                "`unsafe` block outside the boundary modules".into(),
            );
        }
        syn::visit::visit_expr_unsafe(self, e);
    }

    fn visit_item_impl(&mut self, i: &'ast syn::ItemImpl) {
        if i.unsafety.is_some() && !self.boundary {
            self.problem(
                i.span(),
                "`unsafe impl` outside the boundary modules".into(),
            );
        }
        syn::visit::visit_item_impl(self, i);
    }

    fn visit_item_trait(&mut self, t: &'ast syn::ItemTrait) {
        if t.unsafety.is_some() && !self.boundary {
            self.problem(
                t.span(),
                "`unsafe trait` outside the boundary modules".into(),
            );
        }
        syn::visit::visit_item_trait(self, t);
    }
}

fn source_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(source_files(&p));
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
    out.sort();
    out
}

/// Every export's name, and every violation, over the crate's sources.
fn scan_crate() -> (BTreeSet<String>, Vec<String>) {
    let src = manifest_dir().join("src");
    let mut names = BTreeSet::new();
    let mut problems = Vec::new();
    for path in source_files(&src) {
        let text = std::fs::read_to_string(&path).unwrap();
        let file = path.strip_prefix(&src).unwrap().display().to_string();
        let boundary = BOUNDARY_FILES.contains(&file.as_str());
        let ast = syn::parse_file(&text).unwrap();
        let mut v = Checker {
            file: &file,
            boundary,
            problems: Vec::new(),
            exports: Vec::new(),
        };
        v.visit_file(&ast);
        names.extend(v.exports);
        problems.extend(v.problems);
    }
    (names, problems)
}

#[test]
fn every_export_goes_through_the_panic_boundary() {
    let (names, problems) = scan_crate();
    assert!(
        problems.is_empty(),
        "boundary rule violations:\n  {}",
        problems.join("\n  ")
    );
    assert!(
        names.len() >= 30,
        "only {} exports found: {names:?}",
        names.len()
    );
}

#[test]
fn the_checker_catches_bare_exports_and_stray_unsafe() {
    // The checker itself must be able to fail: each snippet breaks one rule.
    let bad: &[(&str, &str, &str)] = &[
        (
            "bare export",
            "#[no_mangle] pub extern \"C\" fn bh_x() -> i32 { 0 }",
            "one ffi_boundary!",
        ),
        (
            "boundary plus extra statement",
            "#[no_mangle] pub extern \"C\" fn bh_x() -> i32 { let a = 1; ffi_boundary!({ Ok(()) }) }",
            "one ffi_boundary!",
        ),
        (
            "C-unwind",
            "#[no_mangle] pub extern \"C-unwind\" fn bh_x() -> i32 { ffi_boundary!({ Ok(()) }) }",
            "extern \"C-unwind\"",
        ),
        (
            "export_name",
            "#[export_name = \"bh_y\"] pub extern \"C\" fn y() -> i32 { 0 }",
            "one ffi_boundary!",
        ),
        (
            "edition-2024 spelling",
            "#[unsafe(no_mangle)] pub extern \"C\" fn bh_x() -> i32 { 0 }",
            "one ffi_boundary!",
        ),
        (
            "non-extern export",
            "#[no_mangle] pub fn bh_x() -> i32 { ffi_boundary!({ Ok(()) }) }",
            "not extern \"C\"",
        ),
        (
            "private export",
            "#[no_mangle] extern \"C\" fn bh_x() -> i32 { ffi_boundary!({ Ok(()) }) }",
            "not `pub`",
        ),
        (
            "pointer export not unsafe",
            "#[no_mangle] pub extern \"C\" fn bh_x(p: *const u8) -> i32 { ffi_boundary!(|c| { Ok(()) }) }",
            "not `unsafe`",
        ),
        (
            "exported static",
            "#[no_mangle] pub static BH_X: u32 = 1;",
            "only functions",
        ),
        (
            "unsafe block in an export module",
            "fn f(p: *const u8) -> u8 { unsafe { *p } }",
            "`unsafe` block outside",
        ),
        (
            "unsafe impl in an export module",
            "struct S; unsafe impl Send for S {}",
            "`unsafe impl` outside",
        ),
        (
            "nested export in a module",
            "mod m { #[no_mangle] pub extern \"C\" fn bh_x() -> i32 { 1 } }",
            "one ffi_boundary!",
        ),
    ];
    for (what, src, needle) in bad {
        let problems = check_source("snippet.rs", src, false);
        assert!(
            problems.iter().any(|p| p.contains(needle)),
            "{what}: expected a problem containing {needle:?}, got {problems:?}"
        );
    }
    let good = "#[no_mangle] pub unsafe extern \"C\" fn bh_x(p: *const u8, n: usize) -> i32 { ffi_boundary!(|c| { Ok(()) }) }\n\
                #[no_mangle] pub extern \"C\" fn bh_y(h: u64) -> i32 { ffi_boundary!({ Ok(()) }) }";
    assert_eq!(
        check_source("snippet.rs", good, false),
        Vec::<String>::new()
    );
}

/// Function names in the `## Functions` section of docs/C_ABI.md.
fn documented_functions() -> BTreeSet<String> {
    let doc = std::fs::read_to_string(manifest_dir().join("../docs/C_ABI.md")).unwrap();
    let start = doc
        .find("## Functions")
        .expect("docs/C_ABI.md has a ## Functions section");
    let section = &doc[start..];
    let end = section[3..]
        .find("\n## ")
        .map(|i| i + 3)
        .unwrap_or(section.len());
    names_before_paren(&section[..end])
}

/// Function names declared in include/bridgehost.h.
fn header_functions() -> BTreeSet<String> {
    let h = std::fs::read_to_string(manifest_dir().join("include/bridgehost.h")).unwrap();
    // Drop comments, then take identifiers followed by '(' that start a declaration.
    let mut code = String::new();
    let mut rest = h.as_str();
    while let Some(i) = rest.find("/*") {
        code.push_str(&rest[..i]);
        rest = rest[i..]
            .find("*/")
            .map(|j| &rest[i + j + 2..])
            .unwrap_or("");
    }
    code.push_str(rest);
    let code: String = code
        .lines()
        .filter(|l| !l.trim_start().starts_with("typedef") && !l.trim_start().starts_with('#'))
        .collect::<Vec<_>>()
        .join("\n");
    names_before_paren(&code)
}

/// Every `bh_xxx(` identifier in `text`.
fn names_before_paren(text: &str) -> BTreeSet<String> {
    let b = text.as_bytes();
    let mut out = BTreeSet::new();
    let mut i = Default::default();
    while let Some(pos) = text[i..].find("bh_") {
        let s = i + pos;
        let boundary = s == 0 || !(b[s - 1].is_ascii_alphanumeric() || b[s - 1] == b'_');
        let mut e = s;
        while e < b.len() && (b[e].is_ascii_alphanumeric() || b[e] == b'_') {
            e += 1;
        }
        if boundary && e < b.len() && b[e] == b'(' {
            out.insert(text[s..e].to_string());
        }
        i = e.max(s + 1);
    }
    out
}

/// The cdylib cargo built for this test run (same profile and target dir).
fn built_library() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let deps = exe.parent().unwrap();
    let candidates = [
        deps.join("libbridgehost_c.so"),
        deps.parent().unwrap().join("libbridgehost_c.so"),
    ];
    candidates
        .iter()
        .find(|p| p.is_file())
        .cloned()
        .unwrap_or_else(|| {
            panic!("libbridgehost_c.so (shipped as libbridgehost.so) not found in {candidates:?}")
        })
}

fn dynamic_symbols(lib: &Path) -> BTreeSet<String> {
    let out = std::process::Command::new("nm")
        .args(["-D", "--defined-only", "--format=posix"])
        .arg(lib)
        .output()
        .expect("nm (binutils) must be installed");
    assert!(
        out.status.success(),
        "nm failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .map(|s| s.split('@').next().unwrap_or(s).to_string())
        .collect()
}

#[test]
fn exported_symbols_equal_the_documented_list() {
    let documented = documented_functions();
    let declared = header_functions();
    let (in_source, _) = scan_crate();
    let exported = dynamic_symbols(&built_library());
    assert!(
        documented.len() >= 30,
        "docs list too short: {documented:?}"
    );
    assert_eq!(
        declared, documented,
        "include/bridgehost.h vs docs/C_ABI.md"
    );
    assert_eq!(
        in_source, documented,
        "#[no_mangle] functions vs docs/C_ABI.md"
    );
    assert_eq!(
        exported, documented,
        "nm -D --defined-only libbridgehost.so vs docs/C_ABI.md (nothing else may be exported)"
    );
}

#[test]
fn the_header_spells_shared_module_abi_values_identically() {
    let ours = std::fs::read_to_string(manifest_dir().join("include/bridgehost.h")).unwrap();
    let theirs =
        std::fs::read_to_string(manifest_dir().join("../plugins/include/bridgehost_module.h"))
            .unwrap();
    for name in [
        "BH_THREAD_SAFE",
        "BH_THREAD_SERIALIZED",
        "BH_THREAD_SINGLE",
        "BH_METHOD_NONBLOCKING",
    ] {
        let def = |text: &str| {
            text.lines()
                .find(|l| l.starts_with(&format!("#define {name} ")))
                .and_then(|l| l.split_whitespace().nth(2))
                .map(str::to_string)
                .unwrap_or_else(|| panic!("{name} not defined"))
        };
        assert_eq!(def(&ours), def(&theirs), "{name}");
    }
}
