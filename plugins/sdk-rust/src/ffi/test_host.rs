//! The in-process test host behind [`crate::testing`].

use super::borrow_bytes;
use crate::ModuleError;
use bridgehost_module_abi::{self as abi, BhCall, DirectFn, HostApi, InterfaceDesc, ModuleDesc};
use std::collections::BTreeMap;
use std::ffi::{c_char, c_void, CStr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// Longest module error message the test host keeps (as the real host).
const MAX_MESSAGE_LEN: usize = 4096;
/// Longest topic (as the real host).
const MAX_TOPIC_LEN: usize = 128;
/// Largest event payload the test host accepts.
const MAX_EVENT: usize = 1 << 20;

/// An event a module emitted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    /// Topic.
    pub topic: String,
    /// Payload.
    pub data: Vec<u8>,
}

/// A message a module logged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogRecord {
    /// 0 error .. 4 trace.
    pub level: i32,
    /// Message (lossy UTF-8).
    pub message: String,
}

#[derive(Default)]
struct Recorded {
    events: Vec<Event>,
    logs: Vec<LogRecord>,
}

#[derive(Default)]
struct Sink {
    rec: Mutex<Recorded>,
    cond: Condvar,
}

impl Sink {
    fn lock(&self) -> MutexGuard<'_, Recorded> {
        self.rec.lock().unwrap_or_else(|p| p.into_inner())
    }
}

static LIVE: Mutex<BTreeMap<u64, Arc<Sink>>> = Mutex::new(BTreeMap::new());
static LATE: Mutex<BTreeMap<u64, u64>> = Mutex::new(BTreeMap::new());
static NEXT_TOKEN: AtomicU64 = AtomicU64::new(0x7e57_0000_0001);

fn live() -> MutexGuard<'static, BTreeMap<u64, Arc<Sink>>> {
    LIVE.lock().unwrap_or_else(|p| p.into_inner())
}

fn late() -> MutexGuard<'static, BTreeMap<u64, u64>> {
    LATE.lock().unwrap_or_else(|p| p.into_inner())
}

fn lookup(token: u64) -> Option<Arc<Sink>> {
    let found = live().get(&token).cloned();
    if found.is_none() {
        if let Some(n) = late().get_mut(&token) {
            *n += 1;
        }
    }
    found
}

const CALL_MAGIC: u64 = 0x5445_5354_4341_4c4c; // "TESTCALL"

struct CallState {
    out: Vec<u8>,
    max: usize,
    exceeded: bool,
    failure: Option<(i32, String)>,
    /// A direct call's context: `write` is `BH_API_INVALID`.
    direct: bool,
}

/// The test host's `bh_call`.
struct CallCtx {
    magic: u64,
    state: Mutex<CallState>,
}

impl CallCtx {
    fn new(max: usize) -> Self {
        CallCtx {
            magic: CALL_MAGIC,
            state: Mutex::new(CallState {
                out: Vec::new(),
                max,
                exceeded: false,
                failure: None,
                direct: false,
            }),
        }
    }
    fn as_ptr(&self) -> *mut BhCall {
        (self as *const Self).cast_mut().cast()
    }
    fn lock(&self) -> MutexGuard<'_, CallState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// # Safety
/// `call` must be null or a pointer from [`CallCtx::as_ptr`] whose
/// context is still alive.
unsafe fn ctx<'a>(call: *mut BhCall) -> Option<&'a CallCtx> {
    if call.is_null() {
        return None;
    }
    // SAFETY: per the contract a non-null pointer is a live CallCtx.
    let c = unsafe { &*call.cast::<CallCtx>() };
    (c.magic == CALL_MAGIC).then_some(c)
}

unsafe extern "C" fn t_write(call: *mut BhCall, data: *const u8, len: usize) -> i32 {
    std::panic::catch_unwind(|| {
        // SAFETY: modules may only pass the context of a running call.
        let Some(c) = (unsafe { ctx(call) }) else {
            return abi::API_INVALID;
        };
        let mut st = c.lock();
        if st.direct {
            return abi::API_INVALID;
        }
        if st.out.len().checked_add(len).is_none_or(|n| n > st.max) {
            st.exceeded = true;
            return abi::API_TOO_LARGE;
        }
        // SAFETY: the module promises len readable bytes at data.
        let Some(b) = (unsafe { borrow_bytes(data, len) }) else {
            return abi::API_INVALID;
        };
        st.out.extend_from_slice(b);
        abi::API_OK
    })
    .unwrap_or(abi::API_INVALID)
}

unsafe extern "C" fn t_fail(call: *mut BhCall, code: i32, msg: *const c_char, len: usize) -> i32 {
    std::panic::catch_unwind(|| {
        // SAFETY: modules may only pass the context of a running call.
        let Some(c) = (unsafe { ctx(call) }) else {
            return abi::API_INVALID;
        };
        if code == 0 {
            return abi::API_INVALID;
        }
        // SAFETY: the module promises len readable bytes; we read fewer.
        let (m, st) = match unsafe { borrow_bytes(msg.cast(), len.min(MAX_MESSAGE_LEN)) } {
            Some(b) => (String::from_utf8_lossy(b).into_owned(), abi::API_OK),
            None => (
                "(module passed an invalid message pointer)".into(),
                abi::API_INVALID,
            ),
        };
        c.lock().failure = Some((code, m));
        st
    })
    .unwrap_or(abi::API_INVALID)
}

unsafe extern "C" fn t_emit(
    token: u64,
    topic: *const c_char,
    topic_len: usize,
    data: *const u8,
    len: usize,
) -> i32 {
    std::panic::catch_unwind(|| {
        let Some(sink) = lookup(token) else {
            return abi::API_STALE;
        };
        if topic_len == 0 || topic_len > MAX_TOPIC_LEN {
            return abi::API_INVALID;
        }
        if len > MAX_EVENT {
            return abi::API_TOO_LARGE;
        }
        // SAFETY: the module promises topic_len readable bytes (bounded).
        let Some(t) = (unsafe { borrow_bytes(topic.cast(), topic_len) }) else {
            return abi::API_INVALID;
        };
        let Ok(t) = std::str::from_utf8(t) else {
            return abi::API_INVALID;
        };
        // SAFETY: the module promises len readable bytes (bounded).
        let Some(d) = (unsafe { borrow_bytes(data, len) }) else {
            return abi::API_INVALID;
        };
        sink.lock().events.push(Event {
            topic: t.to_string(),
            data: d.to_vec(),
        });
        sink.cond.notify_all();
        abi::API_OK
    })
    .unwrap_or(abi::API_INVALID)
}

unsafe extern "C" fn t_log(token: u64, level: i32, msg: *const c_char, len: usize) -> i32 {
    std::panic::catch_unwind(|| {
        let Some(sink) = lookup(token) else {
            return abi::API_STALE;
        };
        // SAFETY: the module promises len readable bytes; we read fewer.
        let Some(b) = (unsafe { borrow_bytes(msg.cast(), len.min(MAX_MESSAGE_LEN)) }) else {
            return abi::API_INVALID;
        };
        sink.lock().logs.push(LogRecord {
            level,
            message: String::from_utf8_lossy(b).into_owned(),
        });
        abi::API_OK
    })
    .unwrap_or(abi::API_INVALID)
}

/// A loaded module descriptor, driven through its C entry points exactly
/// as the real host would (minus isolation).
#[derive(Debug)]
pub struct TestHost {
    desc: &'static ModuleDesc,
    name: String,
    version: String,
    methods: Vec<(String, u32)>,
    direct: Vec<Option<DirectFn>>,
}

/// # Safety
/// `p` must point to a NUL-terminated string that lives forever.
unsafe fn static_str(p: *const c_char) -> String {
    assert!(!p.is_null(), "null string in descriptor");
    // SAFETY: per the contract.
    let s = unsafe { CStr::from_ptr(p) };
    s.to_str()
        .expect("descriptor string is not UTF-8")
        .to_string()
}

impl TestHost {
    /// Wrap a descriptor, checking its header and method table (panics
    /// on an invalid descriptor: this is a test tool).
    ///
    /// # Safety
    /// `desc` must be what a module's `bridgehost_module_v1` returned: a
    /// pointer to a static descriptor whose strings are NUL-terminated,
    /// whose `methods` has `method_count` entries, and whose entry points
    /// follow the ABI (any descriptor generated by `export_module!`).
    pub unsafe fn new(desc: *const ModuleDesc) -> TestHost {
        assert!(!desc.is_null(), "entry point returned NULL");
        // SAFETY: per the contract, a valid static descriptor.
        let desc: &'static ModuleDesc = unsafe { &*desc };
        assert_eq!(desc.magic, abi::MAGIC, "bad magic");
        assert_eq!(desc.abi_version, abi::ABI_VERSION, "bad ABI version");
        assert!(
            desc.struct_size as usize >= std::mem::size_of::<ModuleDesc>(),
            "struct_size too small"
        );
        assert!(
            desc.thread_model <= abi::THREAD_SINGLE,
            "unknown thread model"
        );
        assert!(
            (1..=abi::MAX_METHODS).contains(&desc.method_count),
            "bad method count"
        );
        assert!(!desc.methods.is_null(), "null method table");
        assert!(
            desc.init.is_some() && desc.call.is_some() && desc.destroy.is_some(),
            "null entry point"
        );
        // SAFETY: per the contract.
        let table = unsafe { std::slice::from_raw_parts(desc.methods, desc.method_count as usize) };
        let mut methods = Vec::with_capacity(table.len());
        for m in table {
            // SAFETY: per the contract, names are static C strings.
            let name = unsafe { static_str(m.name) };
            assert!(
                !name.is_empty() && name.len() <= abi::MAX_NAME_LEN,
                "bad name"
            );
            assert_eq!(m.flags & !abi::METHOD_KNOWN_FLAGS, 0, "unknown flags");
            assert_eq!(m.reserved, 0, "reserved must be 0");
            assert!(
                !methods.iter().any(|(n, _)| *n == name),
                "duplicate method {name}"
            );
            methods.push((name, m.flags));
        }
        TestHost {
            desc,
            // SAFETY: per the contract.
            name: unsafe { static_str(desc.name) },
            // SAFETY: per the contract.
            version: unsafe { static_str(desc.version) },
            methods,
            direct: Vec::new(),
        }
    }

    /// Take the direct entries (docs/TYPED.md, "Direct calls") from the
    /// module's interface descriptor, checking the table as the host does
    /// (panics on a bad one: this is a test tool), for
    /// [`TestInstance::call_direct`].
    ///
    /// # Safety
    /// `iface` must be what the same module's `bridgehost_module_interface`
    /// returned: a static descriptor whose `direct` table, when not null,
    /// has `direct_count` entries, each null or a `bh_direct_fn` of the
    /// method with that index.
    pub unsafe fn with_interface(mut self, iface: *const InterfaceDesc) -> TestHost {
        assert!(!iface.is_null(), "interface symbol returned NULL");
        // SAFETY: per the contract, a valid static descriptor.
        let d: &'static InterfaceDesc = unsafe { &*iface };
        if (d.struct_size as usize) < std::mem::size_of::<InterfaceDesc>() {
            assert_eq!(
                d.struct_size as usize,
                abi::INTERFACE_V1_SIZE,
                "bad struct_size"
            );
            return self;
        }
        assert_eq!(d.reserved, 0, "reserved must be 0");
        assert_eq!(
            d.direct.is_null(),
            d.direct_count == 0,
            "direct NULL iff direct_count 0"
        );
        if d.direct.is_null() {
            return self;
        }
        assert_eq!(
            d.direct_count, self.desc.method_count,
            "direct_count != method_count"
        );
        // SAFETY: per the contract, direct_count readable entries.
        let t = unsafe { std::slice::from_raw_parts(d.direct, d.direct_count as usize) };
        self.direct = t.to_vec();
        self
    }

    /// Module name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Module version.
    pub fn version(&self) -> &str {
        &self.version
    }

    /// `BH_THREAD_*` value.
    pub fn thread_model(&self) -> u32 {
        self.desc.thread_model
    }

    /// `(name, flags)` in descriptor order.
    pub fn methods(&self) -> &[(String, u32)] {
        &self.methods
    }

    /// Create an instance (runs the module's `init`).
    pub fn instantiate(&self, config: &[u8]) -> Result<TestInstance, ModuleError> {
        let token = NEXT_TOKEN.fetch_add(1, Ordering::Relaxed);
        let sink = Arc::new(Sink::default());
        live().insert(token, Arc::clone(&sink));
        let api = Box::new(HostApi {
            struct_size: std::mem::size_of::<HostApi>() as u32,
            abi_version: abi::ABI_VERSION,
            instance_token: token,
            write: t_write,
            fail: t_fail,
            emit: t_emit,
            log: t_log,
        });
        let ctx = CallCtx::new(0);
        let mut ptr: *mut c_void = std::ptr::null_mut();
        let init = self.desc.init.expect("checked in new");
        // SAFETY: `init` is the module's (validated non-null in new);
        // `api` is boxed and kept alive in the TestInstance until after
        // destroy; config is a live borrow; `ctx` outlives the call.
        let rc = unsafe { init(&*api, config.as_ptr(), config.len(), &mut ptr, ctx.as_ptr()) };
        let failure = ctx.lock().failure.take();
        if rc != 0 || failure.is_some() {
            live().remove(&token);
            let (code, message) = failure.unwrap_or((rc, format!("init failed with code {rc}")));
            return Err(ModuleError::new(code, message));
        }
        late().insert(token, 0);
        Ok(TestInstance {
            desc: self.desc,
            methods: self.methods.iter().map(|(n, _)| n.clone()).collect(),
            direct: self.direct.clone(),
            ptr,
            api,
            token,
            sink,
        })
    }
}

/// One module instance of a [`TestHost`]. Destroyed on drop.
#[derive(Debug)]
pub struct TestInstance {
    desc: &'static ModuleDesc,
    methods: Vec<String>,
    direct: Vec<Option<DirectFn>>,
    ptr: *mut c_void,
    api: Box<HostApi>,
    token: u64,
    sink: Arc<Sink>,
}

impl std::fmt::Debug for Sink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Sink")
    }
}

impl TestInstance {
    /// The instance token handed to the module.
    pub fn token(&self) -> u64 {
        self.token
    }

    /// Call `method` with no output limit beyond 1 GiB.
    pub fn call(&self, method: &str, input: &[u8]) -> Result<Vec<u8>, ModuleError> {
        self.call_limited(method, input, 1 << 30)
    }

    /// Call `method` with an output limit of `max_output` bytes. An
    /// exceeded limit is reported as `ModuleError { code: BH_API_TOO_LARGE }`
    /// whatever the module returned.
    pub fn call_limited(
        &self,
        method: &str,
        input: &[u8],
        max_output: usize,
    ) -> Result<Vec<u8>, ModuleError> {
        let index = self
            .methods
            .iter()
            .position(|m| m == method)
            .ok_or_else(|| ModuleError::new(-1, format!("no method {method}")))?;
        self.call_index(index as u32, input, max_output)
    }

    /// Call by raw method index (not range-checked: tests the module's
    /// own check).
    pub fn call_index(
        &self,
        index: u32,
        input: &[u8],
        max_output: usize,
    ) -> Result<Vec<u8>, ModuleError> {
        let ctx = CallCtx::new(max_output);
        let call = self.desc.call.expect("checked in TestHost::new");
        // SAFETY: `ptr` came from this descriptor's init and is not yet
        // destroyed (destroy runs in Drop, which needs ownership, so no
        // call borrows `self` then). TestInstance is !Sync, so calls are
        // never concurrent, satisfying every thread model (SINGLE too:
        // !Send keeps it on the creating thread). `ctx` outlives the call.
        let rc = unsafe { call(self.ptr, index, input.as_ptr(), input.len(), ctx.as_ptr()) };
        let mut st = ctx.lock();
        if st.exceeded {
            return Err(ModuleError::new(
                abi::API_TOO_LARGE,
                "output exceeds the call's limit",
            ));
        }
        match (rc, st.failure.take()) {
            (0, None) => Ok(std::mem::take(&mut st.out)),
            (rc, Some((code, msg))) => {
                Err(ModuleError::new(if code == 0 { rc } else { code }, msg))
            }
            (rc, None) => Err(ModuleError::new(
                rc,
                format!("method failed with code {rc}"),
            )),
        }
    }

    /// Whether `method` has a direct entry (after [`TestHost::with_interface`]).
    pub fn has_direct(&self, method: &str) -> bool {
        self.direct_entry(method).is_some()
    }

    fn direct_entry(&self, method: &str) -> Option<DirectFn> {
        let index = self.methods.iter().position(|m| m == method)?;
        self.direct.get(index).copied().flatten()
    }

    /// Call `method`'s direct entry with one slot per parameter (at most
    /// `BH_DIRECT_MAX_PARAMS`; the entry is handed a buffer of that many
    /// slots, the rest 0, so a wrong count cannot read past it). `None` when
    /// the method has none; else the result slot, or the module error (the
    /// code and message given to `fail`, or the code returned). The slots
    /// are passed as given: the test host does not check them.
    pub fn call_direct(&self, method: &str, args: &[u64]) -> Option<Result<u64, ModuleError>> {
        let f = self.direct_entry(method)?;
        assert!(
            args.len() <= abi::DIRECT_MAX_PARAMS,
            "too many direct arguments"
        );
        let mut slots = [0u64; abi::DIRECT_MAX_PARAMS];
        slots[..args.len()].copy_from_slice(args);
        let ctx = CallCtx::new(0);
        ctx.lock().direct = true;
        let mut result = 0u64;
        // SAFETY: `f` is the module's direct entry of this method (the
        // contract of with_interface); `ptr` is a live instance of this
        // descriptor (as in call_index); `slots` holds at least one slot per
        // parameter and `result` is writable; `ctx` outlives the call.
        let rc = unsafe { f(self.ptr, slots.as_ptr(), &mut result, ctx.as_ptr()) };
        let failure = ctx.lock().failure.take();
        Some(match (rc, failure) {
            (0, None) => Ok(result),
            (0, Some((code, msg))) => Err(ModuleError::new(
                code,
                format!("direct entry returned 0 after fail({code}, {msg:?})"),
            )),
            (rc, Some((code, msg))) => {
                Err(ModuleError::new(if code == 0 { rc } else { code }, msg))
            }
            (rc, None) => Err(ModuleError::new(
                rc,
                format!("method failed with code {rc}"),
            )),
        })
    }

    /// Events emitted so far.
    pub fn events(&self) -> Vec<Event> {
        self.sink.lock().events.clone()
    }

    /// Wait until at least `n` events were emitted or `timeout` passed;
    /// returns the events seen.
    pub fn wait_events(&self, n: usize, timeout: Duration) -> Vec<Event> {
        let deadline = Instant::now() + timeout;
        let mut rec = self.sink.lock();
        while rec.events.len() < n {
            let now = Instant::now();
            if now >= deadline {
                break;
            }
            rec = match self.sink.cond.wait_timeout(rec, deadline - now) {
                Ok((g, _)) => g,
                Err(p) => p.into_inner().0,
            };
        }
        rec.events.clone()
    }

    /// Messages logged so far.
    pub fn logs(&self) -> Vec<LogRecord> {
        self.sink.lock().logs.clone()
    }

    /// Destroy the instance now; returns every event and log recorded
    /// (including those emitted during destroy).
    pub fn destroy(self) -> (Vec<Event>, Vec<LogRecord>) {
        let sink = Arc::clone(&self.sink);
        drop(self);
        let mut rec = sink.lock();
        (
            std::mem::take(&mut rec.events),
            std::mem::take(&mut rec.logs),
        )
    }
}

/// How many emit/log calls arrived with `token` after its instance was
/// destroyed (each answered with `BH_API_STALE`).
pub fn late_uses(token: u64) -> u64 {
    late().get(&token).copied().unwrap_or(0)
}

impl Drop for TestInstance {
    fn drop(&mut self) {
        let destroy = self.desc.destroy.expect("checked in TestHost::new");
        // SAFETY: `ptr` came from this descriptor's init; drop runs once,
        // with no call in flight (calls borrow self).
        unsafe { destroy(self.ptr) };
        // Retire the token only after destroy returned, as the host does.
        live().remove(&self.token);
        let _ = &self.api; // the API table stayed alive until here
    }
}
