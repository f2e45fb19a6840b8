/*
 * bridgehost module ABI, version 1.
 *
 * This is the only file a module author needs. A module is a shared library
 * that exports one symbol, BH_MODULE_ENTRY_SYMBOL ("bridgehost_module_v1"),
 * returning a pointer to a static, immutable bh_module_desc.
 *
 * The host treats every field of the descriptor as hostile input and
 * validates it before use (magic, version, struct size, thread model, method
 * table, names, function pointers). The module author's guide (contract, threads,
 * errors and errno, logging, events, state, versioning, testing, shipping) is
 * docs/MODULES.md: share/doc/bridgehost/docs/MODULES.md in the C/CLI archive.
 *
 * Memory rule: the host never frees memory the module allocated and the
 * module never frees memory the host allocated. Output bytes are *copied*
 * into a host-owned buffer through bh_host_api.write; nothing allocated by the
 * module crosses to the host.
 *
 * Threads: every bh_host_api function may be called from any thread, never
 * unwinds, and returns a status instead of crashing on misuse.
 *
 * Lengths and text (one policy for every bh_host_api function): a claimed
 * length above the function's limit is BH_API_TOO_LARGE and not one byte is
 * read (write: the call's remaining output; fail and log: 4096 bytes; an emit
 * topic: 128 bytes; emit data: the module's max event size); a NULL pointer
 * with a non-zero length is BH_API_INVALID; text (a fail or log message, an
 * emit topic) that is not UTF-8 is BH_API_INVALID. A refused fail() still
 * fails the call with its code (the message then says why it was refused).
 */
#ifndef BRIDGEHOST_MODULE_H
#define BRIDGEHOST_MODULE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define BH_MODULE_MAGIC UINT64_C(0x31564d4f44484842) /* "BHHDOMV1" little-endian */
#define BH_MODULE_ABI_VERSION 1u
#define BH_MODULE_ENTRY_SYMBOL "bridgehost_module_v1"

/* Limits the host enforces while validating a descriptor. */
#define BH_MODULE_MAX_METHODS 1024u
#define BH_MODULE_MAX_NAME_LEN 128u

/* Thread model of a module instance. */
#define BH_THREAD_SAFE 0u       /* call() may run concurrently on any threads   */
#define BH_THREAD_SERIALIZED 1u /* never two concurrent calls on one instance   */
#define BH_THREAD_SINGLE 2u     /* every call on the one thread that ran init() */

/* Method flags. Unknown bits are rejected by a v1 host. */
#define BH_METHOD_NONBLOCKING 0x1u /* returns quickly, never blocks, never calls back:
                                      front ends may skip releasing the GIL etc. */

/* Module flags (bh_module_desc.module_flags). Unknown bits are rejected.
 * BH_MODULE_STATEFUL: the instance keeps state across calls (a cache, a
 * database handle, counters). Under process isolation the host then runs one
 * worker (workers > 1 is refused), keeps no pre-initialised spare, and after
 * any worker restart (crash, timeout, cancel, recycle) fails the next call
 * once with StateLost instead of silently running it on a fresh instance. */
#define BH_MODULE_STATEFUL 0x1u

/* Size of the first v1 descriptor (up to and including destroy). A module
 * built against that header declares it as struct_size; a host reads the
 * fields appended since (module_flags, reserved) as zero. */
#define BH_MODULE_DESC_V1_SIZE 72u

/* Status codes returned by bh_host_api functions. */
#define BH_API_OK 0
#define BH_API_INVALID (-1)   /* null pointer with non-zero length, bad utf-8, ... */
#define BH_API_TOO_LARGE (-2) /* output would exceed the module's max output size   */
#define BH_API_STALE (-3)     /* call context or instance token no longer valid     */
#define BH_API_OVERLOADED (-4) /* event queue full: the event was dropped           */

/* Opaque per-call context. Valid only on the duration of the call() it was
 * passed to (until call() returns), from any thread. It is a token, not an
 * address: once call() (or init()) returned, write() and fail() through it
 * return BH_API_STALE, from any thread, and never touch a later call. */
typedef struct bh_call_ctx bh_call_ctx;

typedef struct bh_host_api {
    uint32_t struct_size; /* sizeof(bh_host_api) as the host knows it */
    uint32_t abi_version; /* BH_MODULE_ABI_VERSION */
    /* Token that identifies this module instance to emit()/log(). Not a
     * pointer: after destroy() it is rejected with BH_API_STALE. */
    uint64_t instance_token;
    /* Append len bytes to the call's output. Copies; data is not retained. */
    int32_t (*write)(bh_call_ctx *call, const uint8_t *data, size_t len);
    /* Record a module error (code != 0, UTF-8 message, copied). call() must
     * then return a non-zero value. */
    int32_t (*fail)(bh_call_ctx *call, int32_t code, const char *msg, size_t msg_len);
    /* Emit an event from any thread, at any time between init() and the end of
     * destroy(). Never blocks: a full queue drops the event (BH_API_OVERLOADED). */
    int32_t (*emit)(uint64_t instance_token, const char *topic, size_t topic_len,
                    const uint8_t *data, size_t len);
    /* Log a UTF-8 message. level: 0 error, 1 warn, 2 info, 3 debug, 4 trace. */
    int32_t (*log)(uint64_t instance_token, int32_t level, const char *msg, size_t msg_len);
} bh_host_api;

typedef struct bh_method_desc {
    const char *name; /* NUL-terminated UTF-8, 1..BH_MODULE_MAX_NAME_LEN bytes, unique */
    uint32_t flags;   /* BH_METHOD_* */
    uint32_t reserved; /* must be 0 */
} bh_method_desc;

typedef struct bh_module_desc {
    uint64_t magic;        /* BH_MODULE_MAGIC */
    uint32_t abi_version;  /* BH_MODULE_ABI_VERSION */
    uint32_t struct_size;  /* sizeof(bh_module_desc) as the module was compiled */
    uint32_t thread_model; /* BH_THREAD_* */
    uint32_t method_count; /* 1..BH_MODULE_MAX_METHODS */
    const char *name;      /* NUL-terminated UTF-8 */
    const char *version;   /* NUL-terminated UTF-8 */
    const bh_method_desc *methods;
    /* Create an instance. `api` stays valid until destroy() returns. On
     * failure, return non-zero and call api->fail(err, ...) with a message;
     * `err` is valid only during init(). */
    int32_t (*init)(const bh_host_api *api, const uint8_t *config, size_t config_len,
                    void **instance_out, bh_call_ctx *err);
    /* Run method `method_index` (0-based index into methods). Return 0 on
     * success; non-zero means failure (the code, or the one given to fail()). */
    int32_t (*call)(void *instance, uint32_t method_index, const uint8_t *input,
                    size_t input_len, bh_call_ctx *call);
    /* Destroy an instance. Must stop and join every thread the instance
     * started before returning: the host may unload the library right after. */
    void (*destroy)(void *instance);
    /* Appended to v1 (a module with struct_size BH_MODULE_DESC_V1_SIZE has
     * none): BH_MODULE_* flags, e.g. BH_MODULE_STATEFUL. 0 = none. */
    uint32_t module_flags;
    uint32_t reserved; /* must be 0 */
} bh_module_desc;

/* The one symbol a module exports. */
typedef const bh_module_desc *(*bh_module_entry_fn)(void);

/*
 * Optional: the module's typed interface (docs/TYPED.md). Additive to ABI v1:
 * a module that also exports BH_MODULE_INTERFACE_SYMBOL declares its methods'
 * parameter and result types in WIT; a module without it stays bytes-only.
 *
 * The host calls the symbol once when it opens the module, after the
 * descriptor validated, and copies the text; it validates it as hostile input
 * (format, struct size, length, UTF-8, WIT subset and limits, that every
 * function names a method of the descriptor, and the hash) and refuses the
 * module with an ABI mismatch naming the reason when anything is wrong.
 *
 * text is the WIT source (UTF-8, text_len bytes, no NUL needed): one package
 * with one interface, plus optionally an interface named "events". hash is the
 * SHA-256 of the interface's canonical form, not of the text: print it with
 * `bridgehost wit FILE.wit`. Function names are method names; resource
 * functions use wit-parser's names ("[constructor]r", "[method]r.f",
 * "[static]r.f"), and each resource r needs a method "[resource-drop]r"
 * (input: the u64 handle) that releases it.
 */
#define BH_MODULE_INTERFACE_SYMBOL "bridgehost_module_interface"
#define BH_INTERFACE_FORMAT_WIT 1u
#define BH_INTERFACE_MAX_TEXT 262144u /* bytes */

/* Size of the first bh_module_interface (up to and including hash). */
#define BH_MODULE_INTERFACE_V1_SIZE 56u

/*
 * Optional direct entries (docs/TYPED.md, "Direct calls"): for a plain
 * function whose parameters (at most BH_DIRECT_MAX_PARAMS) and result (none
 * or one) are all scalars -- bool, s8..s64, u8..u64, f32, f64, char -- a
 * module may also export a C function taking one 64-bit slot per argument.
 * The host calls it in-process instead of call() (no encoding, no output
 * writer) and calls call() with the wire format everywhere else, so both must
 * behave the same. Slots: bool 0/1; unsigned values zero-extended; signed
 * values sign-extended; f32 bits in the low 32 bits (high bits zero); f64
 * bits; char the Unicode scalar value. The host passes only valid slots and
 * checks the result slot (an invalid one is an ABI mismatch).
 *
 * Return 0 with *result written (ignored for a function without a result),
 * or non-zero on failure: the code, or the one given to api->fail(call, ...).
 * `call` serves fail() only, on the calling thread, until the entry returns;
 * write() through it is BH_API_INVALID (a direct entry has no byte output).
 */
#define BH_DIRECT_MAX_PARAMS 8u
typedef int32_t (*bh_direct_fn)(void *instance, const uint64_t *args, uint64_t *result,
                                bh_call_ctx *call);

typedef struct bh_module_interface {
    uint32_t struct_size; /* sizeof(bh_module_interface) as the module was compiled */
    uint32_t format;      /* BH_INTERFACE_FORMAT_WIT */
    const char *text;     /* WIT text, text_len bytes, static */
    size_t text_len;      /* 1..BH_INTERFACE_MAX_TEXT */
    uint8_t hash[32];     /* SHA-256 of the canonical form */
    /* Appended to the first interface struct (a module whose struct_size is
     * BH_MODULE_INTERFACE_V1_SIZE has none): direct entries. NULL, or
     * direct_count entries indexed like the descriptor's methods, NULL where
     * a method has none. See bh_direct_fn. */
    const bh_direct_fn *direct;
    uint32_t direct_count; /* 0 when direct is NULL, else the descriptor's method_count */
    uint32_t reserved;     /* must be 0 */
} bh_module_interface;

/* The optional interface symbol. Returns a pointer to static, immutable data. */
typedef const bh_module_interface *(*bh_module_interface_fn)(void);

#ifdef __cplusplus
}
#endif

#endif /* BRIDGEHOST_MODULE_H */
