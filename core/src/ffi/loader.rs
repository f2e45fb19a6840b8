//! Loading a module library and validating its descriptor as hostile input.
//!
//! Everything the module's descriptor says is copied out of module memory
//! through fault-tolerant reads ([`probe`]) and validated as a copy, then
//! kept as owned Rust values ([`ModuleInfo`]); the raw descriptor is not
//! read again, and no lie in it (wild pointers, a short table, a partly
//! mapped descriptor, an entry symbol or function pointer that is data)
//! can crash the host: each is an `AbiMismatch`.
//! The only things kept from it are the three function pointers, which are
//! called through [`Instance`].
//!
//! Unload policy: a library that passes validation is pinned with
//! `RTLD_NODELETE`, so it is never unmapped while a thread it started (which
//! the host cannot see) may still run — including a module that breaks the
//! "destroy joins your threads" rule.

use crate::error::{Error, Result};
use crate::ffi::callbacks::{self, CallCtx};
use crate::ffi::probe::{self, ForeignReader};
use crate::module::Direct;
use crate::output::CallOutput;
use crate::sync::Mutex;
use bridgehost_module_abi as abi;
use libloading::os::unix::Library;
use std::ffi::c_void;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread::ThreadId;

/// How a module instance may be called concurrently.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ThreadModel {
    /// Concurrent calls on any threads.
    ThreadSafe,
    /// At most one call at a time (the host serializes).
    Serialized,
    /// Every call on the thread that ran `init` (the host routes calls there).
    SingleThread,
}

impl ThreadModel {
    /// The stable name used by the CLI and front ends.
    pub fn name(self) -> &'static str {
        match self {
            ThreadModel::ThreadSafe => "thread-safe",
            ThreadModel::Serialized => "serialized",
            ThreadModel::SingleThread => "single-thread",
        }
    }

    pub(crate) fn from_abi(v: u32) -> Option<ThreadModel> {
        match v {
            abi::THREAD_SAFE => Some(ThreadModel::ThreadSafe),
            abi::THREAD_SERIALIZED => Some(ThreadModel::Serialized),
            abi::THREAD_SINGLE => Some(ThreadModel::SingleThread),
            _ => None,
        }
    }

    /// The `BH_THREAD_*` value.
    pub fn to_abi(self) -> u32 {
        match self {
            ThreadModel::ThreadSafe => abi::THREAD_SAFE,
            ThreadModel::Serialized => abi::THREAD_SERIALIZED,
            ThreadModel::SingleThread => abi::THREAD_SINGLE,
        }
    }
}

/// A validated method table entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MethodInfo {
    /// Method name (UTF-8, unique within the module).
    pub name: String,
    /// `BH_METHOD_*` flags (only known bits).
    pub flags: u32,
}

impl MethodInfo {
    /// True when the module promises this method never blocks.
    pub fn is_nonblocking(&self) -> bool {
        self.flags & abi::METHOD_NONBLOCKING != 0
    }
}

/// Everything a validated descriptor says, as owned values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModuleInfo {
    /// The file the module was loaded from.
    pub path: String,
    /// Module name.
    pub name: String,
    /// Module version string.
    pub version: String,
    /// ABI version (always 1 for a v1 host).
    pub abi_version: u32,
    /// Thread model.
    pub thread_model: ThreadModel,
    /// The module declared itself stateful (`BH_MODULE_STATEFUL`): under
    /// process isolation it runs in one worker with no warm spare, and a
    /// worker restart is reported to the next call as
    /// [`crate::ErrorKind::StateLost`].
    pub stateful: bool,
    /// Method table, in index order.
    pub methods: Vec<MethodInfo>,
    /// The typed interface the module embeds (`None`: bytes-only module).
    /// Under process isolation the worker reports it and the host validates
    /// it again.
    pub interface: Option<Arc<crate::interface::Interface>>,
}

/// A loaded, validated module library.
pub(crate) struct ModuleLibrary {
    info: ModuleInfo,
    init: abi::InitFn,
    call: abi::CallFn,
    destroy: abi::DestroyFn,
    /// Direct entries by method index (empty: none), validated against the
    /// interface (docs/TYPED.md, "Direct calls").
    direct: Box<[Option<abi::DirectFn>]>,
    // Kept so the handle lives as long as the function pointers above; the
    // mapping itself is pinned (RTLD_NODELETE) and outlives it anyway.
    _lib: Library,
}

impl ModuleLibrary {
    /// Whether method `index` has a direct entry.
    pub(crate) fn has_direct(&self, index: usize) -> bool {
        self.direct.get(index).is_some_and(Option::is_some)
    }
}

impl std::fmt::Debug for ModuleLibrary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ModuleLibrary")
            .field("info", &self.info)
            .finish()
    }
}

fn abi_err(path: &str, reason: impl Into<String>) -> Error {
    Error::AbiMismatch {
        path: path.to_string(),
        reason: reason.into(),
    }
}

/// A `dlopen` failure of an existing file: a dependency that cannot be found is `NotFound`
/// naming it; anything else (not ELF, another architecture, an undefined symbol) is
/// `AbiMismatch` with the dynamic linker's words.
#[cold]
fn load_err(path: &str, e: libloading::Error) -> Error {
    let text = e.to_string();
    // glibc: "<dep>: cannot open shared object file: No such file or directory", where <dep> is
    // the dependency's soname (the module file itself was checked to exist before dlopen).
    const MISSING: &str = ": cannot open shared object file";
    if let Some(at) = text.find(MISSING) {
        let dep = text[..at].rsplit(": ").next().unwrap_or_default();
        if !dep.is_empty() && !path.ends_with(dep) {
            return Error::NotFound(format!(
                "{path}: cannot be loaded: it needs {dep}, which the dynamic linker cannot find \
                 (install it in a standard library directory such as /usr/lib or \
                 /usr/local/lib; LD_LIBRARY_PATH helps an in-process open only, as an isolated \
                 worker starts with an empty environment): {text}"
            ));
        }
    }
    abi_err(path, format!("not a loadable shared library: {text}"))
}

fn probe_err(e: std::io::Error) -> Error {
    Error::Internal(format!(
        "cannot read module memory through the probe pipe: {e}"
    ))
}

/// Copy a NUL-terminated name of 1..=MAX_NAME_LEN bytes out of module
/// memory through `mem` (never dereferencing `p` here) and validate it.
fn validated_name(
    mem: &ForeignReader,
    path: &str,
    what: &str,
    p: *const std::ffi::c_char,
) -> Result<String> {
    if p.is_null() {
        return Err(abi_err(path, format!("{what} is a null pointer")));
    }
    let mut buf = [0u8; abi::MAX_NAME_LEN + 1];
    let n = mem.read_prefix(p as usize, &mut buf).map_err(probe_err)?;
    let bytes = match buf[..n].iter().position(|&b| b == 0) {
        Some(nul) => &buf[..nul],
        None if n == 0 => {
            return Err(abi_err(
                path,
                format!("{what} points to unreadable memory ({p:p})"),
            ))
        }
        None if n < buf.len() => {
            return Err(abi_err(
                path,
                format!("{what} runs into unreadable memory after {n} bytes without a NUL"),
            ))
        }
        None => {
            return Err(abi_err(
                path,
                format!("{what} is longer than {} bytes", abi::MAX_NAME_LEN),
            ))
        }
    };
    if bytes.is_empty() {
        return Err(abi_err(path, format!("{what} is empty")));
    }
    String::from_utf8(bytes.to_vec())
        .map_err(|_| abi_err(path, format!("{what} is not valid UTF-8")))
}

/// Refuse a function pointer that does not point into executable memory
/// (calling data would crash the host, or run it as code).
pub(super) fn check_code(
    code: &probe::ExecutableMaps,
    path: &str,
    what: &str,
    addr: usize,
) -> Result<()> {
    if code.contains(addr) {
        Ok(())
    } else {
        Err(abi_err(
            path,
            format!("{what} (0x{addr:x}) does not point into executable memory"),
        ))
    }
}

impl ModuleLibrary {
    /// Load `path` and validate its descriptor. Every failure is a typed
    /// error naming the file and the reason.
    pub(crate) fn load(path: &Path) -> Result<Arc<ModuleLibrary>> {
        let shown = path.display().to_string();
        match std::fs::metadata(path) {
            Ok(m) if m.is_file() => {}
            Ok(_) => return Err(Error::NotFound(format!("{shown} is not a regular file"))),
            Err(e) => return Err(Error::NotFound(format!("{shown}: {e}"))),
        }
        // SAFETY: dlopen runs the library's ELF constructors. Loading a module
        // is the point of this function; a module is trusted to have sane
        // constructors (isolation exists for modules that are not). RTLD_LOCAL
        // keeps its symbols out of the global namespace.
        let lib = unsafe { Library::open(Some(path), libc::RTLD_NOW | libc::RTLD_LOCAL) }
            .map_err(|e| load_err(&shown, e))?;
        // SAFETY: the symbol's type is the module ABI's entry type; a library
        // that exports the name with another type breaks the ABI contract,
        // which is what the descriptor checks below are there to catch.
        let entry: abi::EntryFn = unsafe { lib.get::<abi::EntryFn>(abi::ENTRY_SYMBOL) }
            .map(|s| *s)
            .map_err(|_| abi_err(&shown, "missing entry symbol bridgehost_module_v1"))?;
        // A symbol of that name that is data (or anything not code) would
        // crash the host when called. The maps are read once, after dlopen,
        // and every pointer the module hands over is checked against them: a
        // pointer into memory its entry point maps later is refused too.
        let code = probe::ExecutableMaps::read().map_err(|e| {
            Error::Internal(format!(
                "cannot read /proc/self/maps to check {shown}'s code pointers: {e}"
            ))
        })?;
        check_code(
            &code,
            &shown,
            "entry symbol bridgehost_module_v1",
            entry as usize,
        )?;
        // SAFETY: calling the entry point is the documented way to obtain the
        // descriptor; it takes no arguments and lies in executable memory.
        // (What it does is the module's code running in the host: see
        // docs/ISOLATION.md on what in-process loading cannot protect.)
        let desc_ptr = unsafe { entry() };
        let lib_info = Self::validate(&code, &shown, desc_ptr)?;
        let (mut info, init, call, destroy) = lib_info;
        let mut direct = Vec::new();
        if let Some(raw) = crate::ffi::interface::read(&lib, &code, &shown, info.methods.len())? {
            let iface = crate::interface::validate(
                &shown,
                &raw.text,
                raw.hash,
                &info.methods,
                info.stateful,
            )?;
            crate::interface::validate_direct(&shown, &iface, &info.methods, |i| {
                raw.direct.get(i).is_some_and(Option::is_some)
            })?;
            info.interface = Some(iface);
            direct = raw.direct;
        }
        // Pin the library (never unmapped). RTLD_NOLOAD: only re-reference
        // the already loaded object.
        // SAFETY: the object is already loaded, so this runs no constructor.
        let pin = unsafe {
            Library::open(
                Some(path),
                libc::RTLD_NOW | libc::RTLD_LOCAL | libc::RTLD_NOLOAD | libc::RTLD_NODELETE,
            )
        };
        if let Ok(pin) = pin {
            // The extra reference is intentionally never closed.
            std::mem::forget(pin);
        }
        Ok(Arc::new(ModuleLibrary {
            info,
            init,
            call,
            destroy,
            direct: direct.into_boxed_slice(),
            _lib: lib,
        }))
    }

    /// Validate the descriptor at `desc_ptr` as hostile input. Module
    /// memory is read only through a [`ForeignReader`] (an unreadable
    /// address is an `AbiMismatch`, never a signal): the descriptor, the
    /// method table and every name are copied once and only the copies are
    /// checked; the function pointers must point into executable memory.
    #[allow(clippy::type_complexity)]
    fn validate(
        code: &probe::ExecutableMaps,
        path: &str,
        desc_ptr: *const abi::ModuleDesc,
    ) -> Result<(ModuleInfo, abi::InitFn, abi::CallFn, abi::DestroyFn)> {
        if desc_ptr.is_null() {
            return Err(abi_err(path, "entry symbol returned a null descriptor"));
        }
        if !(desc_ptr as usize).is_multiple_of(std::mem::align_of::<abi::ModuleDesc>()) {
            return Err(abi_err(path, "descriptor pointer is misaligned"));
        }
        let mem = ForeignReader::new().map_err(probe_err)?;
        // The fixed header first (magic, abi_version, struct_size): the rest
        // is read only once struct_size says the module's struct is at least
        // as large as ours.
        let mut head = [0u8; 16];
        if !mem
            .read_exact(desc_ptr as usize, &mut head)
            .map_err(probe_err)?
        {
            return Err(abi_err(
                path,
                format!("descriptor at {desc_ptr:p} is not readable memory"),
            ));
        }
        let magic = u64::from_ne_bytes(head[0..8].try_into().unwrap_or_default());
        let version = u32::from_ne_bytes(head[8..12].try_into().unwrap_or_default());
        let size = u32::from_ne_bytes(head[12..16].try_into().unwrap_or_default());
        if magic != abi::MAGIC {
            return Err(abi_err(
                path,
                format!(
                    "wrong magic 0x{magic:016x} (expected 0x{:016x})",
                    abi::MAGIC
                ),
            ));
        }
        if version != abi::ABI_VERSION {
            return Err(abi_err(
                path,
                format!(
                    "module ABI version {version}, this host supports {}",
                    abi::ABI_VERSION
                ),
            ));
        }
        // A module built against the first v1 header declares 72 bytes (no
        // module_flags); the fields appended since read as zero for it, and
        // a larger (newer) descriptor is read only as far as this host knows.
        let need = abi::DESC_V1_SIZE;
        if (size as usize) < need {
            return Err(abi_err(
                path,
                format!("descriptor struct_size {size} is smaller than the v1 descriptor ({need} bytes)"),
            ));
        }
        let mut raw = [0u8; std::mem::size_of::<abi::ModuleDesc>()];
        let known = (size as usize).min(raw.len());
        if !mem
            .read_exact(desc_ptr as usize, &mut raw[..known])
            .map_err(probe_err)?
        {
            return Err(abi_err(
                path,
                format!(
                    "descriptor is only partly readable (fewer than {need} bytes at {desc_ptr:p})"
                ),
            ));
        }
        // SAFETY: `raw` holds exactly size_of::<ModuleDesc>() initialised
        // bytes (those past the module's struct_size are zero), read
        // unaligned. Every field accepts any bit pattern: integers, raw
        // pointers (never dereferenced here: names and the table are copied
        // through `mem`), and Option<fn> (null is None, any other value a
        // pointer that is checked for executable memory below before use).
        let d: abi::ModuleDesc = unsafe { std::ptr::read_unaligned(raw.as_ptr().cast()) };
        let thread_model = ThreadModel::from_abi(d.thread_model)
            .ok_or_else(|| abi_err(path, format!("unknown thread model {}", d.thread_model)))?;
        if d.module_flags & !abi::MODULE_KNOWN_FLAGS != 0 {
            return Err(abi_err(
                path,
                format!("unknown module flag bits 0x{:x}", d.module_flags),
            ));
        }
        if d.reserved != 0 {
            return Err(abi_err(path, "the descriptor's reserved field is non-zero"));
        }
        let (Some(init), Some(call), Some(destroy)) = (d.init, d.call, d.destroy) else {
            let which: Vec<&str> = [
                ("init", d.init.is_none()),
                ("call", d.call.is_none()),
                ("destroy", d.destroy.is_none()),
            ]
            .iter()
            .filter(|(_, null)| *null)
            .map(|(n, _)| *n)
            .collect();
            return Err(abi_err(
                path,
                format!("null function pointer(s): {}", which.join(", ")),
            ));
        };
        check_code(code, path, "init", init as usize)?;
        check_code(code, path, "call", call as usize)?;
        check_code(code, path, "destroy", destroy as usize)?;
        let name = validated_name(&mem, path, "module name", d.name)?;
        let version_s = validated_name(&mem, path, "module version", d.version)?;
        if d.method_count == 0 || d.method_count > abi::MAX_METHODS {
            return Err(abi_err(
                path,
                format!(
                    "method_count {} is outside 1..={}",
                    d.method_count,
                    abi::MAX_METHODS
                ),
            ));
        }
        if d.methods.is_null() {
            return Err(abi_err(path, "method table is a null pointer"));
        }
        if !(d.methods as usize).is_multiple_of(std::mem::align_of::<abi::MethodDesc>()) {
            return Err(abi_err(path, "method table is misaligned"));
        }
        let entry = std::mem::size_of::<abi::MethodDesc>();
        let count = d.method_count as usize;
        let mut table = vec![0u8; count * entry];
        let readable = mem
            .read_prefix(d.methods as usize, &mut table)
            .map_err(probe_err)?;
        if readable < table.len() {
            return Err(abi_err(
                path,
                format!(
                    "method table is shorter than method_count {count}: only {} entries are readable",
                    readable / entry
                ),
            ));
        }
        let mut methods: Vec<MethodInfo> = Vec::with_capacity(count);
        let mut seen = std::collections::HashSet::new();
        for (i, bytes) in table.chunks_exact(entry).enumerate() {
            // SAFETY: `bytes` holds exactly size_of::<MethodDesc>() bytes,
            // read unaligned; its fields (a raw pointer, two u32) accept any
            // bit pattern, and the name pointer is only read through `mem`.
            let m: abi::MethodDesc = unsafe { std::ptr::read_unaligned(bytes.as_ptr().cast()) };
            let mname = validated_name(&mem, path, &format!("method #{i} name"), m.name)?;
            if m.flags & !abi::METHOD_KNOWN_FLAGS != 0 {
                return Err(abi_err(
                    path,
                    format!("method {mname:?} has unknown flag bits 0x{:x}", m.flags),
                ));
            }
            if m.reserved != 0 {
                return Err(abi_err(
                    path,
                    format!("method {mname:?} has a non-zero reserved field"),
                ));
            }
            if !seen.insert(mname.clone()) {
                return Err(abi_err(path, format!("duplicate method name {mname:?}")));
            }
            methods.push(MethodInfo {
                name: mname,
                flags: m.flags,
            });
        }
        Ok((
            ModuleInfo {
                path: path.to_string(),
                name,
                version: version_s,
                abi_version: version,
                thread_model,
                stateful: d.module_flags & abi::MODULE_STATEFUL != 0,
                methods,
                interface: None,
            },
            init,
            call,
            destroy,
        ))
    }

    pub(crate) fn info(&self) -> &ModuleInfo {
        &self.info
    }

    /// Create an instance. `token` is the instance token the module will use
    /// for emit/log; it must stay registered until the instance is destroyed.
    pub(crate) fn instantiate(self: &Arc<Self>, token: u64, config: &[u8]) -> Result<Instance> {
        let api = Box::new(callbacks::host_api(token));
        let mut scratch = Vec::new();
        let mut out = CallOutput::to_vec(&mut scratch, 0);
        let ctx = &mut CallCtx::new(&mut out);
        let mut instance: *mut c_void = std::ptr::null_mut();
        // SAFETY: `init` was validated non-null and comes from the pinned
        // library. `api` is boxed and kept in the Instance until after
        // destroy() returns, as the ABI promises. `config` is borrowed for the
        // call only. `ctx` lives on this stack frame for the whole call.
        let rc = unsafe {
            (self.init)(
                &*api,
                config.as_ptr(),
                config.len(),
                &mut instance,
                ctx.as_ptr(),
            )
        };
        let failure = ctx.finish();
        if rc != 0 || failure.is_some() {
            let (code, message) = failure.unwrap_or((rc, String::new()));
            return Err(Error::Module {
                code: if code == 0 { rc } else { code },
                message: if message.is_empty() {
                    format!("init failed with code {rc}")
                } else {
                    format!("init failed: {message}")
                },
            });
        }
        let model = self.info.thread_model;
        Ok(Instance {
            lib: Arc::clone(self),
            ptr: instance,
            _api: api,
            serial: match model {
                ThreadModel::ThreadSafe => None,
                _ => Some(Mutex::new(())),
            },
            serial_holder: AtomicUsize::new(0),
            owner: match model {
                ThreadModel::SingleThread => Some(std::thread::current().id()),
                _ => None,
            },
        })
    }
}

/// A live module instance. Destroyed exactly once, on drop.
pub(crate) struct Instance {
    lib: Arc<ModuleLibrary>,
    ptr: *mut c_void,
    _api: Box<abi::HostApi>,
    serial: Option<Mutex<()>>,
    /// The thread holding `serial` ([`callbacks::pthread_id`]), 0 if none:
    /// a call from that thread (a re-entrant call) would wait for itself.
    serial_holder: AtomicUsize,
    owner: Option<ThreadId>,
}

/// `serial` held; clears the holder before the lock is released.
struct SerialGuard<'a> {
    holder: &'a AtomicUsize,
    _lock: crate::sync::MutexGuard<'a, ()>,
}

impl Drop for SerialGuard<'_> {
    fn drop(&mut self) {
        self.holder.store(0, Ordering::Relaxed);
    }
}

// SAFETY: the instance pointer is only passed back to the module that created
// it. Concurrency follows the module's declared thread model: calls on a
// serialized or single-thread instance take `serial`, and a single-thread
// instance is called only on its owner thread (checked in `call`, and the
// single-thread backend drops it on that thread too).
unsafe impl Send for Instance {}
// SAFETY: see Send: `call` enforces the thread model itself.
unsafe impl Sync for Instance {}

impl std::fmt::Debug for Instance {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Instance")
            .field("module", &self.lib.info.name)
            .finish()
    }
}

impl Instance {
    /// Run method `index` with `input`, writing into `out`.
    pub(crate) fn call(&self, index: u32, input: &[u8], out: &mut CallOutput<'_>) -> Result<()> {
        self.call_in(index, input, out, super::hazard::here())
    }

    /// [`call`](Self::call) on the thread `here` names (its call records).
    #[inline]
    pub(crate) fn call_in(
        &self,
        index: u32,
        input: &[u8],
        out: &mut CallOutput<'_>,
        here: Option<super::hazard::Here>,
    ) -> Result<()> {
        if index as usize >= self.lib.info.methods.len() {
            return Err(Error::NotFound(format!("method index {index}")));
        }
        if let Some(owner) = self.owner {
            if owner != std::thread::current().id() {
                return Err(Error::Internal(
                    "single-thread module called off its owner thread".into(),
                ));
            }
        }
        let _serial = match &self.serial {
            Some(m) => Some(self.lock_serial(m)?),
            None => None,
        };
        // The context is dropped in place at the end of this block, never
        // moved: a move (e.g. `drop(ctx)`) copies it right after the
        // module's callbacks wrote parts of it through narrower stores, a
        // store-forwarding stall measured at ~25 % of a 16-byte echo.
        let (rc, failure) = {
            let mut ctx = CallCtx::new_in(out, here);
            // SAFETY: `call` was validated non-null and belongs to the library
            // that created `ptr`; the thread model is enforced above; `input` is
            // borrowed for the duration of the call; `ctx` outlives the call and
            // is retired by `finish` (a later use of its token is BH_API_STALE).
            let rc = unsafe {
                (self.lib.call)(self.ptr, index, input.as_ptr(), input.len(), ctx.as_ptr())
            };
            (rc, ctx.finish())
        };
        if rc == 0 && failure.is_none() && !out.exceeded() {
            return out.finish().map(|_| ());
        }
        Err(call_error(rc, failure, out))
    }
}

impl Instance {
    /// Run method `index` through its direct entry with checked argument
    /// slots (`Ok(None)`: it has none). The result slot is returned as the
    /// module wrote it; its check against the result type is the caller's.
    #[inline]
    pub(crate) fn call_direct(
        &self,
        index: u32,
        args: &[u64],
        here: super::hazard::Here,
    ) -> Direct {
        let Some(Some(entry)) = self.lib.direct.get(index as usize).copied() else {
            return Direct::Bytes;
        };
        if self.owner.is_some() {
            // Single-thread modules run on their owner thread: the backend
            // never asks for a direct call there.
            return Direct::Bytes;
        }
        let _serial = match &self.serial {
            Some(m) => match self.lock_serial(m) {
                Ok(g) => Some(g),
                Err(e) => return Direct::Failed(Box::new(e)),
            },
            None => None,
        };
        let mut result = 0u64;
        let ctx = callbacks::DirectCall::arm(here);
        // SAFETY: `entry` was checked to be code of the library that created
        // `ptr` and its method validated direct-eligible with at most
        // DIRECT_MAX_PARAMS parameters; `args` holds one checked slot per
        // parameter and outlives the call; `result` is a valid u64 for the
        // call; the thread model is enforced above (serial lock, never a
        // single-thread instance); the token is disarmed by `finish`.
        let rc = unsafe { entry(self.ptr, args.as_ptr(), &mut result, ctx.token()) };
        let failure = ctx.finish();
        if rc == 0 && failure.is_none() {
            return Direct::Done(result);
        }
        Direct::Failed(Box::new(direct_error(rc, failure)))
    }

    /// Take the serialization lock, or refuse a re-entrant call (the lock
    /// is held by this very thread, further up its stack).
    #[inline]
    fn lock_serial<'a>(&'a self, m: &'a Mutex<()>) -> Result<SerialGuard<'a>> {
        let me = callbacks::pthread_id();
        // Only this thread stores its own mark, so reading it here means
        // this thread holds the lock now.
        if self.serial_holder.load(Ordering::Relaxed) == me {
            return Err(Error::reentrant("call", &self.lib.info.name));
        }
        let lock = m.lock();
        self.serial_holder.store(me, Ordering::Relaxed);
        Ok(SerialGuard {
            holder: &self.serial_holder,
            _lock: lock,
        })
    }
}

/// The error of a call that failed: its output exceeded the limit, or the
/// module returned non-zero or reported a failure (kept off the call path).
#[cold]
#[inline(never)]
fn call_error(rc: i32, failure: Option<(i32, String)>, out: &CallOutput<'_>) -> Error {
    if out.exceeded() {
        if let Err(e) = out.finish() {
            return e;
        }
    }
    match failure {
        Some((code, message)) => Error::Module {
            code: if code == 0 { rc } else { code },
            message,
        },
        None => Error::Module {
            code: rc,
            message: format!("method failed with code {rc}"),
        },
    }
}

/// The error of a direct call that failed (kept off the call path).
#[cold]
#[inline(never)]
fn direct_error(rc: i32, failure: Option<(i32, String)>) -> Error {
    match failure {
        // As for the bytes entry: a reported failure fails the call with
        // its code (never 0) whatever the entry returned.
        Some((code, message)) => Error::Module { code, message },
        None => Error::Module {
            code: rc,
            message: format!("method failed with code {rc}"),
        },
    }
}

impl Drop for Instance {
    fn drop(&mut self) {
        // SAFETY: `destroy` was validated non-null and belongs to the library
        // that created `ptr`; drop runs once, after every call borrowing this
        // instance returned (calls hold `&self`), so no call is in flight.
        unsafe { (self.lib.destroy)(self.ptr) };
    }
}
