//! Stale, forged, double-freed and cross-type handles are clean errors for
//! every export that takes a handle, and never touch another object: a retired
//! handle of the export's own type (freed, closed or completed; or a forgery
//! with that shape) is `BH_E_CLOSED`, as a closed object is in every runtime;
//! anything else (NULL, garbage, another type's handle) `BH_E_INVALID_ARGUMENT`.

mod common;

use bridgehost_c::*;
use common::*;
use std::ptr::{null, null_mut};

unsafe extern "C" fn never_called(
    _: *mut std::ffi::c_void,
    _: bh_status,
    _: *const u8,
    _: usize,
    _: *const std::ffi::c_char,
    _: usize,
    _: i64,
) {
    panic!("completion of a rejected submit ran");
}

unsafe extern "C" fn never_event(
    _: *mut std::ffi::c_void,
    _: *const std::ffi::c_char,
    _: usize,
    _: *const u8,
    _: usize,
) {
    panic!("event delivered to a rejected subscription");
}

/// The tag of each handle type (the top byte of its `id`).
fn tag_of(kind: &str) -> u64 {
    match kind {
        "host" => 0xb1,
        "module" => 0xb2,
        "method" => 0xb3,
        "buffer" => 0xb4,
        "subscription" => 0xb5,
        "task" => 0xb6,
        _ => unreachable!("{kind}"),
    }
}

/// Assert every handle-taking export rejects `h` as stale or invalid: closed
/// for the exports of the type whose shape `h` has (its tag, a non-zero
/// generation), an invalid argument for every other.
#[track_caller]
fn rejected_everywhere(h: u64, what: &str) {
    for (name, kind, op) in typed_uses() {
        let retired = h >> 56 == tag_of(kind) && (h >> 32) & 0xff_ffff != 0;
        let want = if retired {
            BH_E_CLOSED
        } else {
            BH_E_INVALID_ARGUMENT
        };
        assert_eq!(op(h), want, "{what}: {name}({h:#x})");
        let m = last_error();
        assert!(m.contains("stale or invalid"), "{what}: {name}: {m}");
        assert_eq!(
            m.contains("retired (freed, closed or completed)"),
            retired,
            "{what}: {name}: {m}"
        );
    }
}

#[test]
fn forged_handles_are_rejected_by_every_export() {
    let _g = serial();
    let before = bh_debug_live_handles();
    for h in [
        0u64,
        1,
        u64::MAX,
        0xb100_0001_0000_0000, // right tag, plausible generation, never issued: "closed" for hosts
        0xb2ff_ffff_ffff_ffff,
        0xdead_beef_dead_beef,
        0x8000_0000_0000_0000,
    ] {
        rejected_everywhere(h, "forged");
    }
    assert_eq!(bh_debug_live_handles(), before);
}

#[test]
fn stale_double_freed_and_cross_type_handles_are_rejected() {
    let _g = serial();
    let before = bh_debug_live_handles();
    let h = host();
    let m = open(h, "std");
    let f = method(m, "echo");
    let mut b = Default::default();
    // SAFETY: input and out are live locals.
    expect(unsafe { bh_call(f, b"hi".as_ptr(), 2, &mut b) }, BH_OK);
    assert_eq!(bh_debug_live_handles(), before + 4);

    // Cross-type: each live handle is rejected by every export of another type
    // (frees included), with a message naming what it really is.
    for (handle, kind) in [
        (h.id, "host"),
        (m.id, "module"),
        (f.id, "method"),
        (b.id, "buffer"),
    ] {
        for (name, op_kind, op) in typed_uses() {
            if op_kind == kind {
                continue;
            }
            let s = op(handle);
            assert_eq!(
                s, BH_E_INVALID_ARGUMENT,
                "cross-type: {name}({kind} {handle:#x})"
            );
            let msg = last_error();
            assert!(
                msg.contains(&format!("(it is a bh_{kind} handle)")),
                "cross-type message names the real type: {msg}"
            );
        }
    }
    // A neighbour of a live handle (same tag, other generation or index) is not that object:
    // it has a buffer's shape, so it reads as a retired buffer.
    // (Generation 0 is never issued: that one is an invalid argument.)
    for forged in [b.id ^ (1 << 32), b.id ^ 1, b.id + (1 << 32)] {
        let want = if (forged >> 32) & 0xff_ffff != 0 {
            BH_E_CLOSED
        } else {
            BH_E_INVALID_ARGUMENT
        };
        expect_err(
            bh_buffer_free(bh_buffer { id: forged }),
            want,
            "stale or invalid bh_buffer",
        );
    }
    // ...and the live buffer is untouched.
    let (mut d, mut n) = (null(), 0usize);
    // SAFETY: out-pointers are live locals.
    expect(unsafe { bh_buffer_data(b, &mut d, &mut n) }, BH_OK);
    assert_eq!(n, 2);

    // Double free of each type; the first free succeeds, every later use is stale.
    expect(bh_buffer_free(b), BH_OK);
    expect_err(
        bh_buffer_free(b),
        BH_E_CLOSED,
        "stale or invalid bh_buffer handle",
    );
    rejected_everywhere(b.id, "stale buffer");

    // Freeing the module closes it; the method handle stays valid but its calls are closed.
    expect(bh_module_free(m), BH_OK);
    rejected_everywhere(m.id, "stale module");
    let mut b2 = Default::default();
    // SAFETY: out is a live local.
    expect_err(
        unsafe { bh_call(f, null(), 0, &mut b2) },
        BH_E_CLOSED,
        "closed",
    );
    expect(bh_method_free(f), BH_OK);
    rejected_everywhere(f.id, "stale method");

    // A recycled slot gets a new generation: the old handle never resolves as the new object.
    let m2 = open(h, "std");
    assert_ne!(m2, m);
    rejected_everywhere(m.id, "stale module after slot reuse");
    expect(bh_module_free(m2), BH_OK);

    expect(bh_host_close(h), BH_OK);
    expect(bh_host_close(h), BH_OK); // idempotent; handle still valid
    expect(bh_host_free(h), BH_OK);
    rejected_everywhere(h.id, "stale host");
    assert_eq!(bh_debug_live_handles(), before);
}

type Use = (&'static str, &'static str, fn(u64) -> bh_status);

/// One use per export and the handle type it takes.
fn typed_uses() -> Vec<Use> {
    fn counters() -> bh_counters {
        bh_counters {
            struct_size: std::mem::size_of::<bh_counters>() as u32,
            ..bh_counters::default()
        }
    }
    vec![
        ("bh_host_close", "host", |h| {
            bh_host_close(bh_host { id: h })
        }),
        ("bh_host_free", "host", |h| bh_host_free(bh_host { id: h })),
        // SAFETY: out-pointers are live temporaries; inputs are NULL with length 0 or literals.
        ("bh_host_counters", "host", |h| unsafe {
            bh_host_counters(bh_host { id: h }, &mut counters())
        }),
        // SAFETY: out-pointers are live temporaries; inputs are NULL with length 0 or literals.
        ("bh_module_open", "host", |h| unsafe {
            bh_module_open(
                bh_host { id: h },
                "std".as_ptr().cast(),
                3,
                null(),
                &mut Default::default(),
            )
        }),
        ("bh_module_close", "module", |h| {
            bh_module_close(bh_module { id: h })
        }),
        ("bh_module_free", "module", |h| {
            bh_module_free(bh_module { id: h })
        }),
        // SAFETY: out-pointers are live temporaries; inputs are NULL with length 0 or literals.
        ("bh_module_counters", "module", |h| unsafe {
            bh_module_counters(bh_module { id: h }, &mut counters())
        }),
        // SAFETY: out-pointers are live temporaries; inputs are NULL with length 0 or literals.
        ("bh_module_name", "module", |h| unsafe {
            bh_module_name(bh_module { id: h }, null_mut(), 0, &mut Default::default())
        }),
        // SAFETY: out-pointers are live temporaries; inputs are NULL with length 0 or literals.
        ("bh_module_version", "module", |h| unsafe {
            bh_module_version(bh_module { id: h }, null_mut(), 0, &mut Default::default())
        }),
        // SAFETY: out-pointers are live temporaries; inputs are NULL with length 0 or literals.
        ("bh_module_path", "module", |h| unsafe {
            bh_module_path(bh_module { id: h }, null_mut(), 0, &mut Default::default())
        }),
        // SAFETY: out-pointers are live temporaries; inputs are NULL with length 0 or literals.
        ("bh_module_thread_model", "module", |h| unsafe {
            bh_module_thread_model(bh_module { id: h }, &mut Default::default())
        }),
        // SAFETY: out-pointers are live temporaries; inputs are NULL with length 0 or literals.
        ("bh_module_method_count", "module", |h| unsafe {
            bh_module_method_count(bh_module { id: h }, &mut Default::default())
        }),
        // SAFETY: out-pointers are live temporaries; inputs are NULL with length 0 or literals.
        ("bh_module_method_name", "module", |h| unsafe {
            bh_module_method_name(
                bh_module { id: h },
                0,
                null_mut(),
                0,
                &mut Default::default(),
                &mut Default::default(),
            )
        }),
        // SAFETY: out-pointers are live temporaries; inputs are NULL with length 0 or literals.
        ("bh_method_resolve", "module", |h| unsafe {
            bh_method_resolve(
                bh_module { id: h },
                "echo".as_ptr().cast(),
                4,
                &mut Default::default(),
            )
        }),
        // SAFETY: out-pointers are live temporaries; inputs are NULL with length 0 or literals.
        ("bh_subscribe", "module", |h| unsafe {
            bh_subscribe(
                bh_module { id: h },
                "*".as_ptr().cast(),
                1,
                Some(never_event),
                null_mut(),
                &mut Default::default(),
            )
        }),
        ("bh_method_free", "method", |h| {
            bh_method_free(bh_method { id: h })
        }),
        // SAFETY: out-pointers are live temporaries; inputs are NULL with length 0 or literals.
        ("bh_method_flags", "method", |h| unsafe {
            bh_method_flags(bh_method { id: h }, &mut Default::default())
        }),
        // SAFETY: out-pointers are live temporaries; inputs are NULL with length 0 or literals.
        ("bh_call", "method", |h| unsafe {
            bh_call(bh_method { id: h }, null(), 0, &mut Default::default())
        }),
        // SAFETY: out-pointers are live temporaries; inputs are NULL with length 0 or literals.
        ("bh_call_into", "method", |h| unsafe {
            bh_call_into(
                bh_method { id: h },
                null(),
                0,
                null_mut(),
                0,
                &mut Default::default(),
            )
        }),
        // SAFETY: out-pointers are live temporaries; inputs are NULL with length 0 or literals.
        ("bh_call_typed", "method", |h| unsafe {
            bh_call_typed(
                bh_method { id: h },
                null(),
                0,
                0,
                null_mut(),
                0,
                &mut Default::default(),
                &mut Default::default(),
                &mut Default::default(),
            )
        }),
        // SAFETY: out-pointers are live temporaries; inputs are NULL with length 0 or literals.
        ("bh_call_spill", "method", |h| unsafe {
            bh_call_spill(
                bh_method { id: h },
                null(),
                0,
                null_mut(),
                0,
                &mut Default::default(),
                &mut Default::default(),
            )
        }),
        // SAFETY: out-pointers are live temporaries; inputs are NULL with length 0 or literals.
        ("bh_submit", "method", |h| unsafe {
            bh_submit(
                bh_method { id: h },
                null(),
                0,
                Some(never_called),
                null_mut(),
                &mut Default::default(),
            )
        }),
        // SAFETY: out-pointers are live temporaries; inputs are NULL with length 0 or literals.
        ("bh_buffer_data", "buffer", |h| unsafe {
            bh_buffer_data(bh_buffer { id: h }, &mut null(), &mut Default::default())
        }),
        ("bh_buffer_free", "buffer", |h| {
            bh_buffer_free(bh_buffer { id: h })
        }),
        // SAFETY: out-pointers are live temporaries; inputs are NULL with length 0 or literals.
        ("bh_task_cancel", "task", |h| unsafe {
            bh_task_cancel(bh_task { id: h }, &mut Default::default())
        }),
        ("bh_unsubscribe", "subscription", |h| {
            bh_unsubscribe(bh_subscription { id: h })
        }),
    ]
}

#[test]
fn out_pointers_are_untouched_on_failure() {
    let _g = serial();
    let mut out = bh_module {
        id: 0x5a5a_5a5a_5a5a_5a5a,
    };
    // SAFETY: out is a live local; spec is a live literal.
    let s = unsafe {
        bh_module_open(
            bh_host { id: 0 },
            "std".as_ptr().cast(),
            3,
            null(),
            &mut out,
        )
    };
    assert_eq!(s, BH_E_INVALID_ARGUMENT);
    assert_eq!(out.id, 0x5a5a_5a5a_5a5a_5a5a, "written only on success");
    let mut n = 77usize;
    let mut flags = 99u32;
    // SAFETY: out-pointers are live locals.
    let s =
        unsafe { bh_module_method_name(bh_module { id: 0 }, 0, null_mut(), 0, &mut n, &mut flags) };
    assert_eq!(s, BH_E_INVALID_ARGUMENT);
    assert_eq!((n, flags), (77, 99));
}
