//! The C module-side generator (`bridgehost bindgen --lang c`): the generated header and source
//! for an interface using every supported type are compiled with
//! `-std=c11 -Wall -Wextra -Werror -pedantic` (and under ASan/UBSan when the compiler has them)
//! together with a C program that implements every function and drives the generated dispatcher
//! with a fake host API. Round trips must reproduce the golden vectors byte for byte and the Rust
//! codec's encoding of further values; hostile input (every truncation, trailing bytes, lying
//! lengths, bad UTF-8, tags, discriminants and flag bits) must fail the call with EINVAL and a
//! message naming the function and parameter, never crash or leak; invalid output of an author
//! function must fail the call too.

use bridgehost_interface::{bindgen, hex, json, unhex, wire, Interface, Type};
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

const EINVAL: i32 = 22;

/// golden.wit without its resource, one `type <section>-<i> = <expr>;` alias per vector (not of
/// the resource) with an `echo-<section>-<i>` function, and the extra types and functions below.
fn test_wit() -> (String, Vec<(String, serde_json::Value)>) {
    let doc: serde_json::Value =
        serde_json::from_str(include_str!("../golden/vectors.json")).unwrap();
    let wit = include_str!("../golden/golden.wit");
    let resource = "    resource blob {\n        constructor();\n    }\n";
    assert!(wit.contains(resource), "golden.wit's resource changed");
    let wit = wit.replace(resource, "");
    let mut items = String::new();
    let mut vectors = Vec::new();
    for section in ["valid", "decode_only", "invalid_bytes"] {
        for (i, v) in doc[section].as_array().unwrap().iter().enumerate() {
            let ty = v["type"].as_str().unwrap();
            if ty.contains("blob") {
                continue;
            }
            let name = format!("{}-{i}", section.replace('_', "-"));
            items.push_str(&format!(
                "    type {name} = {ty};\n    echo-{name}: func(v: {name}) -> {name};\n"
            ));
            vectors.push((name, v.clone()));
        }
    }
    let big: Vec<String> = (0..300).map(|k| format!("c{k}")).collect();
    let many: Vec<String> = (0..20).map(|k| format!("m{k}")).collect();
    items.push_str(&format!(
        "    enum big {{ {} }}\n    flags many {{ {} }}\n",
        big.join(", "),
        many.join(", ")
    ));
    items.push_str(
        "    variant wide-v { w0(string), w1, w2(list<u16>) }
    record everything {
        nested: list<list<string>>,
        ok-only: result<string>,
        err-only: result<_, string>,
        opt: option<tuple<char, f32>>,
        many: many,
        big: big,
        shapes: list<shape>,
        results: list<result<u8, string>>,
        wide: list<wide-v>,
        %type: s64,
    }
    echo-everything: func(v: everything) -> everything;
    params: func(a: u8, b: string, c: list<point>, d: big) -> tuple<u8, string, list<point>, big>;
    no-result: func(a: u8);
    no-params: func() -> u8;
    out-string: func(which: u8) -> string;
    out-enum: func() -> color;
    out-flags: func() -> perms;
    out-char: func() -> char;
    out-variant: func() -> shape;
    out-list: func() -> list<u32>;
    author-fail: func(mode: u8) -> u8;
    grow: func(n: u32) -> list<string>;
    type fat = option<tuple<u64, u64, u64, u64, u64, u64, u64, u64, u64, u64, u64, u64, u64, u64, u64, u64>>;
    /// Comment delimiters */ /* and a trigraph ??/ in a doc comment must not break the C.
    count-fat: func(v: list<fat>) -> u32;
",
    );
    let end = wit.rfind('}').unwrap();
    (format!("{}{}{}", &wit[..end], items, &wit[end..]), vectors)
}

/// The author's side of the test interface, in C.
fn author_c(iface: &Interface) -> String {
    let mut s = String::from("#include \"g_iface.h\"\n#include <stdio.h>\n#include <string.h>\n\n");
    for f in &iface.functions {
        if let Some(rest) = f.name.strip_prefix("echo-") {
            let t = rest.replace('-', "_");
            let fname = f.name.replace('-', "_");
            s.push_str(&format!(
                "int32_t g_{fname}(g_call *call, const g_{t} *v, g_{t} *out)\n{{\n    (void)call;\n    *out = *v;\n    return 0;\n}}\n\n"
            ));
        }
    }
    s.push_str(AUTHOR_FIXED);
    s
}

const AUTHOR_FIXED: &str = r#"int32_t g_params(g_call *call, const uint8_t *a, const g_string *b, const g_list_point *c,
                 const g_big *d, g_tuple_u8_string_list_point_big *out)
{
    (void)call;
    out->f0 = *a;
    out->f1 = *b;
    out->f2 = *c;
    out->f3 = *d;
    return 0;
}

static uint8_t last_no_result;

int32_t g_no_result(g_call *call, const uint8_t *a)
{
    (void)call;
    last_no_result = *a;
    return 0;
}

int32_t g_no_params(g_call *call, uint8_t *out)
{
    (void)call;
    *out = last_no_result;
    return 0;
}

int32_t g_out_string(g_call *call, const uint8_t *which, g_string *out)
{
    static const char bad[] = {'a', (char)0xc3, 'b'};
    switch (*which) {
    case 0: {
        char *p = g_alloc(call, 6);
        if (p == NULL)
            return g_fail(call, 12, "out of memory");
        memcpy(p, "h\xc3\xa9llo", 6);
        out->ptr = p;
        out->len = 6;
        return 0;
    }
    case 1:
        out->ptr = bad;
        out->len = sizeof bad;
        return 0;
    default:
        out->ptr = NULL;
        out->len = 3;
        return 0;
    }
}

int32_t g_out_enum(g_call *call, g_color *out)
{
    (void)call;
    *out = 7;
    return 0;
}

int32_t g_out_flags(g_call *call, g_perms *out)
{
    (void)call;
    *out = G_PERMS_READ | (UINT32_C(1) << 4);
    return 0;
}

int32_t g_out_char(g_call *call, uint32_t *out)
{
    (void)call;
    *out = 0xd800u;
    return 0;
}

int32_t g_out_variant(g_call *call, g_shape *out)
{
    (void)call;
    out->tag = 9;
    return 0;
}

int32_t g_out_list(g_call *call, g_list_u32 *out)
{
    (void)call;
    out->ptr = NULL;
    out->len = 2;
    return 0;
}

int32_t g_author_fail(g_call *call, const uint8_t *mode, uint8_t *out)
{
    if (*mode == 0)
        return g_fail(call, 42, "the author says no");
    if (*mode == 1)
        return 7;
    *out = 9;
    return 0;
}

int32_t g_count_fat(g_call *call, const g_list_option_tuple_u64_u64_u64_u64_u64_u64_u64_u64_u64_u64_u64_u64_u64_u64_u64_u64 *v, uint32_t *out)
{
    (void)call;
    *out = (uint32_t)v->len;
    return 0;
}

/* n strings "s0", "s1", ..., grown with g_realloc one element at a time. */
int32_t g_grow(g_call *call, const uint32_t *n, g_list_string *out)
{
    g_string *items = NULL;
    for (uint32_t k = 0; k < *n; k++) {
        g_string *more = g_realloc(call, items, (k + 1) * sizeof *items);
        if (more == NULL)
            return g_fail(call, 12, "out of memory");
        items = more;
        char *text = g_alloc(call, 12);
        if (text == NULL)
            return g_fail(call, 12, "out of memory");
        int len = snprintf(text, 12, "s%lu", (unsigned long)k);
        items[k].ptr = text;
        items[k].len = (size_t)len;
    }
    out->ptr = items;
    out->len = *n;
    return 0;
}
"#;

/// Reads `INDEX HEX` lines (`-` for empty input, passed as NULL) and `limit N` lines (the host's
/// output limit from then on); prints `ok HEX` or `fail CODE MESSAGE` per call.
const DRIVER_C: &str = r#"#include "g_iface.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct bh_call_ctx {
    uint8_t out[1 << 16];
    size_t out_len, limit;
    int failed;
    int32_t code;
    char msg[4200];
};

static int32_t h_write(bh_call_ctx *c, const uint8_t *data, size_t len)
{
    if (len > c->limit - c->out_len)
        return BH_API_TOO_LARGE;
    memcpy(c->out + c->out_len, data, len);
    c->out_len += len;
    return BH_API_OK;
}

static int32_t h_fail(bh_call_ctx *c, int32_t code, const char *msg, size_t len)
{
    if (c->failed++)
        return BH_API_INVALID;
    if (len >= sizeof c->msg)
        len = sizeof c->msg - 1;
    memcpy(c->msg, msg, len);
    c->msg[len] = '\0';
    c->code = code;
    return BH_API_OK;
}

static bh_host_api api;

/* The generated direct entries get the api from here (docs/TYPED.md, "Direct calls"). */
const bh_host_api *g_instance_api(void *instance)
{
    (void)instance;
    return &api;
}

static int hexval(int ch)
{
    if (ch >= '0' && ch <= '9')
        return ch - '0';
    if (ch >= 'a' && ch <= 'f')
        return ch - 'a' + 10;
    return -1;
}

int main(void)
{
    static char line[1 << 20], hexs[1 << 20];
    static bh_call_ctx ctx;
    memset(&api, 0, sizeof api);
    api.struct_size = sizeof api;
    api.abi_version = BH_MODULE_ABI_VERSION;
    api.write = h_write;
    api.fail = h_fail;
    size_t limit = sizeof ctx.out;
    const bh_module_interface *iface = bridgehost_module_interface();
    printf("iface %u %u %zu", (unsigned)iface->struct_size, (unsigned)iface->format, iface->text_len);
    for (size_t k = 0; k < 32; k++)
        printf("%s%02x", k ? "" : " ", iface->hash[k]);
    printf("\n");
    while (fgets(line, sizeof line, stdin) != NULL) {
        unsigned long index;
        if (sscanf(line, "limit %lu", &index) == 1) {
            limit = index;
            continue;
        }
        if (strncmp(line, "direct ", 7) == 0) {
            /* direct INDEX [SLOT...] (hex slots): the method's direct entry */
            char *at = line + 7, *end;
            index = strtoul(at, &end, 10);
            uint64_t slots[BH_DIRECT_MAX_PARAMS] = {0};
            size_t n = 0;
            for (at = end; n < BH_DIRECT_MAX_PARAMS; n++) {
                uint64_t v = strtoull(at, &end, 16);
                if (end == at)
                    break;
                slots[n] = v;
                at = end;
            }
            if (iface->direct == NULL || index >= iface->direct_count || iface->direct[index] == NULL) {
                printf("nodirect\n");
                continue;
            }
            memset(&ctx, 0, sizeof ctx);
            uint64_t result = 0xdeadbeefu;
            /* exactly n slots, so that ASan sees a read of one more */
            uint64_t *args = n ? malloc(n * sizeof *args) : NULL;
            if (n)
                memcpy(args, slots, n * sizeof *args);
            int32_t rc = iface->direct[index](NULL, args, &result, &ctx);
            free(args);
            if (rc == 0 && !ctx.failed && ctx.out_len == 0)
                printf("ok %016llx\n", (unsigned long long)result);
            else if (rc != 0 && ctx.failed == 1 && ctx.code == rc)
                printf("fail %ld %s\n", (long)rc, ctx.msg);
            else
                printf("inconsistent rc=%ld failed=%d code=%ld\n", (long)rc, ctx.failed, (long)ctx.code);
            continue;
        }
        if (strchr(line, '\n') == NULL || sscanf(line, "%lu %s", &index, hexs) != 2) {
            fprintf(stderr, "bad line (or longer than the buffer): %.80s\n", line);
            return 2;
        }
        size_t n = strcmp(hexs, "-") == 0 ? 0 : strlen(hexs) / 2;
        /* exactly n bytes, so that ASan sees any read past the input */
        uint8_t *in = n ? malloc(n) : NULL;
        for (size_t k = 0; k < n; k++)
            in[k] = (uint8_t)(hexval(hexs[2 * k]) * 16 + hexval(hexs[2 * k + 1]));
        memset(&ctx, 0, sizeof ctx);
        ctx.limit = limit;
        int32_t rc = g_dispatch(&api, NULL, (uint32_t)index, in, n, &ctx);
        free(in);
        if (rc == 0 && !ctx.failed) {
            printf("ok ");
            for (size_t k = 0; k < ctx.out_len; k++)
                printf("%02x", ctx.out[k]);
            printf("\n");
        } else if (rc != 0 && ctx.failed == 1 && ctx.code == rc) {
            printf("fail %ld %s\n", (long)rc, ctx.msg);
        } else {
            printf("inconsistent rc=%ld failed=%d code=%ld\n", (long)rc, ctx.failed, (long)ctx.code);
        }
    }
    return 0;
}
"#;

struct Harness {
    iface: Interface,
    exe: PathBuf,
    sanitized: bool,
}

fn cc() -> String {
    std::env::var("CC").unwrap_or_else(|_| "cc".into())
}

const FLAGS: &[&str] = &["-std=c11", "-Wall", "-Wextra", "-Werror", "-pedantic"];

fn compile(dir: &Path, out: &Path, sanitize: bool) -> std::process::Output {
    compile_with(&cc(), dir, out, sanitize)
}

fn compile_with(cc: &str, dir: &Path, out: &Path, sanitize: bool) -> std::process::Output {
    let include = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../plugins/include");
    let mut cmd = Command::new(cc);
    cmd.args(FLAGS)
        .arg("-g")
        .arg("-I")
        .arg(&include)
        .arg("-I")
        .arg(dir);
    if sanitize {
        cmd.args(["-fsanitize=address,undefined", "-fno-sanitize-recover=all"]);
    }
    cmd.arg(dir.join("g_iface.c"))
        .arg(dir.join("author.c"))
        .arg(dir.join("driver.c"))
        .arg("-o")
        .arg(out);
    cmd.output().expect("run the C compiler")
}

fn sanitizers_work(dir: &Path) -> bool {
    let probe = dir.join("probe.c");
    std::fs::write(&probe, "int main(void) { return 0; }\n").unwrap();
    let exe = dir.join("probe");
    Command::new(cc())
        .args(["-fsanitize=address,undefined"])
        .arg(&probe)
        .arg("-o")
        .arg(&exe)
        .status()
        .map(|s| s.success())
        .unwrap_or(false)
        && Command::new(&exe)
            .status()
            .map(|s| s.success())
            .unwrap_or(false)
}

fn build(name: &str) -> Harness {
    let (wit, _) = test_wit();
    let iface = Interface::parse(&wit).unwrap();
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("bindgen_c_{name}"));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    for f in bindgen::generate("c", &iface, Some("g")).unwrap() {
        std::fs::write(dir.join(&f.path), &f.text).unwrap();
    }
    std::fs::write(dir.join("author.c"), author_c(&iface)).unwrap();
    std::fs::write(dir.join("driver.c"), DRIVER_C).unwrap();
    let sanitized = sanitizers_work(&dir);
    let exe = dir.join("driver");
    let out = compile(&dir, &exe, sanitized);
    assert!(
        out.status.success(),
        "the generated C does not compile with {FLAGS:?}:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    if !sanitized {
        eprintln!("note: {} has no working -fsanitize=address,undefined", cc());
    }
    // The other common compiler warns differently: the generated C must be clean there too.
    for other in ["gcc", "clang"] {
        if other == cc() || Command::new(other).arg("--version").output().is_err() {
            continue;
        }
        let out = compile_with(other, &dir, &dir.join(format!("driver-{other}")), false);
        assert!(
            out.status.success(),
            "the generated C does not compile with {other} {FLAGS:?}:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Harness {
        iface,
        exe,
        sanitized,
    }
}

impl Harness {
    fn index(&self, f: &str) -> usize {
        self.iface
            .functions
            .iter()
            .position(|x| x.name == f)
            .unwrap_or_else(|| panic!("no function {f}"))
    }

    /// Run the calls (function, input) and return one line per call.
    fn run(&self, calls: &[(String, Vec<u8>)], limit: Option<usize>) -> Vec<String> {
        let mut input = String::new();
        if let Some(l) = limit {
            input.push_str(&format!("limit {l}\n"));
        }
        for (f, bytes) in calls {
            let h = if bytes.is_empty() {
                "-".into()
            } else {
                hex(bytes)
            };
            input.push_str(&format!("{} {h}\n", self.index(f)));
        }
        self.run_input(input, calls.len())
    }

    /// Run the driver's input lines (one output line each).
    fn run_input(&self, input: String, n: usize) -> Vec<String> {
        let mut child = Command::new(&self.exe)
            .env("ASAN_OPTIONS", "detect_leaks=1:abort_on_error=0")
            .env("UBSAN_OPTIONS", "print_stacktrace=1:halt_on_error=1")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut stdin = child.stdin.take().unwrap();
        let writer = std::thread::spawn(move || stdin.write_all(input.as_bytes()));
        let out = child.wait_with_output().unwrap();
        writer.join().unwrap().unwrap();
        assert!(
            out.status.success(),
            "driver failed ({}; sanitizers: {}):\n{}",
            out.status,
            self.sanitized,
            String::from_utf8_lossy(&out.stderr)
        );
        let text = String::from_utf8(out.stdout).unwrap();
        let mut lines: Vec<String> = text.lines().map(String::from).collect();
        let head = lines.remove(0);
        assert_eq!(
            head,
            format!(
                "iface {} 1 {} {}",
                // bh_module_interface: the first struct (56 bytes), direct, direct_count, reserved
                8 + 8 + 8 + 32 + 8 + 4 + 4,
                self.iface.source().len(),
                self.iface.hash_hex()
            )
        );
        assert_eq!(lines.len(), n, "{text}");
        lines
    }

    fn encode_json(&self, ty: &Type, j: serde_json::Value) -> Vec<u8> {
        let v = json::from_json(&self.iface, ty, &j).unwrap();
        let mut out = Vec::new();
        wire::encode(&self.iface, ty, &v, &mut out).unwrap();
        out
    }
}

fn expect_fail(line: &str, code: i32, needles: &[&str]) {
    let prefix = format!("fail {code} ");
    assert!(
        line.starts_with(&prefix),
        "expected {prefix}..., got {line}"
    );
    for n in needles {
        assert!(line.contains(n), "{line:?} does not contain {n:?}");
    }
}

/// What a call's output line must satisfy.
type Check = Box<dyn Fn(&str)>;

#[test]
fn golden_vectors_round_trip_and_hostile_input_fails() {
    let h = build("golden");
    let (_, vectors) = test_wit();
    let mut calls = Vec::new();
    let mut expect: Vec<Check> = Vec::new();
    for (name, v) in &vectors {
        let f = format!("echo-{name}");
        let bytes = unhex(v["hex"].as_str().unwrap()).unwrap();
        if name.starts_with("invalid-bytes") {
            // The module side words every failure as the host does: the vector's own
            // message, exactly (trailing bytes after the last parameter, the rest in it).
            let error = v["error"].as_str().unwrap();
            let want = if v["why"].as_str().unwrap().contains("trailing") {
                format!("fail {EINVAL} {f}: {error}")
            } else {
                format!("fail {EINVAL} {f}: parameter v: {error}")
            };
            calls.push((f.clone(), bytes));
            expect.push(Box::new(move |l: &str| assert_eq!(l, want)));
            continue;
        }
        let want = v
            .get("canonical_hex")
            .unwrap_or(&v["hex"])
            .as_str()
            .unwrap()
            .to_string();
        calls.push((f.clone(), bytes.clone()));
        let f2 = f.clone();
        expect.push(Box::new(move |l: &str| {
            assert_eq!(l, format!("ok {want}"), "round trip of {f2}")
        }));
        // Every strict prefix is truncated input (the encoding is self-delimiting).
        for cut in 0..bytes.len() {
            let f2 = f.clone();
            calls.push((f.clone(), bytes[..cut].to_vec()));
            expect.push(Box::new(move |l: &str| {
                expect_fail(
                    l,
                    EINVAL,
                    &[&format!(
                        "{f2}: parameter v: malformed typed payload at byte "
                    )],
                )
            }));
        }
        let mut longer = bytes.clone();
        longer.push(0);
        let f2 = f.clone();
        calls.push((f.clone(), longer));
        expect.push(Box::new(move |l: &str| {
            expect_fail(
                l,
                EINVAL,
                &[&format!(
                    "{f2}: malformed typed payload at byte {}: 1 trailing byte",
                    bytes.len()
                )],
            )
        }));
    }
    let lines = h.run(&calls, None);
    for (line, check) in lines.iter().zip(&expect) {
        check(line);
    }
}

/// Direct entries (docs/TYPED.md, "Direct calls"): every direct-eligible function of the test
/// interface has one in the interface's table (indexed like the methods), and it answers like the
/// method's bytes entry: the scalar golden vectors through both, the author's failures (its own
/// fail, a bare code, an invalid char result) reported through fail() with the same message.
#[test]
fn direct_entries_answer_like_the_bytes_entries() {
    use bridgehost_interface::scalar::ScalarSignature;
    let h = build("direct");
    let i = &h.iface;
    let (_, vectors) = test_wit();
    // (function, input bytes, slots): each run both ways.
    let mut cases: Vec<(String, Vec<u8>, Vec<u64>)> = Vec::new();
    for (name, v) in &vectors {
        if name.starts_with("invalid-bytes") {
            continue;
        }
        let f = i.function(&format!("echo-{name}")).unwrap();
        let Some(sig) = ScalarSignature::of(i, f) else {
            continue;
        };
        let bytes = unhex(v["hex"].as_str().unwrap()).unwrap();
        // The slot of the vector's value (a one-parameter echo: the result's type is the
        // parameter's).
        let slot = sig.decode_result(i, f, &bytes).unwrap();
        cases.push((f.name.clone(), bytes, vec![slot]));
    }
    assert!(
        cases.len() >= 20,
        "the golden vectors have scalars of every type: {}",
        cases.len()
    );
    for mode in 0u8..3 {
        cases.push(("author-fail".into(), vec![mode], vec![mode.into()]));
    }
    cases.push(("out-char".into(), vec![], vec![]));
    cases.push(("no-result".into(), vec![5], vec![5]));
    cases.push(("no-params".into(), vec![], vec![]));
    let mut input = String::new();
    for (f, bytes, slots) in &cases {
        let hx = if bytes.is_empty() {
            "-".into()
        } else {
            hex(bytes)
        };
        let slots: Vec<String> = slots.iter().map(|s| format!("{s:x}")).collect();
        input.push_str(&format!(
            "{idx} {hx}\ndirect {idx} {}\n",
            slots.join(" "),
            idx = h.index(f)
        ));
    }
    // Not eligible: no direct entry.
    input.push_str(&format!("direct {}\n", h.index("out-string")));
    input.push_str(&format!("direct {}\n", h.index("echo-everything")));
    let lines = h.run_input(input, cases.len() * 2 + 2);
    for ((f, _, slots), pair) in cases.iter().zip(lines.chunks(2)) {
        let (bytes, direct) = (&pair[0], &pair[1]);
        let sig = ScalarSignature::of(i, i.function(f).unwrap()).unwrap();
        match bytes.strip_prefix("ok ") {
            Some(out) => {
                let want = sig
                    .decode_result(i, i.function(f).unwrap(), &unhex(out).unwrap())
                    .unwrap();
                let got = direct
                    .strip_prefix("ok ")
                    .unwrap_or_else(|| panic!("{f} {slots:x?}: bytes {bytes}, direct {direct}"));
                let got = u64::from_str_radix(got, 16).unwrap();
                if sig.result.is_some() {
                    assert_eq!(got, want, "{f} {slots:x?}: the result slot");
                    assert_eq!(sig.invalid_result(got), None, "{f}: a valid slot");
                }
            }
            None => assert_eq!(direct, bytes, "{f} {slots:x?}: the same failure"),
        }
    }
    let fails: Vec<&String> = lines.iter().filter(|l| l.starts_with("fail")).collect();
    assert_eq!(
        fails,
        [
            "fail 42 the author says no",
            "fail 42 the author says no",
            "fail 7 author-fail failed with code 7",
            "fail 7 author-fail failed with code 7",
            "fail 22 out-char: result: invalid char (a surrogate or above U+10FFFF)",
            "fail 22 out-char: result: invalid char (a surrogate or above U+10FFFF)",
        ]
    );
    let n = lines.len();
    assert_eq!(
        lines[n - 4],
        format!("ok {}", hex(&[5])),
        "no-params after no-result(5)"
    );
    assert_eq!(lines[n - 3], "ok 0000000000000005");
    assert_eq!(&lines[n - 2..], ["nodirect", "nodirect"]);
}

#[test]
fn every_type_round_trips_like_the_rust_codec() {
    let h = build("every");
    let everything = h.iface.function("echo-everything").unwrap().params[0]
        .ty
        .clone();
    let values = [
        serde_json::json!({
            "nested": [[], ["", "a"], ["héllo", "😀", "x"]],
            "ok-only": {"ok": "fine"},
            "err-only": {"err": "bad"},
            "opt": ["\u{10FFFF}", -1.5],
            "many": ["m0", "m9", "m19"],
            "big": "c299",
            "shapes": [{"circle": 1.5}, {"rect": [1, 2]}, "none"],
            "results": [{"ok": 7}, {"err": "e"}],
            "wide": [{"w0": "s"}, "w1", {"w2": [1, 65535]}],
            "type": -9223372036854775808i64,
        }),
        serde_json::json!({
            "nested": [],
            "ok-only": {"err": null},
            "err-only": {"ok": null},
            "opt": null,
            "many": [],
            "big": "c0",
            "shapes": [],
            "results": [],
            "wide": [],
            "type": 0,
        }),
    ];
    let mut calls = Vec::new();
    let mut wants = Vec::new();
    for v in values {
        let bytes = h.encode_json(&everything, v);
        wants.push(format!("ok {}", hex(&bytes)));
        calls.push(("echo-everything".to_string(), bytes));
    }
    // Several parameters: the input is their concatenation; the result a tuple of them.
    let f = h.iface.function("params").unwrap().clone();
    let args = serde_json::json!([200, "zß", [{"x": 1.0, "y": -2.0, "label": "p"}], "c257"]);
    let input = wire::encode_params(
        &h.iface,
        &f,
        &json::args_from_json(&h.iface, &f, &args).unwrap(),
    )
    .unwrap();
    wants.push(format!(
        "ok {}",
        hex(&h.encode_json(f.result.as_ref().unwrap(), args))
    ));
    calls.push(("params".into(), input.clone()));
    calls.push(("no-result".into(), vec![5]));
    wants.push("ok ".into());
    calls.push(("no-params".into(), vec![]));
    wants.push("ok 05".into());
    calls.push(("out-string".into(), vec![0]));
    wants.push(format!("ok 06000000{}", hex("héllo".as_bytes())));
    calls.push(("author-fail".into(), vec![2]));
    wants.push("ok 09".into());
    calls.push(("grow".into(), 3u32.to_le_bytes().to_vec()));
    wants.push(format!(
        "ok {}",
        hex(&h.encode_json(
            &Type::List(Box::new(Type::String)),
            serde_json::json!(["s0", "s1", "s2"])
        ))
    ));
    calls.push(("grow".into(), 0u32.to_le_bytes().to_vec()));
    wants.push("ok 00000000".into());
    let mut fat = 100u32.to_le_bytes().to_vec();
    fat.resize(4 + 100, 0);
    calls.push(("count-fat".into(), fat));
    wants.push(format!("ok {}", hex(&100u32.to_le_bytes())));
    let lines = h.run(&calls, None);
    assert_eq!(lines, wants);
}

#[test]
fn hostile_input_fails_with_a_message_never_a_crash() {
    let h = build("hostile");
    let everything = h.iface.function("echo-everything").unwrap().params[0]
        .ty
        .clone();
    let good = h.encode_json(
        &everything,
        serde_json::json!({
            "nested": [["ab", "cd"], ["ef"]],
            "ok-only": {"ok": "x"}, "err-only": {"err": "y"}, "opt": ["a", 1.0],
            "many": ["m1"], "big": "c280", "shapes": ["none"], "results": [{"ok": 1}],
            "wide": ["w1"], "type": 1,
        }),
    );
    let mut calls: Vec<(String, Vec<u8>)> = Vec::new();
    let mut needles: Vec<(i32, Vec<String>)> = Vec::new();
    let mut push = |f: &str, b: Vec<u8>, code: i32, n: &[&str]| {
        calls.push((f.to_string(), b));
        needles.push((code, n.iter().map(|s| s.to_string()).collect()));
    };
    // Every truncation of a value with nested lists: the partly decoded lists are freed (LSan).
    for cut in 0..good.len() {
        push(
            "echo-everything",
            good[..cut].to_vec(),
            EINVAL,
            &["echo-everything: parameter v: malformed typed payload at byte"],
        );
    }
    // A lying outer list length: refused before anything is allocated for it.
    let mut lying = good.clone();
    lying[..4].copy_from_slice(&0xffff_fff0u32.to_le_bytes());
    push(
        "echo-everything",
        lying,
        EINVAL,
        &["malformed typed payload at byte 0: list length 4294967280 needs at least"],
    );
    // Bad UTF-8 deep inside (the second string of the first inner list: "cd" at offset 4+4+4+2+4),
    // reported where the bad byte is, as the host reports it.
    let mut bad = good.clone();
    bad[18] = 0xff;
    push(
        "echo-everything",
        bad,
        EINVAL,
        &["at byte 18: string is not valid UTF-8"],
    );
    // Surrogate encoded in UTF-8, overlong, and out-of-range lead bytes in a string parameter.
    for s in [
        &[0xed, 0xa0, 0x80][..],
        &[0xc0, 0x80],
        &[0xf5, 0x80, 0x80, 0x80],
        &[0xe2, 0x82],
    ] {
        let mut b = vec![1u8];
        b.extend_from_slice(&(s.len() as u32).to_le_bytes());
        b.extend_from_slice(s);
        b.extend_from_slice(&0u32.to_le_bytes());
        b.extend_from_slice(&0u16.to_le_bytes());
        push(
            "params",
            b,
            EINVAL,
            &["params: parameter b: malformed typed payload at byte 5: string is not valid UTF-8"],
        );
    }
    // The fourth parameter's 2-byte enum discriminant out of range (300 cases).
    let mut b = vec![1u8, 0, 0, 0, 0, 0, 0, 0, 0];
    b.extend_from_slice(&300u16.to_le_bytes());
    push(
        "params",
        b,
        EINVAL,
        &["params: parameter d: malformed typed payload at byte 9: enum "],
    );
    // A flags value with a bit beyond the 20 flags, a bad option tag, a bad variant case.
    let mut b = good.clone();
    // nested (4 + 16 + 10), ok-only (1 + 4 + 1), err-only (6), opt (1 + 4 + 4)
    let flags_at = 30 + 6 + 6 + 9;
    assert_eq!(&b[flags_at..flags_at + 3], &[2, 0, 0]);
    b[flags_at + 2] = 0x10;
    push(
        "echo-everything",
        b,
        EINVAL,
        &[&format!("at byte {flags_at}: flags ")],
    );
    let mut b = good.clone();
    b[flags_at - 9] = 2; // the option tag of `opt`
    push(
        "echo-everything",
        b,
        EINVAL,
        &["option tag 2 is neither 0 nor 1"],
    );
    push(
        "echo-valid-0",
        vec![2],
        EINVAL,
        &["echo-valid-0: parameter v: malformed typed payload at byte 0: bool byte 2 is neither 0 nor 1"],
    );
    // Input for a function without parameters.
    push(
        "no-params",
        vec![0],
        EINVAL,
        &["no-params: malformed typed payload at byte 0: 1 trailing byte"],
    );
    // Output the author got wrong.
    push(
        "out-string",
        vec![1],
        EINVAL,
        &["out-string: result: invalid UTF-8 in a string"],
    );
    push(
        "out-string",
        vec![2],
        EINVAL,
        &["out-string: result: a NULL pointer with a non-zero length"],
    );
    push(
        "out-enum",
        vec![],
        EINVAL,
        &["out-enum: result: enum value out of range"],
    );
    push(
        "out-flags",
        vec![],
        EINVAL,
        &["out-flags: result: unknown flag bits"],
    );
    push(
        "out-char",
        vec![],
        EINVAL,
        &["out-char: result: invalid char"],
    );
    push(
        "out-variant",
        vec![],
        EINVAL,
        &["out-variant: result: variant tag out of range"],
    );
    push(
        "out-list",
        vec![],
        EINVAL,
        &["out-list: result: a NULL pointer with a non-zero length"],
    );
    // One input byte (a `none`) decodes to a 136-byte struct: decoded lists are bounded by
    // G_DECODED_MAX (64 bytes per input byte + 64 KiB), so a big enough list is refused.
    let mut fat = 100_000u32.to_le_bytes().to_vec();
    fat.resize(4 + 100_000, 0);
    push(
        "count-fat",
        fat,
        EINVAL,
        &["count-fat: parameter v: malformed typed payload at byte 0: the decoded lists would exceed G_DECODED_MAX bytes"],
    );
    // The author's own failure, with and without a message.
    push("author-fail", vec![0], 42, &["the author says no"]);
    push(
        "author-fail",
        vec![1],
        7,
        &["author-fail failed with code 7"],
    );
    let lines = h.run(&calls, None);
    for (line, (code, n)) in lines.iter().zip(&needles) {
        expect_fail(
            line,
            *code,
            &n.iter().map(String::as_str).collect::<Vec<_>>(),
        );
    }

    // The host refusing the output (over its limit): the call fails with the write's status.
    let lines = h.run(
        &[
            ("grow".into(), 1000u32.to_le_bytes().to_vec()),
            ("grow".into(), 2u32.to_le_bytes().to_vec()),
        ],
        Some(64),
    );
    expect_fail(
        &lines[0],
        -2,
        &["grow: the host refused the output (status -2: larger than the call's output limit)"],
    );
    let two = h.encode_json(
        &Type::List(Box::new(Type::String)),
        serde_json::json!(["s0", "s1"]),
    );
    assert_eq!(lines[1], format!("ok {}", hex(&two)));
}

#[test]
fn generation_is_deterministic_and_names_the_files() {
    let (wit, _) = test_wit();
    let iface = Interface::parse(&wit).unwrap();
    let a = bindgen::generate("c", &iface, None).unwrap();
    assert_eq!(a, bindgen::generate("c", &iface, None).unwrap());
    let paths: Vec<_> = a.iter().map(|f| f.path.as_str()).collect();
    assert_eq!(paths, ["golden_iface.h", "golden_iface.c"]);
    assert!(a[0].text.contains("#define GOLDEN_METHOD_COUNT "));
}

#[test]
fn refusals_say_why() {
    let gen = |wit: &str, p: Option<&str>| {
        bindgen::generate("c", &Interface::parse(wit).unwrap(), p)
            .unwrap_err()
            .to_string()
    };
    // Resources: what the contract leaves out (docs/TYPED.md, "Resources (handles)").
    let r = "package t:t; interface t { resource r { constructor(); } ";
    let e = gen(&format!("{r} f: func(x: r); }}"), None);
    assert!(
        e.contains("c bindings: function f: parameter x: own<r> in a parameter (passing ownership into the module) is not supported"),
        "{e}"
    );
    let e = gen(&format!("{r} f: func(x: option<own<r>>); }}"), None);
    assert!(e.contains("parameter x: own<r> in a parameter"), "{e}");
    let e = gen(&format!("{r} f: func(x: list<borrow<r>>); }}"), None);
    assert!(
        e.contains("function f: parameter x: borrow<r> inside another type (only a direct borrow<r> parameter is supported)"),
        "{e}"
    );
    let e = gen(
        "package t:t; interface t { resource r { constructor(); } record h { r: r } } \
         interface events { use t.{h}; moved: func(p: h); }",
        None,
    );
    assert!(
        e.contains("event moved: resource r in an event payload"),
        "{e}"
    );
    for (m, what) in [("new", "t_r_new"), ("destroy", "t_r_destroy")] {
        let e = gen(
            &format!("package t:t; interface t {{ resource r {{ {m}: func(); }} }}"),
            None,
        );
        assert!(
            e.contains(&format!("function [method]r.{m}: a resource function named {m} would clash with the generated {what}")),
            "{e}"
        );
        let e = gen(
            &format!("package t:t; interface t {{ resource r {{ {m}: static func(); }} }}"),
            None,
        );
        assert!(e.contains("would clash with the generated"), "{e}");
    }
    let e = gen(&format!("{r} r-destroy: func(); }}"), None);
    assert!(e.contains("both map to the C name t_r_destroy"), "{e}");
    let e = gen(
        &format!("{r} r-get: func(); }}").replace("constructor();", "constructor(); get: func();"),
        None,
    );
    assert!(e.contains("both map to the C name t_r_get"), "{e}");
    let e = gen("package t:t; interface t { resource resources { } }", None);
    assert!(e.contains("both map to the C name t_resources"), "{e}");
    let e = gen(
        "package t:t; interface t { resource instance { resources: func(); } }",
        None,
    );
    assert!(
        e.contains("both map to the C name t_instance_resources"),
        "{e}"
    );
    let e = gen(&format!("{r} r-resource-drop: func(); }}"), None);
    assert!(
        e.contains("function r-resource-drop and function [resource-drop]r both map to the C name T_METHOD_R_RESOURCE_DROP"),
        "{e}"
    );
    let t = "package t:t; interface t { f: func(); }";
    // bridgehost_module + a function v1 would declare bridgehost_module_v1, the module entry.
    for bad in [
        "9x",
        "int",
        "a-b",
        "bh_x",
        "",
        "bridgehost_module",
        "bridgehost",
    ] {
        let e = gen(t, Some(bad));
        assert!(e.contains("is not a usable C identifier"), "{bad}: {e}");
    }
    // Two WIT names that become one C name.
    let e = gen(
        "package t:t; interface t { record list-u8 { a: u8 } f: func(a: list<u8>, b: list-u8); }",
        None,
    );
    assert!(e.contains("both map to the C name t_list_u8"), "{e}");
    let e = gen("package t:t; interface t { alloc: func(); }", None);
    assert!(e.contains("both map to the C name t_alloc"), "{e}");
    let e = gen(
        "package t:t; interface t { enum e { a-b } enum e-a { b } }",
        None,
    );
    assert!(e.contains("both map to the C name T_E_A_B"), "{e}");
    // An event's emit function and its codes are generated names too.
    let e = gen(
        "package t:t; interface t { emit-tick: func(); } interface events { tick: func(); }",
        None,
    );
    assert!(
        e.contains(
            "c bindings: event tick and function emit-tick both map to the C name t_emit_tick"
        ),
        "{e}"
    );
    let e = gen(
        "package t:t; interface t { record emit-tick { a: u8 } f: func(); } \
         interface events { use t.{emit-tick}; tick: func(x: emit-tick); }",
        None,
    );
    assert!(
        e.contains("event tick and type emit-tick both map to the C name t_emit_tick"),
        "{e}"
    );
    let e = gen(
        "package t:t; interface t { resource emit { tick: func(); } } interface events { tick: func(); }",
        None,
    );
    assert!(
        e.contains("event tick and function [method]emit.tick both map to the C name t_emit_tick"),
        "{e}"
    );
    let e = gen(
        "package t:t; interface t { enum emit { out-of-memory } f: func(); } \
         interface events { tick: func(); }",
        None,
    );
    assert!(
        e.contains("the generated T_EMIT_OUT_OF_MEMORY and enum case emit.out-of-memory both map to the C name T_EMIT_OUT_OF_MEMORY"),
        "{e}"
    );
    let e = gen("package t:t; interface t { f: func(out: u8); }", None);
    assert!(
        e.contains("parameter out maps to the C name out, which is taken"),
        "{e}"
    );
}

/// zlib's typed methods are built from generated files that are checked in (plugins/Makefile):
/// they must be exactly what the generator produces from plugins/c/zlib.wit today. Run with
/// `BRIDGEHOST_BLESS=1` to rewrite them after a deliberate change.
#[test]
fn committed_zlib_bindings_are_the_generators_output() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../plugins/c");
    let wit = std::fs::read_to_string(dir.join("zlib.wit")).unwrap();
    let iface = Interface::parse(&wit).unwrap();
    for f in bindgen::generate("c", &iface, Some("zlib")).unwrap() {
        let path = dir.join(&f.path);
        if std::env::var_os("BRIDGEHOST_BLESS").is_some() {
            std::fs::write(&path, &f.text).unwrap();
            continue;
        }
        let committed = std::fs::read_to_string(&path).unwrap_or_else(|e| {
            panic!("{}: {e} (BRIDGEHOST_BLESS=1 generates it)", path.display())
        });
        assert!(
            committed == f.text,
            "{} is not what the generator produces from zlib.wit: run `BRIDGEHOST_BLESS=1 cargo \
             test -p bridgehost-interface --test bindgen_c` and review the diff",
            path.display()
        );
    }
}

// ---- resources (handles) -------------------------------------------------------------------

/// A module built from generated bindings, an author file and `bindgen_c/driver_res.c` (several
/// instances, a call on a second thread), driven one line at a time.
struct ResDriver {
    iface: Interface,
    child: std::process::Child,
    stdin: std::process::ChildStdin,
    stdout: std::io::Lines<std::io::BufReader<std::process::ChildStdout>>,
    sanitized: bool,
}

fn fixture(name: &str) -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/bindgen_c")
        .join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn compile_res(
    cc: &str,
    dir: &Path,
    prefix: &str,
    out: &Path,
    sanitize: bool,
) -> std::process::Output {
    let include = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../plugins/include");
    let mut cmd = Command::new(cc);
    cmd.args(FLAGS)
        .arg("-g")
        .arg("-I")
        .arg(&include)
        .arg("-I")
        .arg(dir)
        .arg(format!("-DDISPATCH={prefix}_dispatch"));
    if sanitize {
        cmd.args(["-fsanitize=address,undefined", "-fno-sanitize-recover=all"]);
    }
    cmd.arg(dir.join(format!("{prefix}_iface.c")))
        .arg(dir.join("author.c"))
        .arg(dir.join("driver.c"))
        .arg("-pthread")
        .arg("-Wl,--wrap=realloc")
        .arg("-o")
        .arg(out);
    cmd.output().expect("run the C compiler")
}

impl ResDriver {
    fn build(name: &str, wit: &str, prefix: Option<&str>, author: &str) -> ResDriver {
        let iface = Interface::parse(wit).unwrap();
        let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("bindgen_c_{name}"));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let files = bindgen::generate("c", &iface, prefix).unwrap();
        let prefix = files[0].path.strip_suffix("_iface.h").unwrap().to_string();
        for f in &files {
            std::fs::write(dir.join(&f.path), &f.text).unwrap();
        }
        std::fs::write(dir.join("author.c"), author).unwrap();
        std::fs::write(dir.join("driver.c"), fixture("driver_res.c")).unwrap();
        let sanitized = sanitizers_work(&dir);
        let exe = dir.join("driver");
        let out = compile_res(&cc(), &dir, &prefix, &exe, sanitized);
        assert!(
            out.status.success(),
            "the generated C does not compile with {FLAGS:?}:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        for other in ["gcc", "clang"] {
            if other == cc() || Command::new(other).arg("--version").output().is_err() {
                continue;
            }
            let out = compile_res(
                other,
                &dir,
                &prefix,
                &dir.join(format!("driver-{other}")),
                false,
            );
            assert!(
                out.status.success(),
                "the generated C does not compile with {other} {FLAGS:?}:\n{}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        let mut child = Command::new(&exe)
            .env("ASAN_OPTIONS", "detect_leaks=1:abort_on_error=0")
            .env("UBSAN_OPTIONS", "print_stacktrace=1:halt_on_error=1")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stdin = child.stdin.take().unwrap();
        let stdout = std::io::BufRead::lines(std::io::BufReader::new(child.stdout.take().unwrap()));
        ResDriver {
            iface,
            child,
            stdin,
            stdout,
            sanitized,
        }
    }

    fn cmd(&mut self, line: &str) -> String {
        writeln!(self.stdin, "{line}").unwrap();
        self.stdin.flush().unwrap();
        match self.stdout.next() {
            Some(Ok(l)) => l,
            _ => {
                let out = std::mem::replace(&mut self.child, Command::new("true").spawn().unwrap())
                    .wait_with_output()
                    .unwrap();
                panic!(
                    "the driver died at {line:?} ({}; sanitizers: {}):\n{}",
                    out.status,
                    self.sanitized,
                    String::from_utf8_lossy(&out.stderr)
                )
            }
        }
    }

    fn new_instance(&mut self) -> usize {
        let l = self.cmd("new");
        l.strip_prefix("inst ").unwrap().parse().unwrap()
    }

    /// The method index of a function or a `[resource-drop]R`.
    fn index(&self, method: &str) -> usize {
        if let Some(k) = self.iface.functions.iter().position(|f| f.name == method) {
            return k;
        }
        let k = self
            .iface
            .resources()
            .position(|r| self.iface.drop_method(r) == method)
            .unwrap_or_else(|| panic!("no method {method}"));
        self.iface.functions.len() + k
    }

    fn raw(&mut self, inst: usize, method: &str, input: &[u8]) -> String {
        let h = if input.is_empty() {
            "-".into()
        } else {
            hex(input)
        };
        let line = format!("call {inst} {} {h}", self.index(method));
        self.cmd(&line)
    }

    /// Call `method` with JSON arguments: Ok(result as JSON) or Err(the fail line).
    fn call(
        &mut self,
        inst: usize,
        method: &str,
        args: serde_json::Value,
    ) -> Result<serde_json::Value, String> {
        let f = self.iface.function(method).unwrap().clone();
        let input = wire::encode_params(
            &self.iface,
            &f,
            &json::args_from_json(&self.iface, &f, &args).unwrap(),
        )
        .unwrap();
        let line = self.raw(inst, method, &input);
        let Some(out) = line.strip_prefix("ok ") else {
            assert!(line.starts_with("fail "), "{line}");
            return Err(line);
        };
        let bytes = unhex(out).unwrap();
        Ok(match &f.result {
            Some(t) => json::to_json(
                &self.iface,
                t,
                &wire::decode(&self.iface, t, &bytes).unwrap(),
            )
            .unwrap(),
            None => {
                assert!(bytes.is_empty());
                serde_json::Value::Null
            }
        })
    }

    fn ok(&mut self, inst: usize, method: &str, args: serde_json::Value) -> serde_json::Value {
        self.call(inst, method, args.clone())
            .unwrap_or_else(|e| panic!("{method}({args}): {e}"))
    }

    fn drop_handle(&mut self, inst: usize, resource: &str, h: u64) -> String {
        self.raw(
            inst,
            &format!("[resource-drop]{resource}"),
            &h.to_le_bytes(),
        )
    }

    fn finish(self) {
        drop(self.stdin);
        let out = self.child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "driver failed at exit ({}; sanitizers: {}):\n{}",
            out.status,
            self.sanitized,
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

fn stale(resource: &str, h: u64) -> String {
    format!("fail {EINVAL} stale handle: no live {resource} has handle 0x{h:016x}")
}

fn handle(v: &serde_json::Value) -> u64 {
    v.as_u64().unwrap_or_else(|| panic!("not a handle: {v}"))
}

#[test]
fn resources_live_in_a_generation_checked_table_per_instance() {
    let mut d = ResDriver::build(
        "res",
        &fixture("res.wit"),
        Some("g"),
        &fixture("author_res.c"),
    );
    let a = d.new_instance();
    let b = d.new_instance();
    // Constructor, method, static, and own<R> in list, option, result, record, variant, tuple.
    let c = handle(&d.ok(a, "[constructor]cell", serde_json::json!([5])));
    assert_eq!(c & 0xffff_ffff, 1, "the first slot: handle {c:#x}");
    assert_eq!(d.ok(a, "[method]cell.get", serde_json::json!([c])), 5);
    let split = d.ok(a, "[method]cell.split", serde_json::json!([c, 3]));
    let split: Vec<u64> = split.as_array().unwrap().iter().map(handle).collect();
    for (k, h) in split.iter().enumerate() {
        assert_eq!(
            d.ok(a, "[method]cell.get", serde_json::json!([h])),
            6 + k as u64
        );
    }
    let m = handle(&d.ok(a, "[method]cell.maybe", serde_json::json!([c, true])));
    assert_eq!(d.ok(a, "[method]cell.get", serde_json::json!([m])), 10);
    assert_eq!(
        d.ok(a, "[method]cell.maybe", serde_json::json!([c, false])),
        serde_json::Value::Null
    );
    let made = d.ok(a, "[static]cell.make", serde_json::json!([4]));
    let made = handle(&made["ok"]);
    assert_eq!(d.ok(a, "[method]cell.get", serde_json::json!([made])), 4);
    assert_eq!(
        d.ok(a, "[static]cell.make", serde_json::json!([0])),
        serde_json::json!({"err": "zero"})
    );
    let pair = d.ok(a, "[method]cell.pair", serde_json::json!([c, "lbl"]));
    assert_eq!(pair["label"], "lbl");
    let (pa, pb) = (handle(&pair["a"]), handle(&pair["b"]));
    assert_eq!(d.ok(a, "[method]cell.get", serde_json::json!([pa])), 105);
    // borrow<R> parameters of two resources.
    let bag = handle(&d.ok(a, "[constructor]bag", serde_json::json!([])));
    assert_eq!(d.ok(a, "[method]bag.put", serde_json::json!([bag, c])), 5);
    assert_eq!(d.ok(a, "[method]bag.put", serde_json::json!([pb, c])), 5);
    assert_eq!(
        d.ok(a, "[method]bag.put", serde_json::json!([bag, made])),
        9
    );
    assert_eq!(
        d.ok(a, "[static]bag.both", serde_json::json!([c, bag, c])),
        serde_json::json!([5, 9, 5])
    );
    let one = d.ok(a, "pick", serde_json::json!([0]));
    let other = d.ok(a, "pick", serde_json::json!([1]));
    assert_eq!(d.ok(a, "pick", serde_json::json!([2])), "nothing");
    let line = d.raw(a, "pick", &[3]);
    expect_fail(&line, EINVAL, &["pick: result: variant tag out of range"]);
    let two = d.ok(a, "two", serde_json::json!([]));
    let mut all: Vec<u64> = vec![
        c,
        m,
        made,
        pa,
        pb,
        bag,
        handle(&one["one"]),
        handle(&other["other"]),
    ];
    all.extend(&split);
    all.push(handle(&two[0]));
    all.extend(two[1].as_array().unwrap().iter().map(handle));
    let mut uniq = all.clone();
    uniq.sort();
    uniq.dedup();
    assert_eq!(uniq.len(), all.len(), "handles are distinct: {all:x?}");
    // cells: c, 3 split, m, made, pa, one, two.0 = 9; bags: pb, bag, other, 2 of two = 5
    assert_eq!(
        d.ok(a, "live", serde_json::json!([])),
        serde_json::json!([9, 5])
    );

    // Stale handles: dropped, dropped twice, wrong generation, another instance's, another
    // resource's, 0, a slot never used.
    assert_eq!(d.drop_handle(a, "cell", m), "ok ");
    assert_eq!(
        d.raw(a, "[method]cell.get", &m.to_le_bytes()),
        stale("cell", m)
    );
    assert_eq!(d.drop_handle(a, "cell", m), stale("cell", m));
    assert_eq!(
        d.ok(a, "live", serde_json::json!([])),
        serde_json::json!([8, 5])
    );
    let wrong_gen = c ^ (1 << 32);
    assert_eq!(
        d.raw(a, "[method]cell.get", &wrong_gen.to_le_bytes()),
        stale("cell", wrong_gen)
    );
    assert_eq!(
        d.drop_handle(a, "cell", wrong_gen),
        stale("cell", wrong_gen)
    );
    let cb = handle(&d.ok(b, "[constructor]cell", serde_json::json!([1])));
    assert_eq!(cb & 0xffff_ffff, 1);
    assert_eq!(
        d.raw(a, "[method]cell.get", &cb.to_le_bytes()),
        stale("cell", cb)
    );
    assert_eq!(
        d.raw(b, "[method]cell.get", &c.to_le_bytes()),
        stale("cell", c)
    );
    assert_eq!(
        d.raw(a, "[method]cell.get", &bag.to_le_bytes()),
        stale("cell", bag)
    );
    assert_eq!(d.drop_handle(a, "bag", c), stale("bag", c));
    assert_eq!(
        d.raw(a, "[method]cell.get", &0u64.to_le_bytes()),
        stale("cell", 0)
    );
    assert_eq!(d.drop_handle(a, "cell", 0), stale("cell", 0));
    let far = (c & !0xffff_ffff) | 1000;
    assert_eq!(
        d.raw(a, "[method]cell.get", &far.to_le_bytes()),
        stale("cell", far)
    );
    // A stale borrow after good ones: the call fails and the pins taken are released (the
    // objects are destroyed at once when dropped afterwards).
    let mut input = c.to_le_bytes().to_vec();
    input.extend(bag.to_le_bytes());
    input.extend(m.to_le_bytes());
    assert_eq!(d.raw(a, "[static]bag.both", &input), stale("cell", m));
    let mut input = m.to_le_bytes().to_vec();
    input.extend(c.to_le_bytes());
    assert_eq!(d.raw(a, "[method]bag.put", &input), stale("bag", m));
    // A dropped slot is reused with a new generation.
    let reused = handle(&d.ok(a, "[constructor]cell", serde_json::json!([77])));
    assert_eq!(reused & 0xffff_ffff, m & 0xffff_ffff);
    assert_ne!(reused, m);
    assert_eq!(
        d.raw(a, "[method]cell.get", &m.to_le_bytes()),
        stale("cell", m)
    );
    assert_eq!(d.ok(a, "[method]cell.get", serde_json::json!([reused])), 77);
    // Malformed handles.
    expect_fail(
        &d.raw(a, "[resource-drop]cell", &[1, 2, 3]),
        EINVAL,
        &["[resource-drop]cell: parameter handle: malformed typed payload at byte 0: truncated: 8 bytes needed, 3 left"],
    );
    let mut nine = c.to_le_bytes().to_vec();
    nine.push(0);
    expect_fail(
        &d.raw(a, "[resource-drop]cell", &nine),
        EINVAL,
        &["[resource-drop]cell: malformed typed payload at byte 8: 1 trailing byte"],
    );
    expect_fail(
        &d.raw(a, "[method]cell.get", &[1]),
        EINVAL,
        &["[method]cell.get: parameter self: malformed typed payload at byte 0: truncated: 8 bytes needed, 1 left"],
    );
    assert_eq!(d.ok(a, "[method]cell.get", serde_json::json!([c])), 5);

    // Invalid output: the objects of the output are destroyed, each once; self is not.
    let destroyed = |d: &mut ResDriver| -> (u64, u64) {
        let l = d.cmd("stat");
        let v: Vec<u64> = l
            .strip_prefix("stat destroyed ")
            .unwrap()
            .split(' ')
            .map(|x| x.parse().unwrap())
            .collect();
        (v[0], v[1])
    };
    let live0 = d.ok(a, "live", serde_json::json!([]));
    let (dc, db) = destroyed(&mut d);
    let bad = |d: &mut ResDriver, mode: u8| {
        let mut input = c.to_le_bytes().to_vec();
        input.push(mode);
        d.raw(a, "[method]cell.bad", &input)
    };
    expect_fail(
        &bad(&mut d, 0),
        EINVAL,
        &["[method]cell.bad: result: a NULL own<cell> pointer"],
    );
    assert_eq!(destroyed(&mut d), (dc + 2, db));
    expect_fail(
        &bad(&mut d, 1),
        EINVAL,
        &["[method]cell.bad: result: the same object twice as own<cell>"],
    );
    assert_eq!(destroyed(&mut d), (dc + 3, db));
    expect_fail(
        &bad(&mut d, 2),
        EINVAL,
        &["[method]cell.bad: result: own<cell> of an object that already has a handle (a borrowed parameter)"],
    );
    assert_eq!(destroyed(&mut d), (dc + 4, db));
    assert_eq!(d.ok(a, "[method]cell.get", serde_json::json!([c])), 5);
    expect_fail(
        &bad(&mut d, 3),
        5,
        &["the author failed after making two cells"],
    );
    assert_eq!(destroyed(&mut d), (dc + 6, db));
    expect_fail(
        &bad(&mut d, 5),
        EINVAL,
        &["[method]cell.bad: result: a NULL pointer with a non-zero length"],
    );
    let mut input = c.to_le_bytes().to_vec();
    input.extend(3u32.to_le_bytes());
    input.extend(b"bad");
    expect_fail(
        &d.raw(a, "[method]cell.pair", &input),
        EINVAL,
        &["[method]cell.pair: result: invalid UTF-8 in a string"],
    );
    assert_eq!(destroyed(&mut d), (dc + 7, db + 1));
    // The same with the walker out of memory (its first list of 16 objects): it finds the
    // objects one at a time, each destroyed once.
    expect_fail(
        &bad(&mut d, 6),
        EINVAL,
        &["[method]cell.bad: result: a NULL own<cell> pointer"],
    );
    assert_eq!(destroyed(&mut d), (dc + 9, db + 1));
    assert_eq!(d.cmd("failrealloc 384"), "armed");
    expect_fail(
        &bad(&mut d, 6),
        EINVAL,
        &["[method]cell.bad: result: a NULL own<cell> pointer"],
    );
    assert_eq!(destroyed(&mut d), (dc + 11, db + 1));
    assert_eq!(d.cmd("failrealloc 0"), "armed");
    assert_eq!(d.ok(a, "live", serde_json::json!([])), live0);
    // A refused write: the objects got handles and stay in the table until the instance closes.
    assert_eq!(d.cmd("limit 64"), "limit");
    expect_fail(
        &bad(&mut d, 4),
        -2,
        &["[method]cell.bad: the host refused the output"],
    );
    assert_eq!(d.cmd(&format!("limit {}", 1 << 16)), "limit");
    assert_eq!(destroyed(&mut d), (dc + 11, db + 1));
    let live1 = d.ok(a, "live", serde_json::json!([]));
    assert_eq!(
        live1[0].as_u64().unwrap(),
        live0[0].as_u64().unwrap() + 1000
    );

    // A drop while a call borrows the object: the handle is stale at once, the object is
    // destroyed when the call returns (the author aborts if it is destroyed while busy).
    let s = handle(&d.ok(a, "[constructor]cell", serde_json::json!([42])));
    let (dc, _) = destroyed(&mut d);
    let line = format!(
        "async {a} {} {}",
        d.index("[method]cell.slow"),
        hex(&s.to_le_bytes())
    );
    assert_eq!(d.cmd(&line), "started");
    assert_eq!(d.drop_handle(a, "cell", s), "ok ");
    assert_eq!(d.drop_handle(a, "cell", s), stale("cell", s));
    assert_eq!(
        d.raw(a, "[method]cell.get", &s.to_le_bytes()),
        stale("cell", s)
    );
    assert_eq!(destroyed(&mut d).0, dc, "destroyed under a running call");
    assert_eq!(d.cmd("release"), "released");
    assert_eq!(d.cmd("join"), format!("ok {}", hex(&42u32.to_le_bytes())));
    assert_eq!(destroyed(&mut d).0, dc + 1);
    // The dropped slot is free again.
    let again = handle(&d.ok(a, "[constructor]cell", serde_json::json!([1])));
    assert_eq!(again & 0xffff_ffff, s & 0xffff_ffff);

    // Out of memory for the table's first slots (16 of 24 bytes): the new object is destroyed.
    let e = d.new_instance();
    let (dc, _) = destroyed(&mut d);
    assert_eq!(d.cmd("failrealloc 384"), "armed");
    expect_fail(
        &d.raw(e, "[constructor]cell", &[1, 0, 0, 0]),
        12,
        &["[constructor]cell: result: out of memory while adding a cell to the table"],
    );
    assert_eq!(destroyed(&mut d).0, dc + 1);
    assert_eq!(
        d.ok(e, "live", serde_json::json!([])),
        serde_json::json!([0, 0])
    );
    assert_eq!(d.cmd(&format!("free {e}")), "freed");

    // Freeing the table destroys every live object of every resource (the author aborts when
    // its counts are not zero afterwards); a closed instance's objects are gone.
    let live_b = d.ok(b, "[method]cell.split", serde_json::json!([cb, 4]));
    assert_eq!(live_b.as_array().unwrap().len(), 4);
    d.ok(b, "[constructor]bag", serde_json::json!([]));
    let (dc, db) = destroyed(&mut d);
    assert_eq!(d.cmd(&format!("free {b}")), "freed");
    assert_eq!(destroyed(&mut d), (dc + 5, db + 1));
    let live = d.ok(a, "live", serde_json::json!([]));
    let (dc, db) = destroyed(&mut d);
    assert_eq!(d.cmd(&format!("free {a}")), "freed");
    assert_eq!(
        destroyed(&mut d),
        (
            dc + live[0].as_u64().unwrap(),
            db + live[1].as_u64().unwrap()
        )
    );
    d.finish();
}

/// plugins/c/counter.wit (the resource test module's interface) through the generator with its
/// default prefix, against the test's own implementation (bindgen_c/author_counter.c).
#[test]
fn counter_wit_builds_and_runs_on_the_generated_bindings() {
    let wit = std::fs::read_to_string(
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../plugins/c/counter.wit"),
    )
    .unwrap();
    let mut d = ResDriver::build("counter", &wit, None, &fixture("author_counter.c"));
    let a = d.new_instance();
    let c = handle(&d.ok(a, "[constructor]counter", serde_json::json!([10])));
    assert_eq!(d.ok(a, "[method]counter.get", serde_json::json!([c])), 10);
    assert_eq!(
        d.ok(a, "[method]counter.add", serde_json::json!([c, 5])),
        serde_json::json!({"ok": 15})
    );
    assert_eq!(
        d.ok(a, "[method]counter.add", serde_json::json!([c, u64::MAX])),
        serde_json::json!({"err": "overflow"})
    );
    assert_eq!(d.ok(a, "[method]counter.get", serde_json::json!([c])), 15);
    assert_eq!(
        d.ok(a, "[method]counter.name", serde_json::json!([c])),
        serde_json::Value::Null
    );
    let named = d.ok(a, "[static]counter.named", serde_json::json!(["x", 3]));
    let n = handle(&named["ok"]);
    assert_eq!(d.ok(a, "[method]counter.name", serde_json::json!([n])), "x");
    assert_eq!(
        d.ok(a, "[static]counter.named", serde_json::json!(["", 3])),
        serde_json::json!({"err": "empty name"})
    );
    let f = handle(&d.ok(a, "[method]counter.fork", serde_json::json!([c, 2])));
    assert_eq!(d.ok(a, "[method]counter.get", serde_json::json!([f])), 17);
    let many = d.ok(a, "[static]counter.many", serde_json::json!([[1, 2, 40]]));
    let many: Vec<u64> = many.as_array().unwrap().iter().map(handle).collect();
    assert_eq!(many.len(), 3);
    assert_eq!(d.ok(a, "sum", serde_json::json!([many[0], many[2]])), 41);
    assert_eq!(d.ok(a, "sum", serde_json::json!([c, c])), 30);
    assert_eq!(d.ok(a, "live", serde_json::json!([])), 6);
    let total = d
        .ok(a, "destroyed-total", serde_json::json!([]))
        .as_u64()
        .unwrap();
    assert_eq!(d.drop_handle(a, "counter", many[1]), "ok ");
    assert_eq!(
        d.drop_handle(a, "counter", many[1]),
        stale("counter", many[1])
    );
    let mut input = many[0].to_le_bytes().to_vec();
    input.extend(many[1].to_le_bytes());
    assert_eq!(d.raw(a, "sum", &input), stale("counter", many[1]));
    assert_eq!(d.ok(a, "live", serde_json::json!([])), 5);
    assert_eq!(d.ok(a, "destroyed-total", serde_json::json!([])), total + 1);
    // A drop while slow-get runs on another thread: slow-get still returns its value.
    let s = handle(&d.ok(a, "[constructor]counter", serde_json::json!([7])));
    let mut input = s.to_le_bytes().to_vec();
    input.extend(200u32.to_le_bytes());
    let line = format!(
        "async {a} {} {}",
        d.index("[method]counter.slow-get"),
        hex(&input)
    );
    assert_eq!(d.cmd(&line), "started");
    assert_eq!(d.drop_handle(a, "counter", s), "ok ");
    assert_eq!(
        d.raw(a, "[method]counter.get", &s.to_le_bytes()),
        stale("counter", s)
    );
    assert_eq!(d.cmd("join"), format!("ok {}", hex(&7u64.to_le_bytes())));
    assert_eq!(d.ok(a, "live", serde_json::json!([])), 5);
    assert_eq!(d.ok(a, "destroyed-total", serde_json::json!([])), total + 2);
    // Closing the instance destroys the 5 still live.
    assert_eq!(d.cmd(&format!("free {a}")), "freed");
    let b = d.new_instance();
    assert_eq!(d.ok(b, "destroyed-total", serde_json::json!([])), total + 7);
    assert_eq!(d.ok(b, "live", serde_json::json!([])), 0);
    assert_eq!(
        d.raw(b, "[method]counter.get", &c.to_le_bytes()),
        stale("counter", c)
    );
    d.finish();
}

/// Small interfaces use few of the generated helpers: their sources still compile warning-free
/// with every compiler found (clang warns about unused static inline functions).
#[test]
fn small_interfaces_compile_with_every_compiler() {
    let wits = [
        ("plain", "package t:t; interface t { f: func(); }"),
        (
            "scalar",
            "package t:t; interface t { f: func(a: u8) -> bool; }",
        ),
        (
            "methods-only",
            "package t:t; interface t { resource r { get: func() -> u32; } }",
        ),
        (
            "static-own",
            "package t:t; interface t { resource r { make: static func() -> option<r>; } }",
        ),
        (
            "borrow-only",
            "package t:t; interface t { resource r { } f: func(x: borrow<r>); }",
        ),
        (
            "event-bare",
            "package t:t; interface t { f: func(); } interface events { bare: func(); }",
        ),
        (
            "events-and-resources",
            "package t:t; interface t { resource r { constructor(); } record p { s: string } } \
             interface events { use t.{p}; moved: func(to: p); bare: func(); }",
        ),
        (
            "event-alias",
            "package t:t; interface t { type seq = u64; type name = string; f: func(); } \
             interface events { use t.{seq, name}; tick: func(s: seq); named: func(n: name); }",
        ),
    ];
    let include = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../plugins/include");
    let mut compilers = vec![cc()];
    for other in ["gcc", "clang"] {
        if other != cc() && Command::new(other).arg("--version").output().is_ok() {
            compilers.push(other.to_string());
        }
    }
    for (name, wit) in wits {
        let dir =
            PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("bindgen_c_small_{name}"));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        for f in bindgen::generate("c", &Interface::parse(wit).unwrap(), None).unwrap() {
            std::fs::write(dir.join(&f.path), &f.text).unwrap();
        }
        for compiler in &compilers {
            let out = Command::new(compiler)
                .args(FLAGS)
                .arg("-I")
                .arg(&include)
                .arg("-I")
                .arg(&dir)
                .arg("-c")
                .arg(dir.join("t_iface.c"))
                .arg("-o")
                .arg(dir.join(format!("t-{compiler}.o")))
                .output()
                .unwrap();
            assert!(
                out.status.success(),
                "{name}: {compiler} {FLAGS:?}:\n{}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
    }
}

// ---- the C counter module through the host ---------------------------------------------------

use bridgehost::{Error as HostError, Isolation, Module, ModuleOptions};
use bridgehost_interface::Value;

/// bindgen_c/author_counter.c as a real module (bindgen_c/module_counter.c: the descriptor,
/// BH_MODULE_STATEFUL) on the bindings generated from plugins/c/counter.wit, built once.
/// Compile `sources` (in `dir`, which also holds the generated header) with `defines` into the
/// module `so`, a shared library as plugins/Makefile builds one.
fn compile_module(
    dir: &Path,
    sources: &[&str],
    defines: &[&str],
    so: &Path,
) -> std::process::Output {
    let include = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../plugins/include");
    Command::new(cc())
        .args(FLAGS)
        .args(["-g", "-fPIC", "-shared", "-fvisibility=hidden", "-pthread"])
        .args(defines)
        .arg("-I")
        .arg(&include)
        .arg("-I")
        .arg(dir)
        .args(sources.iter().map(|f| dir.join(f)))
        .arg("-o")
        .arg(so)
        .output()
        .unwrap()
}

fn c_counter_module() -> PathBuf {
    static SO: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    SO.get_or_init(|| {
        let wit = std::fs::read_to_string(
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../plugins/c/counter.wit"),
        )
        .unwrap();
        let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("bindgen_c_counter_module");
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        for f in bindgen::generate("c", &Interface::parse(&wit).unwrap(), None).unwrap() {
            std::fs::write(dir.join(&f.path), &f.text).unwrap();
        }
        std::fs::write(dir.join("author.c"), fixture("author_counter.c")).unwrap();
        std::fs::write(dir.join("module.c"), fixture("module_counter.c")).unwrap();
        let so = dir.join("libbridgehost_mod_counter_c.so");
        let out = compile_module(&dir, &["module.c", "counter_iface.c"], &[], &so);
        assert!(
            out.status.success(),
            "the C counter module does not build:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        so
    })
    .clone()
}

/// destroyed-total counts for the whole process, where the tests run in parallel: those that
/// read it hold this lock.
static DESTROYED_TOTAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn open_counter(host: &bridgehost::Host, options: ModuleOptions) -> (Module, Interface) {
    let so = c_counter_module();
    let m = host
        .open(so.to_str().unwrap(), options)
        .unwrap_or_else(|e| panic!("open {}: {e}", so.display()));
    assert!(m.info().stateful, "the module declares BH_MODULE_STATEFUL");
    let iface = Interface::parse(m.interface().expect("its interface").source()).unwrap();
    (m, iface)
}

fn isolation(isolation: Isolation) -> ModuleOptions {
    ModuleOptions {
        isolation,
        ..ModuleOptions::default()
    }
}

fn typed_call(
    m: &Module,
    iface: &Interface,
    name: &str,
    args: &[Value],
) -> Result<Option<Value>, HostError> {
    let f = iface.function(name).unwrap();
    let input = wire::encode_params(iface, f, args).unwrap();
    let out = m.method(name)?.call(&input)?;
    Ok(wire::decode_result(iface, f, &out).expect("the output decodes"))
}

fn value_handle(v: Option<Value>) -> u64 {
    match v {
        Some(Value::Handle(h)) => h,
        other => panic!("expected a handle, got {other:?}"),
    }
}

fn number(v: Option<Value>) -> u64 {
    match v {
        Some(Value::U64(x)) => x,
        Some(Value::U32(x)) => u64::from(x),
        other => panic!("expected a number, got {other:?}"),
    }
}

fn host_stale(r: Result<Option<Value>, HostError>, h: u64) {
    match r {
        Err(HostError::Module { code, message }) => {
            assert_eq!(code, EINVAL, "{message}");
            assert_eq!(
                message,
                format!("stale handle: no live counter has handle {h:#018x}")
            );
        }
        other => panic!("handle {h:#x}: expected a stale handle error, got {other:?}"),
    }
}

fn c_counter_round_trip(mode: Isolation) {
    let _serial = DESTROYED_TOTAL.lock().unwrap_or_else(|e| e.into_inner());
    let host = bridgehost::Host::new().unwrap();
    let (m, i) = open_counter(&host, isolation(mode));
    let call = |name: &str, args: &[Value]| typed_call(&m, &i, name, args);
    let get = |h: u64| call("[method]counter.get", &[Value::Handle(h)]);
    let drop_h = |h: u64| m.method("[resource-drop]counter")?.call(&h.to_le_bytes());
    let c = value_handle(call("[constructor]counter", &[Value::U64(5)]).unwrap());
    assert_eq!(c & 0xffff_ffff, 1);
    assert_eq!(number(get(c).unwrap()), 5);
    assert_eq!(
        call("[method]counter.add", &[Value::Handle(c), Value::U64(3)]).unwrap(),
        Some(Value::Result(Ok(Some(Box::new(Value::U64(8))))))
    );
    assert_eq!(
        call(
            "[method]counter.add",
            &[Value::Handle(c), Value::U64(u64::MAX)]
        )
        .unwrap(),
        Some(Value::Result(Err(Some(Box::new(Value::String(
            "overflow".into()
        ))))))
    );
    let f =
        value_handle(call("[method]counter.fork", &[Value::Handle(c), Value::U64(10)]).unwrap());
    assert_eq!(number(get(f).unwrap()), 18);
    let n = match call(
        "[static]counter.named",
        &[Value::String("x".into()), Value::U64(7)],
    )
    .unwrap()
    {
        Some(Value::Result(Ok(Some(h)))) => value_handle(Some(*h)),
        other => panic!("named: {other:?}"),
    };
    assert_eq!(
        call("[method]counter.name", &[Value::Handle(n)]).unwrap(),
        Some(Value::Option(Some(Box::new(Value::String("x".into())))))
    );
    assert_eq!(
        call(
            "[static]counter.named",
            &[Value::String(String::new()), Value::U64(1)]
        )
        .unwrap(),
        Some(Value::Result(Err(Some(Box::new(Value::String(
            "empty name".into()
        ))))))
    );
    let many = match call(
        "[static]counter.many",
        &[Value::List(vec![Value::U64(1), Value::U64(40)])],
    )
    .unwrap()
    {
        Some(Value::List(v)) => v
            .into_iter()
            .map(|h| value_handle(Some(h)))
            .collect::<Vec<_>>(),
        other => panic!("many: {other:?}"),
    };
    assert_eq!(
        number(call("sum", &[Value::Handle(many[0]), Value::Handle(many[1])]).unwrap()),
        41
    );
    assert_eq!(number(call("live", &[]).unwrap()), 5);
    // Dropped, dropped twice, another instance's, 0.
    assert!(drop_h(many[0]).unwrap().is_empty());
    host_stale(get(many[0]), many[0]);
    host_stale(
        call("sum", &[Value::Handle(c), Value::Handle(many[0])]),
        many[0],
    );
    match drop_h(many[0]) {
        Err(HostError::Module { code, message }) => {
            assert_eq!(
                (code, message),
                (
                    EINVAL,
                    format!("stale handle: no live counter has handle {:#018x}", many[0])
                )
            )
        }
        other => panic!("double drop: {other:?}"),
    }
    host_stale(get(0), 0);
    let (m2, i2) = open_counter(&host, isolation(mode));
    let c2 = value_handle(typed_call(&m2, &i2, "[constructor]counter", &[Value::U64(1)]).unwrap());
    host_stale(get(c2), c2);
    host_stale(
        typed_call(&m2, &i2, "[method]counter.get", &[Value::Handle(c)]),
        c,
    );
    m2.close();
    assert_eq!(number(call("live", &[]).unwrap()), 4);
    m.close();
}

#[test]
fn c_counter_module_through_the_host_in_process() {
    c_counter_round_trip(Isolation::InProcess);
}

#[test]
fn c_counter_module_through_the_host_isolated() {
    c_counter_round_trip(Isolation::Process);
}

/// A drop while slow-get borrows the counter on another thread: in-process the drop returns at
/// once and the counter is destroyed when slow-get returns (the author aborts if it is
/// destroyed while busy); isolated, the stateful module's one worker runs the drop after it.
/// Either way slow-get returns the value.
fn c_counter_drop_during_a_call(mode: Isolation) {
    let _serial = DESTROYED_TOTAL.lock().unwrap_or_else(|e| e.into_inner());
    let host = bridgehost::Host::new().unwrap();
    let (m, i) = open_counter(&host, isolation(mode));
    let call = |name: &str, args: &[Value]| typed_call(&m, &i, name, args);
    let h = value_handle(call("[constructor]counter", &[Value::U64(42)]).unwrap());
    let destroyed = number(call("destroyed-total", &[]).unwrap());
    std::thread::scope(|s| {
        let started = std::time::Instant::now();
        let slow = s.spawn(|| {
            call(
                "[method]counter.slow-get",
                &[Value::Handle(h), Value::U32(1500)],
            )
        });
        std::thread::sleep(std::time::Duration::from_millis(400));
        assert!(!slow.is_finished(), "slow-get is still running");
        assert!(m
            .method("[resource-drop]counter")
            .unwrap()
            .call(&h.to_le_bytes())
            .unwrap()
            .is_empty());
        if mode == Isolation::InProcess {
            host_stale(call("[method]counter.get", &[Value::Handle(h)]), h);
            assert_eq!(number(call("destroyed-total", &[]).unwrap()), destroyed);
            assert!(
                !slow.is_finished(),
                "the checks ran while slow-get was running"
            );
        } else {
            // The one worker ran the drop after slow-get's 1.5 s: the drop cannot have returned
            // sooner. (Not `slow.is_finished()`: the slow thread may not have run again yet
            // when the drop's answer arrives.)
            assert!(
                started.elapsed() >= std::time::Duration::from_millis(1500),
                "the worker ran the drop after slow-get"
            );
        }
        assert_eq!(slow.join().unwrap().unwrap(), Some(Value::U64(42)));
    });
    host_stale(call("[method]counter.get", &[Value::Handle(h)]), h);
    assert_eq!(number(call("destroyed-total", &[]).unwrap()), destroyed + 1);
    m.close();
}

#[test]
fn c_counter_drop_during_a_call_in_process() {
    c_counter_drop_during_a_call(Isolation::InProcess);
}

#[test]
fn c_counter_drop_during_a_call_isolated() {
    c_counter_drop_during_a_call(Isolation::Process);
}

/// Closing the module destroys the live counters (in-process the process-wide count shows it);
/// an isolated worker restart gives StateLost once, then the old handles are stale.
#[test]
fn c_counter_close_and_worker_restart() {
    let _serial = DESTROYED_TOTAL.lock().unwrap_or_else(|e| e.into_inner());
    let host = bridgehost::Host::new().unwrap();
    let (m, i) = open_counter(&host, isolation(Isolation::InProcess));
    for k in 0..4 {
        typed_call(&m, &i, "[constructor]counter", &[Value::U64(k)]).unwrap();
    }
    let before = number(typed_call(&m, &i, "destroyed-total", &[]).unwrap());
    m.close();
    let (m, i) = open_counter(&host, isolation(Isolation::InProcess));
    assert_eq!(
        number(typed_call(&m, &i, "destroyed-total", &[]).unwrap()),
        before + 4
    );
    assert_eq!(number(typed_call(&m, &i, "live", &[]).unwrap()), 0);
    m.close();

    let (m, i) = open_counter(
        &host,
        ModuleOptions {
            call_timeout: Some(std::time::Duration::from_millis(500)),
            ..isolation(Isolation::Process)
        },
    );
    let h = value_handle(typed_call(&m, &i, "[constructor]counter", &[Value::U64(3)]).unwrap());
    match typed_call(
        &m,
        &i,
        "[method]counter.slow-get",
        &[Value::Handle(h), Value::U32(5000)],
    ) {
        Err(HostError::Timeout(_)) => {}
        other => panic!("expected a timeout, got {other:?}"),
    }
    match typed_call(&m, &i, "[method]counter.get", &[Value::Handle(h)]) {
        Err(HostError::StateLost(_)) => {}
        other => panic!("expected StateLost, got {other:?}"),
    }
    host_stale(
        typed_call(&m, &i, "[method]counter.get", &[Value::Handle(h)]),
        h,
    );
    assert_eq!(number(typed_call(&m, &i, "live", &[]).unwrap()), 0);
    m.close();
}

// ---- typed events ------------------------------------------------------------------------------

/// What bindgen_c/emit_events.c emits, in order: (topic, payload as JSON; `None`: no payload).
fn expected_events() -> Vec<(&'static str, Option<serde_json::Value>)> {
    use serde_json::json;
    let pa = json!({"x": 1, "y": 2, "label": "a"});
    vec![
        ("bare", None),
        ("tick", Some(json!(7))),
        ("tick", Some(json!(u64::MAX))),
        ("text", Some(json!("h\u{e9}llo"))),
        ("text", Some(json!(""))),
        ("moved", Some(json!({"x": -3, "y": 4, "label": "p"}))),
        (
            "batch",
            Some(json!([pa.clone(), {"x": -1, "y": -2, "label": ""}])),
        ),
        ("batch", Some(json!([]))),
        ("shaped", Some(json!("nothing"))),
        ("shaped", Some(json!({"circle": 9}))),
        ("shaped", Some(json!({"named": "n"}))),
        ("shaped", Some(json!({"path": [pa]}))),
        ("maybe", Some(json!(null))),
        ("maybe", Some(json!("x"))),
        ("perm", Some(json!(["read", "exec"]))),
        ("perm", Some(json!([]))),
        ("lvl", Some(json!("high"))),
        ("letter", Some(json!("\u{1f600}"))),
        ("blob", Some(json!([0, 255]))),
        ("temp", Some(json!(-2.5))),
        ("temp", Some(json!("NaN"))),
    ]
}

fn events_iface() -> Interface {
    Interface::parse(&fixture("events.wit")).unwrap()
}

/// The golden encoding of an expected event's payload, by the Rust wire codec.
fn event_bytes(iface: &Interface, topic: &str, j: &Option<serde_json::Value>) -> Vec<u8> {
    let e = iface.events.iter().find(|e| e.topic == topic).unwrap();
    match (&e.payload, j) {
        (None, None) => Vec::new(),
        (Some(ty), Some(j)) => {
            let v = json::from_json(iface, ty, j).unwrap();
            let mut out = Vec::new();
            wire::encode(iface, ty, &v, &mut out).unwrap();
            out
        }
        _ => panic!("event {topic}: payload and expectation disagree"),
    }
}

/// The generated ev_iface.{h,c} and the fixtures in a fresh directory.
fn events_dir(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("bindgen_c_{name}"));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    for f in bindgen::generate("c", &events_iface(), None).unwrap() {
        std::fs::write(dir.join(&f.path), &f.text).unwrap();
    }
    for f in ["emit_events.c", "driver_events.c", "module_events.c"] {
        std::fs::write(dir.join(f), fixture(f)).unwrap();
    }
    dir
}

fn compile_events_driver(cc: &str, dir: &Path, out: &Path, sanitize: bool) -> std::process::Output {
    let include = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../plugins/include");
    let mut cmd = Command::new(cc);
    cmd.args(FLAGS)
        .arg("-g")
        .arg("-I")
        .arg(&include)
        .arg("-I")
        .arg(dir);
    if sanitize {
        cmd.args(["-fsanitize=address,undefined", "-fno-sanitize-recover=all"]);
    }
    cmd.arg(dir.join("ev_iface.c"))
        .arg(dir.join("driver_events.c"))
        .arg("-pthread")
        .arg("-Wl,--wrap=realloc")
        .arg("-o")
        .arg(out);
    cmd.output().expect("run the C compiler")
}

#[test]
fn typed_events_are_checked_encoded_and_handed_to_emit() {
    let iface = events_iface();
    let dir = events_dir("events");
    let sanitized = sanitizers_work(&dir);
    let exe = dir.join("driver");
    let out = compile_events_driver(&cc(), &dir, &exe, sanitized);
    assert!(
        out.status.success(),
        "the generated C does not compile with {FLAGS:?}:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for other in ["gcc", "clang"] {
        if other == cc() || Command::new(other).arg("--version").output().is_err() {
            continue;
        }
        let out = compile_events_driver(other, &dir, &dir.join(format!("driver-{other}")), false);
        assert!(
            out.status.success(),
            "the generated C does not compile with {other} {FLAGS:?}:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let out = Command::new(&exe)
        .env("ASAN_OPTIONS", "detect_leaks=1:abort_on_error=0")
        .env("UBSAN_OPTIONS", "print_stacktrace=1:halt_on_error=1")
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        out.status.success(),
        "driver failed ({}; sanitizers: {sanitized}):\n{text}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    let mut lines = text.lines();
    // 1. The bytes handed to emit are the Rust codec's encoding of the value.
    let expected = expected_events();
    for (topic, j) in &expected {
        let bytes = event_bytes(&iface, topic, j);
        let shown = if bytes.is_empty() {
            "-".into()
        } else {
            hex(&bytes)
        };
        assert_eq!(
            lines.next(),
            Some(format!("emit {topic} {shown}").as_str()),
            "{text}"
        );
    }
    assert_eq!(
        lines.next().unwrap(),
        format!(
            "fire rc 0 failed 0 out {}",
            hex(&(expected.len() as u32).to_le_bytes())
        )
    );
    assert_eq!(
        lines.next().unwrap(),
        format!(
            "statuses{} ok {}",
            " 0".repeat(expected.len()),
            expected.len()
        )
    );
    // 2. The host's status comes back as it is, the event having reached the host.
    for (name, st) in [
        ("overloaded", -4),
        ("stale", -3),
        ("too-large", -2),
        ("invalid", -1),
        ("other", 12345),
    ] {
        assert_eq!(
            lines.next().unwrap(),
            format!("status {name} rc {st} calls 1 topic text len 7")
        );
        assert_eq!(
            lines.next().unwrap(),
            format!("status {name}-bare rc {st} calls 1 topic bare len 0")
        );
    }
    // 3. An invalid payload is refused and never reaches the host.
    const INVALID_PAYLOAD: i32 = -100;
    const OUT_OF_MEMORY: i32 = -101;
    const BH_API_INVALID: i32 = -1;
    for (name, rc) in [
        ("string-bad-utf8", INVALID_PAYLOAD),
        ("string-surrogate", INVALID_PAYLOAD),
        ("string-overlong", INVALID_PAYLOAD),
        ("string-null", INVALID_PAYLOAD),
        ("null-payload", INVALID_PAYLOAD),
        ("record-field", INVALID_PAYLOAD),
        ("list-null", INVALID_PAYLOAD),
        ("list-element", INVALID_PAYLOAD),
        ("variant-tag", INVALID_PAYLOAD),
        ("variant-payload", INVALID_PAYLOAD),
        ("variant-list-null", INVALID_PAYLOAD),
        ("option-payload", INVALID_PAYLOAD),
        ("flags-unknown-bit", INVALID_PAYLOAD),
        ("enum-out-of-range", INVALID_PAYLOAD),
        ("char-surrogate", INVALID_PAYLOAD),
        ("char-too-large", INVALID_PAYLOAD),
        ("bytes-null", INVALID_PAYLOAD),
        ("bytes-too-long", INVALID_PAYLOAD),
        ("api-null", BH_API_INVALID),
        ("api-null-bare", BH_API_INVALID),
        ("emit-null", BH_API_INVALID),
        ("out-of-memory", OUT_OF_MEMORY),
    ] {
        assert_eq!(
            lines.next().unwrap(),
            format!("invalid {name} rc {rc} calls 0")
        );
    }
    // 4. Four threads at once, 50 rounds each.
    let n = 4 * 50 * expected.len();
    assert_eq!(lines.next().unwrap(), format!("threads {n} calls {n}"));
    assert_eq!(lines.next(), None);
    // The header documents the codes the test expects.
    let h = std::fs::read_to_string(dir.join("ev_iface.h")).unwrap();
    assert!(h.contains(&format!(
        "#define EV_EMIT_INVALID_PAYLOAD ({INVALID_PAYLOAD})"
    )));
    assert!(h.contains(&format!("#define EV_EMIT_OUT_OF_MEMORY ({OUT_OF_MEMORY})")));
    assert!(h.contains(
        "int32_t ev_emit_tick(const bh_host_api *api, uint64_t instance_token, const uint64_t *payload);"
    ));
    assert!(h.contains("int32_t ev_emit_bare(const bh_host_api *api, uint64_t instance_token);"));
}

/// bindgen_c/module_events.c as a real module on the bindings generated from events.wit.
fn c_events_module() -> PathBuf {
    static SO: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    SO.get_or_init(|| {
        let dir = events_dir("events_module");
        let so = dir.join("libbridgehost_mod_events_c.so");
        let out = compile_module(&dir, &["module_events.c", "ev_iface.c"], &[], &so);
        assert!(
            out.status.success(),
            "the C events module does not build:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        so
    })
    .clone()
}

/// An event as delivered: (topic, data).
type Delivered = (String, Vec<u8>);

fn c_events_through_the_host(mode: Isolation) {
    let so = c_events_module();
    let host = bridgehost::Host::new().unwrap();
    let m = host
        .open(so.to_str().unwrap(), isolation(mode))
        .unwrap_or_else(|e| panic!("open {}: {e}", so.display()));
    let iface = Interface::parse(m.interface().expect("its interface").source()).unwrap();
    assert_eq!(iface.hash(), events_iface().hash());
    let got: std::sync::Arc<std::sync::Mutex<Vec<Delivered>>> = Default::default();
    let sink = std::sync::Arc::clone(&got);
    let _sub = m
        .subscribe(
            "*",
            Box::new(move |e: &bridgehost::Event| {
                sink.lock()
                    .unwrap()
                    .push((e.topic.to_string(), e.data.to_vec()));
            }),
        )
        .unwrap();
    let expected = expected_events();
    for threaded in [false, true] {
        got.lock().unwrap().clear();
        let accepted = typed_call(&m, &iface, "fire", &[Value::Bool(threaded)]).unwrap();
        assert_eq!(
            number(accepted),
            expected.len() as u64,
            "threaded: {threaded}"
        );
        m.flush(std::time::Duration::from_secs(30)).unwrap();
        let got = got.lock().unwrap().clone();
        assert_eq!(got.len(), expected.len(), "{got:?}");
        for ((topic, data), (want_topic, want)) in got.iter().zip(&expected) {
            assert_eq!(topic, want_topic);
            let index = bridgehost::interface::event_index(&iface, topic).unwrap();
            let decoded = bridgehost::interface::decode_event("events_c", &iface, index, data)
                .unwrap_or_else(|e| panic!("{topic}: {e}"));
            let e = &iface.events[index];
            let want_value = match (&e.payload, want) {
                (Some(ty), Some(j)) => Some(json::from_json(&iface, ty, j).unwrap()),
                (None, None) => None,
                _ => unreachable!(),
            };
            // NaN != NaN as a value: compare the canonical encodings there.
            match (&decoded, &want_value) {
                (Some(Value::F64(a)), Some(Value::F64(b))) if b.is_nan() => {
                    assert!(a.is_nan(), "{topic}: {a}")
                }
                _ => assert_eq!(decoded, want_value, "{topic}"),
            }
            assert_eq!(*data, event_bytes(&iface, topic, want), "{topic}");
        }
    }
    m.close();
}

#[test]
fn c_typed_events_through_the_host_in_process() {
    c_events_through_the_host(Isolation::InProcess);
}

#[test]
fn c_typed_events_through_the_host_isolated() {
    c_events_through_the_host(Isolation::Process);
}

/// The generated direct entries are exported only when the module defines
/// `PREFIX_instance_api` (a weak declaration): a module regenerated without it still builds
/// and loads, with no direct entries (every call takes the bytes entry).
#[test]
fn direct_entries_are_exported_only_with_instance_api() {
    let (wit, _) = test_wit();
    let iface = Interface::parse(&wit).unwrap();
    for with_api in [false, true] {
        let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
            .join(format!("bindgen_c_instance_api_{with_api}"));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        for f in bindgen::generate("c", &iface, Some("g")).unwrap() {
            std::fs::write(dir.join(&f.path), &f.text).unwrap();
        }
        std::fs::write(dir.join("author.c"), author_c(&iface)).unwrap();
        std::fs::write(
            dir.join("driver.c"),
            format!(
                "#include \"g_iface.h\"\n#include <stdio.h>\n{}\nint main(void)\n{{\n    \
                 const bh_module_interface *i = bridgehost_module_interface();\n    \
                 printf(\"%u %d\\n\", (unsigned)i->direct_count, i->direct != NULL);\n    \
                 return 0;\n}}\n",
                if with_api {
                    "const bh_host_api *g_instance_api(void *instance)\n{\n    (void)instance;\n    return NULL;\n}\n"
                } else {
                    ""
                }
            ),
        )
        .unwrap();
        let exe = dir.join("driver");
        let out = compile_with(&cc(), &dir, &exe, false);
        assert!(
            out.status.success(),
            "with_api {with_api}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let run = Command::new(&exe).output().unwrap();
        let text = String::from_utf8(run.stdout).unwrap();
        if with_api {
            let n: usize = text.split_whitespace().next().unwrap().parse().unwrap();
            assert_eq!(n, iface.functions.len(), "{text}");
            assert!(text.trim_end().ends_with(" 1"), "{text}");
        } else {
            assert_eq!(text.trim_end(), "0 0", "no instance_api, no direct table");
        }
    }
}

const SPLICED_WIT: &str = "package test:spliced@0.1.0;

interface spliced {
    add: func(a: u32, b: u32) -> u32;
    scale: func(x: f64, k: f64) -> f64;
    greet: func(name: string) -> string;
}
";

/// bindgen_c/module_spliced.c (two byte methods, then the typed ones) built with `defines` for
/// spliced_iface.c: `Ok(the module)`, or `Err(the compiler's stderr)`.
fn spliced_module(name: &str, defines: &[&str]) -> Result<PathBuf, String> {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("bindgen_c_spliced_{name}"));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    for f in bindgen::generate("c", &Interface::parse(SPLICED_WIT).unwrap(), None).unwrap() {
        std::fs::write(dir.join(&f.path), &f.text).unwrap();
    }
    std::fs::write(dir.join("module.c"), fixture("module_spliced.c")).unwrap();
    let so = dir.join("libbridgehost_mod_spliced.so");
    let out = compile_module(&dir, &["module.c", "spliced_iface.c"], defines, &so);
    if out.status.success() {
        Ok(so)
    } else {
        Err(String::from_utf8_lossy(&out.stderr).into_owned())
    }
}

/// A module that splices the generated entries after methods of its own defines
/// `PREFIX_FIRST_METHOD` and `PREFIX_MODULE_METHOD_COUNT` (docs/TYPED.md, "Direct calls"): then
/// its direct table is indexed like its descriptor, the host loads it, and every method answers,
/// the direct-eligible ones through `call_scalar` too, in both isolation modes. Were the direct
/// entries left at index 0, they would sit on the byte methods, which the loader refuses.
#[test]
fn a_typed_table_spliced_after_byte_methods_is_indexed_from_first_method() {
    let so = spliced_module(
        "ok",
        &[
            "-DSPLICED_FIRST_METHOD=2u",
            "-DSPLICED_MODULE_METHOD_COUNT=5u",
        ],
    )
    .unwrap_or_else(|e| panic!("the spliced module does not build:\n{e}"));
    let iface = Interface::parse(SPLICED_WIT).unwrap();
    let host = bridgehost::Host::new().unwrap();
    for mode in [Isolation::InProcess, Isolation::Process] {
        let m = host
            .open(so.to_str().unwrap(), isolation(mode))
            .unwrap_or_else(|e| panic!("{mode:?}: open {}: {e}", so.display()));
        assert_eq!(m.method("ping").unwrap().call(b"abc").unwrap(), b"abc");
        assert_eq!(
            m.method("length").unwrap().call(b"abcde").unwrap(),
            5u32.to_le_bytes()
        );
        assert!(m.method("ping").unwrap().scalar_signature().is_none());
        let add = m.method("add").unwrap();
        assert_eq!(
            add.scalar_signature().unwrap().to_string(),
            "(u32, u32) -> u32"
        );
        assert_eq!(add.call_scalar(&[2, 3]).unwrap(), 5, "{mode:?}");
        assert_eq!(
            add.call_scalar(&[u64::from(u32::MAX), 2]).unwrap(),
            1,
            "{mode:?}"
        );
        let scale = m.method("scale").unwrap();
        let r = scale
            .call_scalar(&[1.5f64.to_bits(), (-2.0f64).to_bits()])
            .unwrap();
        assert_eq!(f64::from_bits(r), -3.0, "{mode:?}");
        match scale.call_scalar(&[1.0f64.to_bits(), 0.0f64.to_bits()]) {
            Err(HostError::Module { code, message }) => {
                assert_eq!(
                    (code, message.as_str()),
                    (33, "scale: k is zero"),
                    "{mode:?}"
                )
            }
            other => panic!("{mode:?}: expected the module's error, got {other:?}"),
        }
        // The same functions through the bytes entry, and one that has no direct entry.
        assert_eq!(
            typed_call(&m, &iface, "add", &[Value::U32(40), Value::U32(2)]).unwrap(),
            Some(Value::U32(42))
        );
        assert_eq!(
            typed_call(&m, &iface, "greet", &[Value::String("C".into())]).unwrap(),
            Some(Value::String("hello, C".into()))
        );
        assert!(m.method("greet").unwrap().scalar_signature().is_none());
    }
}

/// The mistakes the generated header warns about are caught: a table index past the module's
/// method count does not compile, and a table the host cannot line up with the descriptor (left
/// at index 0, or a count that is not the descriptor's) is refused at load with `AbiMismatch`
/// saying why, never a call of the wrong method.
#[test]
fn a_typed_table_spliced_after_byte_methods_with_wrong_defines_is_refused() {
    let err = spliced_module(
        "past_the_end",
        &[
            "-DSPLICED_FIRST_METHOD=3u",
            "-DSPLICED_MODULE_METHOD_COUNT=5u",
        ],
    )
    .expect_err("FIRST_METHOD + METHOD_COUNT > MODULE_METHOD_COUNT must not compile");
    assert!(
        err.contains("SPLICED_MODULE_METHOD_COUNT is the descriptor"),
        "{err}"
    );

    let host = bridgehost::Host::new().unwrap();
    let refused = |name: &str, defines: &[&str], needle: &str| {
        let so = spliced_module(name, defines)
            .unwrap_or_else(|e| panic!("{name}: the module does not build:\n{e}"));
        match host.open(so.to_str().unwrap(), isolation(Isolation::InProcess)) {
            Err(HostError::AbiMismatch { reason, .. }) => {
                assert!(reason.contains(needle), "{name}: {reason}")
            }
            Err(e) => panic!("{name}: expected AbiMismatch, got {e}"),
            Ok(_) => panic!("{name}: a misplaced direct table was loaded"),
        }
    };
    refused(
        "at_zero",
        &["-DSPLICED_MODULE_METHOD_COUNT=5u"],
        "method \"ping\" (index 0) has a direct entry but is no function of the interface",
    );
    refused(
        "count_too_large",
        &[
            "-DSPLICED_FIRST_METHOD=2u",
            "-DSPLICED_MODULE_METHOD_COUNT=6u",
        ],
        "direct_count is 6, the module has 5 methods",
    );
}
