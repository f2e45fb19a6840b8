//! Fuzz the interface parser (bridgehost-interface over wit-parser) with hostile WIT
//! text: it must return an interface or a typed error — never crash, overflow the
//! stack or hang. An accepted interface must hash the same when parsed again.
#![no_main]

use bridgehost_interface::Interface;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(i) = Interface::parse_bytes(data) {
        let again = Interface::parse_bytes(data).expect("parses twice");
        assert_eq!(i.hash(), again.hash());
        let _ = i.render();
    }
});
