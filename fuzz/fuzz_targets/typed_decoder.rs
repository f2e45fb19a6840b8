//! Fuzz the typed wire decoder (bridgehost-interface): whatever the bytes, decoding
//! against any type of a rich interface must return a value or a typed error — never
//! panic, hang or allocate beyond the input's size. A decoded value must re-encode,
//! decode again to the same bytes, and survive the JSON round trip of the CLI.
#![no_main]

use bridgehost_interface::{json, wire, Interface, Type};
use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;

const WIT: &str = "package fuzz:typed;
interface typed {
    record point { x: f64, y: f32, label: string, tags: list<string> }
    enum color { red, green, blue }
    flags perms { read, write, exec, f3, f4, f5, f6, f7, f8 }
    variant shape { circle(f64), poly(list<point>), none, nested(option<option<shape2>>) }
    variant shape2 { a(char), b(result<u64, string>), c }
    resource blob { constructor(); }
    everything: func(a: bool, b: s8, c: u16, d: s32, e: u64, f: char, g: list<u8>,
                     h: tuple<color, perms>, i: list<shape>, j: result<_, point>, k: borrow<blob>) -> list<option<point>>;
}";

fn iface() -> &'static Interface {
    static I: OnceLock<Interface> = OnceLock::new();
    I.get_or_init(|| Interface::parse(WIT).expect("the fuzz interface parses"))
}

fuzz_target!(|data: &[u8]| {
    let i = iface();
    let Some((&sel, bytes)) = data.split_first() else { return };
    let f = i.function("everything").expect("declared");
    let types: Vec<Type> = (0..i.types.len())
        .map(Type::Named)
        .chain(f.params.iter().map(|p| p.ty.clone()))
        .chain(f.result.clone())
        .collect();
    if usize::from(sel) == types.len() {
        // The whole parameter list, as a module would decode its input.
        if let Ok(args) = wire::decode_params(i, f, bytes) {
            let again = wire::encode_params(i, f, &args).expect("a decoded value re-encodes");
            let back = wire::decode_params(i, f, &again).expect("re-encoded bytes decode");
            assert_eq!(wire::encode_params(i, f, &back).expect("re-encodes"), again);
        }
        return;
    }
    let ty = &types[usize::from(sel) % types.len()];
    if let Ok(v) = wire::decode(i, ty, bytes) {
        let mut again = Vec::new();
        wire::encode(i, ty, &v, &mut again).expect("a decoded value re-encodes");
        let back = wire::decode(i, ty, &again).expect("re-encoded bytes decode");
        let mut third = Vec::new();
        wire::encode(i, ty, &back, &mut third).expect("re-encodes");
        assert_eq!(again, third);
        let j = json::to_json(i, ty, &v).expect("a decoded value converts to JSON");
        let from = json::from_json(i, ty, &j).expect("its JSON converts back");
        let mut fourth = Vec::new();
        wire::encode(i, ty, &from, &mut fourth).expect("re-encodes");
        assert_eq!(again, fourth, "JSON round trip changed the value");
    }
});
