//! The layouts the header promises (and csharp/src/BridgeHost/Native.cs
//! mirrors with LayoutKind.Sequential) on LP64 Linux. tests/c/harness.c
//! asserts the same numbers on the C side with _Static_assert.

use bridgehost_c::*;
use std::mem::{align_of, offset_of, size_of};

#[test]
fn struct_layouts_are_pinned() {
    // thread_name and thread_name_len were appended (40 bytes before), then module_dirs and
    // module_dirs_len (56 before), then explicit_zero and reserved (72 before): an older caller's
    // smaller struct_size leaves them NULL / 0 (the default name, no more directories, every 0
    // field "default").
    assert_eq!(size_of::<bh_host_options>(), 80);
    assert_eq!(align_of::<bh_host_options>(), 8);
    assert_eq!(offset_of!(bh_host_options, struct_size), 0);
    assert_eq!(offset_of!(bh_host_options, submit_threads), 4);
    assert_eq!(offset_of!(bh_host_options, submit_queue_capacity), 8);
    assert_eq!(offset_of!(bh_host_options, event_queue_capacity), 12);
    assert_eq!(offset_of!(bh_host_options, module_dir), 16);
    assert_eq!(offset_of!(bh_host_options, module_dir_len), 24);
    assert_eq!(offset_of!(bh_host_options, event_queue_bytes), 32);
    assert_eq!(offset_of!(bh_host_options, thread_name), 40);
    assert_eq!(offset_of!(bh_host_options, thread_name_len), 48);
    assert_eq!(offset_of!(bh_host_options, module_dirs), 56);
    assert_eq!(offset_of!(bh_host_options, module_dirs_len), 64);
    assert_eq!(offset_of!(bh_host_options, explicit_zero), 72);
    assert_eq!(offset_of!(bh_host_options, reserved), 76);

    // validate_in_worker and explicit_zero (then named reserved2, "must be 0") were appended
    // (88 bytes before), then the supervision fields spare_workers .. sandbox (96 before): an
    // older caller's smaller struct_size leaves them 0 (off; every 0 field "default").
    assert_eq!(size_of::<bh_module_options>(), 152);
    assert_eq!(align_of::<bh_module_options>(), 8);
    let offsets = [
        offset_of!(bh_module_options, struct_size),
        offset_of!(bh_module_options, isolation),
        offset_of!(bh_module_options, workers),
        offset_of!(bh_module_options, reserved),
        offset_of!(bh_module_options, call_timeout_ms),
        offset_of!(bh_module_options, memory_limit),
        offset_of!(bh_module_options, max_input),
        offset_of!(bh_module_options, max_output),
        offset_of!(bh_module_options, config),
        offset_of!(bh_module_options, config_len),
        offset_of!(bh_module_options, worker_path),
        offset_of!(bh_module_options, worker_path_len),
        offset_of!(bh_module_options, max_event),
        offset_of!(bh_module_options, validate_in_worker),
        offset_of!(bh_module_options, explicit_zero),
        offset_of!(bh_module_options, spare_workers),
        offset_of!(bh_module_options, breaker_failures),
        offset_of!(bh_module_options, breaker_window_ms),
        offset_of!(bh_module_options, breaker_cooldown_ms),
        offset_of!(bh_module_options, startup_timeout_ms),
        offset_of!(bh_module_options, close_grace_ms),
        offset_of!(bh_module_options, cpu_limit_ms),
        offset_of!(bh_module_options, open_files),
        offset_of!(bh_module_options, sandbox),
    ];
    assert_eq!(
        offsets,
        [
            0, 4, 8, 12, 16, 24, 32, 40, 48, 56, 64, 72, 80, 88, 92, 96, 100, 104, 112, 120, 128,
            136, 144, 148
        ]
    );

    // 0.1 had 14 counters (120 bytes); state_lost, events_refused, events_discarded,
    // worker_output_dropped, unblamed_violations were appended: older callers pass a smaller struct_size and never
    // see them.
    assert_eq!(size_of::<bh_counters>(), 8 + 19 * 8);
    assert_eq!(offset_of!(bh_counters, struct_size), 0);
    assert_eq!(offset_of!(bh_counters, reserved), 4);
    assert_eq!(offset_of!(bh_counters, calls), 8);
    assert_eq!(offset_of!(bh_counters, latency_ns_max), 8 + 13 * 8);
    assert_eq!(offset_of!(bh_counters, state_lost), 8 + 14 * 8);
    assert_eq!(offset_of!(bh_counters, events_refused), 8 + 15 * 8);
    assert_eq!(offset_of!(bh_counters, events_discarded), 8 + 16 * 8);
    assert_eq!(offset_of!(bh_counters, worker_output_dropped), 8 + 17 * 8);
    assert_eq!(offset_of!(bh_counters, unblamed_violations), 8 + 18 * 8);

    // Statuses are fixed-width integers; handles are one-field structs of one u64 (distinct
    // types to a C compiler, the same as a uint64_t to every calling convention we target).
    assert_eq!(size_of::<bh_status>(), 4);
    for (size, align) in [
        (size_of::<bh_host>(), align_of::<bh_host>()),
        (size_of::<bh_module>(), align_of::<bh_module>()),
        (size_of::<bh_method>(), align_of::<bh_method>()),
        (size_of::<bh_buffer>(), align_of::<bh_buffer>()),
        (size_of::<bh_subscription>(), align_of::<bh_subscription>()),
        (size_of::<bh_task>(), align_of::<bh_task>()),
        (
            size_of::<bh_shared_buffer>(),
            align_of::<bh_shared_buffer>(),
        ),
    ] {
        assert_eq!((size, align), (8, 8));
    }
    assert_eq!(
        size_of::<bh_completion_fn>(),
        size_of::<usize>(),
        "Option<fn> is a nullable pointer"
    );
}
