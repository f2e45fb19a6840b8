//! Fuzz the host-side decoders of everything an (untrusted) isolation worker sends: the
//! datagram reassembler and every record decoder (HELLO, INIT_ERROR, EVENTS, LOG,
//! LAST_WORDS, STARTED), and the response header read from shared memory. They must never
//! panic, hang or allocate without bound, whatever the bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    bridgehost::internal::fuzz_host_decoder(data);
});
