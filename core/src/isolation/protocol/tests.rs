//! Unit tests of the wire formats and the host decoders.
use super::*;
use crate::ffi::loader::{MethodInfo, ThreadModel};

fn limits() -> Limits {
    Limits { max_event: 1 << 20 }
}

fn roundtrip(kind: u8, payload: &[u8]) -> (u8, Vec<u8>) {
    let mut re = Reassembler::default();
    let packets = fragment(kind, payload);
    let mut out = None;
    for (i, p) in packets.iter().enumerate() {
        assert!(p.len() <= MAX_PACKET);
        let r = re.push(p, &limits()).unwrap();
        if i + 1 < packets.len() {
            assert!(r.is_none());
        } else {
            out = r;
        }
    }
    out.unwrap()
}

#[test]
fn records_fragment_and_reassemble() {
    let big = vec![7u8; 300_000];
    let ev = encode_events(3, [("tick", &big[..])].into_iter());
    let (k, p) = roundtrip(REC_EVENTS, &ev);
    assert_eq!(k, REC_EVENTS);
    let b = decode_events(&p, &limits()).unwrap();
    assert_eq!(b.dropped, 3);
    assert_eq!(
        (b.events[0].topic.as_str(), b.events[0].data.len()),
        ("tick", 300_000)
    );
    let small: Vec<(&str, &[u8])> = vec![("a", b"1"), ("bb", b""), ("c", b"333")];
    let (_, p) = roundtrip(REC_EVENTS, &encode_events(0, small.into_iter()));
    let b = decode_events(&p, &limits()).unwrap();
    assert_eq!(b.events.len(), 3);
    assert_eq!(
        (b.events[2].topic.as_str(), &b.events[2].data[..]),
        ("c", &b"333"[..])
    );
    // A drop report alone.
    let (_, p) = roundtrip(REC_EVENTS, &encode_events(9, std::iter::empty()));
    assert_eq!(
        decode_events(&p, &limits()).unwrap(),
        EventBatch {
            dropped: 9,
            events: vec![]
        }
    );
}

#[test]
fn event_batches_are_validated() {
    let l = Limits { max_event: 10 };
    let ok = encode_events(0, [("t", &[1u8; 10][..])].into_iter());
    assert!(decode_events(&ok, &l).is_ok());
    let big = encode_events(0, [("t", &[1u8; 11][..])].into_iter());
    assert!(decode_events(&big, &l).is_err(), "over max_event");
    let empty_topic = encode_events(0, [("", &[1u8][..])].into_iter());
    assert!(decode_events(&empty_topic, &l).is_err());
    let mut lying = encode_events(0, [("t", &[1u8][..])].into_iter());
    lying[4] = 2; // claims two events, holds one
    assert!(decode_events(&lying, &l).is_err());
    let mut trailing = ok.clone();
    trailing.push(0);
    assert!(decode_events(&trailing, &l).is_err());
    let mut huge_count = ok;
    huge_count[4..8].copy_from_slice(&u32::MAX.to_le_bytes());
    assert!(decode_events(&huge_count, &l).is_err());
    let mut w = Writer::default();
    w.u32(0).u32(1).u16(2).bytes(&[0xff, 0xfe]).u32(0);
    assert!(decode_events(&w.buf, &l).is_err(), "topic not UTF-8");
}

#[test]
fn reassembler_rejects_malformed_streams() {
    let mut re = Reassembler::default();
    let l = limits();
    assert!(re.push(&[1, 2, 3], &l).is_err(), "short datagram");
    assert!(
        re.push(&[99, 3, 0, 0, 0, 0, 0, 0], &l).is_err(),
        "unknown kind"
    );
    assert!(
        re.push(&[REC_LOG, 7, 0, 0, 0, 0, 0, 0], &l).is_err(),
        "unknown flags"
    );
    assert!(
        re.push(&[REC_LOG, 0, 0, 0, 0, 0, 0, 0], &l).is_err(),
        "continuation first"
    );
    // Announced size above the kind's limit: refused before allocating.
    let mut p = vec![REC_HELLO, FLAG_FIRST, 0, 0];
    p.extend_from_slice(&u32::MAX.to_le_bytes());
    assert!(re.push(&p, &l).is_err());
    // A record that claims 10 bytes but ends after 4.
    let mut p = vec![REC_LOG, FLAG_FIRST | FLAG_LAST, 0, 0];
    p.extend_from_slice(&10u32.to_le_bytes());
    p.extend_from_slice(&[0, 0, 0, 0]);
    assert!(re.push(&p, &l).is_err());
    // Interleaved records.
    let mut first = vec![REC_LOG, FLAG_FIRST, 0, 0];
    first.extend_from_slice(&8u32.to_le_bytes());
    first.extend_from_slice(&[0, 0]);
    assert!(re.push(&first, &l).unwrap().is_none());
    assert!(re.push(&first, &l).is_err());
    // Fragments longer than announced.
    let mut re = Reassembler::default();
    assert!(re.push(&first, &l).unwrap().is_none());
    let mut cont = vec![REC_LOG, FLAG_LAST, 0, 0, 0, 0, 0, 0];
    cont.extend_from_slice(&[0u8; 20]);
    assert!(re.push(&cont, &l).is_err());
}

#[test]
fn hello_validation() {
    let h = Hello {
        name: "m".into(),
        version: "1".into(),
        abi_version: 1,
        thread_model: ThreadModel::Serialized,
        stateful: false,
        methods: vec![
            MethodInfo {
                name: "a".into(),
                flags: 0,
            },
            MethodInfo {
                name: "b".into(),
                flags: abi::METHOD_NONBLOCKING,
            },
        ],
        interface: None,
    };
    assert_eq!(Hello::decode(&h.encode()).unwrap(), h);
    // With an interface, and with a hostile interface length or tag.
    let mut with = h.clone();
    with.interface = Some(("package t:t; interface t { a: func(); }".into(), [7; 32]));
    assert_eq!(Hello::decode(&with.encode()).unwrap(), with);
    let mut b = h.encode();
    let tag = b.len() - 1;
    b[tag] = 2;
    assert!(Hello::decode(&b).is_err(), "interface tag");
    b[tag] = 1;
    b.extend_from_slice(&u32::MAX.to_le_bytes());
    assert!(Hello::decode(&b).is_err(), "interface length");
    let mut cut = with.encode();
    cut.pop();
    assert!(Hello::decode(&cut).is_err(), "truncated hash");
    let mut dup = h.clone();
    dup.methods[1].name = "a".into();
    assert!(Hello::decode(&dup.encode()).is_err(), "duplicate names");
    let mut bad = h.clone();
    bad.methods[0].flags = 0x80;
    assert!(Hello::decode(&bad.encode()).is_err(), "unknown flags");
    let mut none = h.clone();
    none.methods.clear();
    assert!(Hello::decode(&none.encode()).is_err(), "no methods");
    let mut empty = h.clone();
    empty.name.clear();
    assert!(Hello::decode(&empty.encode()).is_err(), "empty name");
    let mut stateful = h.clone();
    stateful.stateful = true;
    assert_eq!(Hello::decode(&stateful.encode()).unwrap(), stateful);
    let mut flags = h.encode();
    let at = flags.len() - 5; // module flags, then the interface tag
    flags[at] = 0x82;
    assert!(Hello::decode(&flags).is_err(), "unknown module flags");
    let mut trailing = h.encode();
    trailing.push(0);
    assert!(Hello::decode(&trailing).is_err());
    // A count that promises more methods than the record holds.
    let mut w = Writer::default();
    w.u32(1).u32(0).str16("m", 128).str16("1", 128).u32(1000);
    assert!(Hello::decode(&w.buf).is_err());
}

#[test]
fn init_errors_keep_their_kind() {
    let e = Error::AbiMismatch {
        path: "/x.so".into(),
        reason: "wrong magic".into(),
    };
    assert_eq!(decode_init_error(&encode_init_error(&e)).unwrap(), e);
    let e = Error::Module {
        code: 42,
        message: "nope".into(),
    };
    assert_eq!(decode_init_error(&encode_init_error(&e)).unwrap(), e);
    // A worker may not claim, e.g., that start-up was "cancelled".
    let e = Error::Cancelled;
    assert!(decode_init_error(&encode_init_error(&e)).is_err());
}

fn resp(r: RawResponse) -> [u8; RESP_LEN] {
    r.encode()
}

#[test]
fn responses_are_checked_against_expectations() {
    let e = Expect {
        seq: 5,
        out_gen: 2,
        out_cap: 1 << 20,
        max_output: 1 << 22,
    };
    let ok = RawResponse {
        op: OP_RESULT,
        seq: 5,
        output_len: 10,
        ..Default::default()
    };
    assert_eq!(
        decode_response(&resp(ok), &e).unwrap(),
        Response::Ok(OutputAt::Inline(10))
    );
    assert!(
        decode_response(&resp(RawResponse { seq: 4, ..ok }), &e).is_err(),
        "stale seq"
    );
    assert!(
        decode_response(
            &resp(RawResponse {
                output_len: ctl::INLINE_CAP as u64 + 1,
                ..ok
            }),
            &e
        )
        .is_err(),
        "inline overflow"
    );
    let region = RawResponse {
        output_loc: LOC_REGION,
        out_gen: 2,
        output_len: 1 << 20,
        ..ok
    };
    assert_eq!(
        decode_response(&resp(region), &e).unwrap(),
        Response::Ok(OutputAt::Region(1 << 20))
    );
    assert!(
        decode_response(
            &resp(RawResponse {
                out_gen: 1,
                ..region
            }),
            &e
        )
        .is_err(),
        "old region"
    );
    assert!(
        decode_response(
            &resp(RawResponse {
                output_len: (1 << 20) + 1,
                ..region
            }),
            &e
        )
        .is_err(),
        "past the region"
    );
    assert!(decode_response(
        &resp(RawResponse {
            output_len: u64::MAX,
            ..region
        }),
        &e
    )
    .is_err());
    assert!(decode_response(&resp(RawResponse { status: 77, ..ok }), &e).is_err());
    assert!(decode_response(&resp(RawResponse { op: 9, ..ok }), &e).is_err());
    let failed = RawResponse {
        status: ST_MODULE_ERROR,
        code: 42,
        msg_len: 5,
        ..ok
    };
    assert!(matches!(
        decode_response(&resp(failed), &e).unwrap(),
        Response::Failed { code: 42, .. }
    ));
    assert!(decode_response(&resp(RawResponse { code: 0, ..failed }), &e).is_err());
    assert!(decode_response(
        &resp(RawResponse {
            msg_len: 1 << 20,
            ..failed
        }),
        &e
    )
    .is_err());
    let grow = RawResponse {
        op: OP_GROW,
        seq: 5,
        grow_need: 2 << 20,
        ..Default::default()
    };
    assert_eq!(
        decode_response(&resp(grow), &e).unwrap(),
        Response::Grow { need: 2 << 20 }
    );
    assert!(
        decode_response(
            &resp(RawResponse {
                grow_need: 100,
                ..grow
            }),
            &e
        )
        .is_err(),
        "fits already"
    );
    assert!(
        decode_response(
            &resp(RawResponse {
                grow_need: 1 << 23,
                ..grow
            }),
            &e
        )
        .is_err(),
        "over max"
    );
}

#[test]
fn last_words_roundtrip() {
    let w = LastWords {
        signal: 11,
        code: 1,
        errno: 12,
        vm_peak_kib: 1000,
        vm_size_kib: 900,
        fault_addr: 0xdead,
    };
    let p = w.encode();
    let mut re = Reassembler::default();
    let (k, payload) = re.push(&p, &limits()).unwrap().unwrap();
    assert_eq!(k, REC_LAST_WORDS);
    assert_eq!(LastWords::decode(&payload).unwrap(), w);
}

#[test]
fn host_to_worker_messages_roundtrip() {
    let i = Init {
        host_pid: 7,
        sandbox: true,
        validate_only: true,
        memory_limit: 1 << 30,
        cpu_limit_secs: 60,
        open_files: 64,
        max_event: 1 << 20,
        config_len: 3,
        path: "/a/b.so".into(),
    };
    assert_eq!(Init::decode(&i.encode()).unwrap(), i);
    let m = MapMsg {
        kind: RegionKind::Output,
        gen: 9,
        size: 1 << 21,
        offset: 0,
    };
    assert_eq!(MapMsg::decode(&m.encode()).unwrap(), m);
    let m = MapMsg {
        kind: RegionKind::Caller,
        gen: 10,
        size: 3 << 20,
        offset: 1 << 40,
    };
    assert_eq!(MapMsg::decode(&m.encode()).unwrap(), m);
    let rq = Request {
        op: OP_CALL,
        seq: 4,
        method: 2,
        input_loc: LOC_CALLER,
        input_len: 70_000,
        caller_gen: 10,
        input_off: (1 << 33) + 5,
        ..Default::default()
    };
    assert_eq!(Request::decode(&rq.encode()).unwrap(), rq);
    let rq = Request {
        op: OP_CALL,
        seq: 3,
        method: 1,
        input_loc: LOC_REGION,
        input_len: 99,
        in_gen: 2,
        out_gen: 1,
        out_cap: 4096,
        max_output: 1 << 30,
        ..Default::default()
    };
    assert_eq!(Request::decode(&rq.encode()).unwrap(), rq);
}

#[test]
fn fuzz_entry_survives_garbage() {
    let mut seed = 0x1234_5678_u64;
    for len in 0..512 {
        let data: Vec<u8> = (0..len)
            .map(|_| {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                seed as u8
            })
            .collect();
        fuzz_host_decoder(&data);
    }
}
