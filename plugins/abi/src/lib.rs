//! The bridgehost module ABI, version 1, as Rust types.
//!
//! Mirrors `plugins/include/bridgehost_module.h` field for field; the test
//! `tests/abi_layout` (C vs Rust `offsetof`/`sizeof`) keeps the two in step.
//! This crate only declares data layouts: it contains no `unsafe`.
#![forbid(unsafe_code)]
#![no_std]

use core::ffi::{c_char, c_void};

/// `BH_MODULE_MAGIC`: the bytes "BHHDOMV1" read as a little-endian u64.
pub const MAGIC: u64 = 0x3156_4d4f_4448_4842;
/// `BH_MODULE_ABI_VERSION`.
pub const ABI_VERSION: u32 = 1;
/// The one symbol a module exports (NUL-terminated for `dlsym`).
pub const ENTRY_SYMBOL: &[u8] = b"bridgehost_module_v1\0";
/// Largest method table a host accepts.
pub const MAX_METHODS: u32 = 1024;
/// Longest method or module name (bytes, without the NUL).
pub const MAX_NAME_LEN: usize = 128;

/// `BH_THREAD_SAFE`: `call` may run concurrently on any threads.
pub const THREAD_SAFE: u32 = 0;
/// `BH_THREAD_SERIALIZED`: never two concurrent calls on one instance.
pub const THREAD_SERIALIZED: u32 = 1;
/// `BH_THREAD_SINGLE`: every call on the thread that ran `init`.
pub const THREAD_SINGLE: u32 = 2;

/// `BH_METHOD_NONBLOCKING`: returns quickly and never blocks.
pub const METHOD_NONBLOCKING: u32 = 0x1;
/// Every flag bit a v1 host understands.
pub const METHOD_KNOWN_FLAGS: u32 = METHOD_NONBLOCKING;

/// `BH_MODULE_STATEFUL` (in [`ModuleDesc::module_flags`]): the module keeps
/// state across calls in its instance. Under process isolation the host then
/// runs one worker, keeps no pre-initialised spare, and reports a worker
/// restart to the next call as `StateLost` (docs/ISOLATION.md).
pub const MODULE_STATEFUL: u32 = 0x1;
/// Every module flag bit this host understands.
pub const MODULE_KNOWN_FLAGS: u32 = MODULE_STATEFUL;
/// `BH_MODULE_DESC_V1_SIZE`: the size of the first v1 descriptor, which
/// ends at `destroy` (no `module_flags`). A host accepts any `struct_size`
/// from this size up; fields beyond a module's `struct_size` read as zero.
pub const DESC_V1_SIZE: usize = 72;

/// Status codes returned by the host API.
pub const API_OK: i32 = 0;
/// Null pointer with non-zero length, invalid UTF-8, ...
pub const API_INVALID: i32 = -1;
/// The output would exceed the module's maximum output size.
pub const API_TOO_LARGE: i32 = -2;
/// The call context or instance token is no longer valid.
pub const API_STALE: i32 = -3;
/// The event queue is full; the event was dropped.
pub const API_OVERLOADED: i32 = -4;

/// Opaque per-call context (`bh_call_ctx`). Only ever handled by pointer.
#[derive(Debug)]
#[repr(C)]
pub struct BhCall {
    _private: [u8; 0],
}

/// `bh_host_api.write`.
pub type WriteFn = unsafe extern "C" fn(call: *mut BhCall, data: *const u8, len: usize) -> i32;
/// `bh_host_api.fail`.
pub type FailFn =
    unsafe extern "C" fn(call: *mut BhCall, code: i32, msg: *const c_char, msg_len: usize) -> i32;
/// `bh_host_api.emit`.
pub type EmitFn = unsafe extern "C" fn(
    token: u64,
    topic: *const c_char,
    topic_len: usize,
    data: *const u8,
    len: usize,
) -> i32;
/// `bh_host_api.log`.
pub type LogFn =
    unsafe extern "C" fn(token: u64, level: i32, msg: *const c_char, msg_len: usize) -> i32;

/// `bh_host_api`: the functions the host hands to a module instance.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct HostApi {
    /// `sizeof(bh_host_api)` as the host knows it.
    pub struct_size: u32,
    /// [`ABI_VERSION`].
    pub abi_version: u32,
    /// Identifies the instance to `emit`/`log`; rejected after destroy.
    pub instance_token: u64,
    /// Append output bytes (copied).
    pub write: WriteFn,
    /// Record a module error.
    pub fail: FailFn,
    /// Emit an event from any thread.
    pub emit: EmitFn,
    /// Log a message.
    pub log: LogFn,
}

/// `bh_method_desc`.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct MethodDesc {
    /// NUL-terminated UTF-8 name.
    pub name: *const c_char,
    /// `METHOD_*` flags.
    pub flags: u32,
    /// Must be zero.
    pub reserved: u32,
}

/// `init` entry point.
pub type InitFn = unsafe extern "C" fn(
    api: *const HostApi,
    config: *const u8,
    config_len: usize,
    instance_out: *mut *mut c_void,
    err: *mut BhCall,
) -> i32;
/// `call` entry point.
pub type CallFn = unsafe extern "C" fn(
    instance: *mut c_void,
    method_index: u32,
    input: *const u8,
    input_len: usize,
    call: *mut BhCall,
) -> i32;
/// `destroy` entry point.
pub type DestroyFn = unsafe extern "C" fn(instance: *mut c_void);

/// `bh_module_desc`. Function pointers are `Option` so that a null pointer is
/// representable and validated instead of being undefined behaviour.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct ModuleDesc {
    /// [`MAGIC`].
    pub magic: u64,
    /// [`ABI_VERSION`].
    pub abi_version: u32,
    /// `sizeof(bh_module_desc)` as compiled into the module.
    pub struct_size: u32,
    /// `THREAD_*`.
    pub thread_model: u32,
    /// Number of entries in `methods`.
    pub method_count: u32,
    /// Module name, NUL-terminated UTF-8.
    pub name: *const c_char,
    /// Module version, NUL-terminated UTF-8.
    pub version: *const c_char,
    /// Method table.
    pub methods: *const MethodDesc,
    /// Create an instance.
    pub init: Option<InitFn>,
    /// Run a method.
    pub call: Option<CallFn>,
    /// Destroy an instance (joins the instance's threads).
    pub destroy: Option<DestroyFn>,
    /// `MODULE_*` flags (appended to v1: a descriptor whose `struct_size`
    /// is [`DESC_V1_SIZE`] has none).
    pub module_flags: u32,
    /// Must be zero.
    pub reserved: u32,
}

/// The entry symbol's type.
pub type EntryFn = unsafe extern "C" fn() -> *const ModuleDesc;

/// Byte offset of the fields the host reads before it trusts `struct_size`.
pub const DESC_HEADER_SIZE: usize = 16;

/// `BH_MODULE_INTERFACE_SYMBOL`: the optional typed-interface symbol
/// (NUL-terminated for `dlsym`). A module without it stays bytes-only.
pub const INTERFACE_SYMBOL: &[u8] = b"bridgehost_module_interface\0";
/// `BH_INTERFACE_FORMAT_WIT`: the interface text is WIT.
pub const INTERFACE_FORMAT_WIT: u32 = 1;
/// `BH_INTERFACE_MAX_TEXT`: longest interface text a host accepts, in bytes.
pub const INTERFACE_MAX_TEXT: usize = 262_144;

/// `bh_module_interface`: the module's typed interface (docs/TYPED.md).
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct InterfaceDesc {
    /// `sizeof(bh_module_interface)` as compiled into the module.
    pub struct_size: u32,
    /// [`INTERFACE_FORMAT_WIT`].
    pub format: u32,
    /// WIT text, `text_len` bytes of UTF-8 (no NUL needed).
    pub text: *const c_char,
    /// Length of `text` in bytes.
    pub text_len: usize,
    /// SHA-256 of the interface's canonical form.
    pub hash: [u8; 32],
    /// Appended to the first interface struct (absent when `struct_size` is
    /// [`INTERFACE_V1_SIZE`]): the direct entries, null or `direct_count`
    /// entries indexed like the descriptor's methods (`None` where a method
    /// has none). docs/TYPED.md, "Direct calls".
    pub direct: *const Option<DirectFn>,
    /// 0 when `direct` is null, else the descriptor's `method_count`.
    pub direct_count: u32,
    /// Must be 0.
    pub reserved: u32,
}

/// `BH_MODULE_INTERFACE_V1_SIZE`: the first `bh_module_interface`, up to and
/// including `hash`. A module built against it has no direct entries.
pub const INTERFACE_V1_SIZE: usize = 56;

/// `BH_DIRECT_MAX_PARAMS`: most parameters a direct-eligible function has.
pub const DIRECT_MAX_PARAMS: usize = 8;

/// `bh_direct_fn`: a typed function whose parameters and result are scalars,
/// called with one 64-bit slot per argument (docs/TYPED.md, "Direct calls").
/// Returns 0 with `*result` written, or non-zero on failure (the code, or the
/// one given to `fail(call, ...)`); `call` serves `fail` only, on the calling
/// thread, until the entry returns.
pub type DirectFn = unsafe extern "C" fn(
    instance: *mut c_void,
    args: *const u64,
    result: *mut u64,
    call: *mut BhCall,
) -> i32;

/// The interface symbol's type.
pub type InterfaceFn = unsafe extern "C" fn() -> *const InterfaceDesc;
