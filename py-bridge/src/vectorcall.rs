//! Calling conventions PyO3 does not give (boundary module: `unsafe`):
//! typed functions and method objects called through vectorcall (PEP 590),
//! and `Method.call` / `Method.call_released` as `METH_O` methods.
//!
//! **Vectorcall.** A PyO3 class's `__call__` is its type's `tp_call`: every
//! call builds a tuple of the arguments (and a dict of keywords) and goes
//! through CPython's generic call path, ~40 ns per call on CPython 3.10+
//! where a vectorcall entry takes the caller's argument array as it is.
//! PyO3 0.30 has no vectorcall for classes, so the objects a typed view
//! hands out, and the methods `Module.method` hands out, are instances of a
//! subclass of `TypedFunction` or `Method` made here with the stable ABI
//! (`PyType_FromSpecWithBases`, [`make_subclass`]): the same name
//! (`bridgehost.typed.TypedFunction`, `bridgehost.Method`), the same methods
//! and getters (inherited), plus one pointer after PyO3's layout, the entry
//! ([`entry`], [`method_entry`]), which the type announces with
//! `Py_TPFLAGS_HAVE_VECTORCALL` and the `__vectorcalloffset__` member (both
//! honoured by `PyType_FromSpecWithBases` since CPython 3.9). A call with a
//! tuple (`f(*t)` through `PyObject_Call`, `functools.partial`...) still
//! takes the inherited `tp_call`; either way the same code decides
//! ([`TypedFunction::call_vector`] and `TypedFunction::call`; `Method`'s
//! `__call__`).
//!
//! Instances are created by calling the subclass, which runs PyO3's
//! `tp_new` (the object is allocated with the subclass's size and PyO3's part
//! initialized as usual) with the value to move in left in a thread-local
//! slot by [`new_function`] / [`new_method`]; then the entry is written
//! after PyO3's part.
//!
//! **`METH_O`** ([`install_one_argument_methods`]). Built for the stable ABI
//! of CPython 3.9 (abi3-py39), PyO3 defines every method with arguments as
//! `METH_VARARGS | METH_KEYWORDS`: each `method.call(data)` builds a
//! one-tuple, goes through CPython's generic `tp_call` path and has PyO3
//! parse the tuple back, ~270 of the ~2,200 instructions of a 16-byte echo
//! (callgrind; docs/PERFORMANCE.md section 20). A method of exactly one
//! positional argument can be `METH_O` (in the stable ABI of every CPython
//! 3): CPython's vectorcall of the method descriptor hands the argument over
//! as it is. The two one-argument call methods are redefined so, with the
//! same name, docstring and text signature, after PyO3 made the class; the
//! body is the same Rust method PyO3's wrapper calls.
//!
#![allow(unsafe_code)]

use crate::method::Method;
use crate::typed::TypedFunction;
use pyo3::exceptions::PyTypeError;
use pyo3::ffi;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyBytes, PyDict, PyTuple, PyType};
use pyo3::{Borrowed, PyClass, PyTypeInfo};
use std::cell::RefCell;
use std::ffi::{c_int, c_uint, c_ulong, c_void, CStr};

/// `Py_TPFLAGS_HAVE_VECTORCALL` (object.h; the same bit since CPython 3.8,
/// in the limited API's headers from 3.12).
const HAVE_VECTORCALL: c_ulong = 1 << 11;
/// `PY_VECTORCALL_ARGUMENTS_OFFSET` (abstract.h, PEP 590): the flag bit of
/// `nargsf`; the rest is the number of positional arguments.
const ARGUMENTS_OFFSET: usize = 1 << (usize::BITS - 1);

thread_local! {
    /// The value the next `TypedFunction.__new__` on this thread moves in.
    static PENDING_FUNCTION: RefCell<Option<TypedFunction>> = const { RefCell::new(None) };
    /// The value the next `Method.__new__` on this thread moves in.
    static PENDING_METHOD: RefCell<Option<Method>> = const { RefCell::new(None) };
}

/// `TypedFunction.__new__`: the value [`new_function`] left for it; from
/// Python (nothing left) the `TypeError` of a class without a constructor.
pub(crate) fn take_pending() -> PyResult<TypedFunction> {
    PENDING_FUNCTION
        .with(|p| p.borrow_mut().take())
        .ok_or_else(|| PyTypeError::new_err("No constructor defined for TypedFunction"))
}

/// `Method.__new__`: the value [`new_method`] left for it; from Python
/// (nothing left) the `TypeError` of a class without a constructor.
pub(crate) fn take_pending_method() -> PyResult<Method> {
    PENDING_METHOD
        .with(|p| p.borrow_mut().take())
        .ok_or_else(|| PyTypeError::new_err("No constructor defined for Method"))
}

/// A vectorcall subclass and the offset of its entry pointer.
struct Subclass {
    ty: Py<PyType>,
    offset: usize,
}

static FUNCTION_SUBCLASS: PyOnceLock<Subclass> = PyOnceLock::new();
static METHOD_SUBCLASS: PyOnceLock<Subclass> = PyOnceLock::new();

/// Make the vectorcall subclass of PyO3's class `base`, named `name` (the
/// base's own name: it stands in for it).
fn make_subclass(
    py: Python<'_>,
    base: Bound<'_, PyType>,
    name: &'static CStr,
) -> PyResult<Subclass> {
    let too_large = || PyTypeError::new_err(format!("{name:?}: object too large"));
    let base_size: usize = base.getattr("__basicsize__")?.extract()?;
    // The entry pointer, after PyO3's part (aligned for a pointer).
    let align = std::mem::align_of::<ffi::vectorcallfunc>();
    let offset = base_size.div_ceil(align) * align;
    let basicsize = c_int::try_from(offset + std::mem::size_of::<ffi::vectorcallfunc>())
        .map_err(|_| too_large())?;
    let offset_ssize = ffi::Py_ssize_t::try_from(offset).map_err(|_| too_large())?;
    // `PyType_FromSpecWithBases` keeps pointers to the name and copies
    // the rest (the members' definitions into the type's descriptors,
    // the doc string): the name is static, the members are leaked once
    // (this runs once per class and process).
    let members: &'static mut [ffi::PyMemberDef; 2] = Box::leak(Box::new([
        ffi::PyMemberDef {
            name: c"__vectorcalloffset__".as_ptr(),
            type_code: ffi::Py_T_PYSSIZET,
            offset: offset_ssize,
            flags: ffi::Py_READONLY,
            doc: std::ptr::null(),
        },
        ffi::PyMemberDef::default(),
    ]));
    let doc: Option<String> = base.getattr("__doc__")?.extract()?;
    let doc: &'static CStr = match doc.and_then(|d| std::ffi::CString::new(d).ok()) {
        Some(d) => Box::leak(d.into_boxed_c_str()),
        None => c"",
    };
    let slots: &'static mut [ffi::PyType_Slot; 3] = Box::leak(Box::new([
        ffi::PyType_Slot {
            slot: ffi::Py_tp_members,
            pfunc: members.as_mut_ptr().cast::<c_void>(),
        },
        ffi::PyType_Slot {
            slot: ffi::Py_tp_doc,
            pfunc: doc.as_ptr().cast_mut().cast::<c_void>(),
        },
        ffi::PyType_Slot {
            slot: 0,
            pfunc: std::ptr::null_mut(),
        },
    ]));
    let spec: &'static mut ffi::PyType_Spec = Box::leak(Box::new(ffi::PyType_Spec {
        name: name.as_ptr(),
        basicsize,
        itemsize: 0,
        // Not a base type: the entry pointer is the last field.
        flags: (ffi::Py_TPFLAGS_DEFAULT | HAVE_VECTORCALL) as c_uint,
        slots: slots.as_mut_ptr(),
    }));
    let bases = PyTuple::new(py, [base.as_any()])?;
    // SAFETY: the spec, its slots, members and strings live for the
    // rest of the process; `bases` is a tuple of one type (a PyO3 class,
    // a base type); the GIL is held.
    let ty = unsafe { ffi::PyType_FromSpecWithBases(spec, bases.as_ptr()) };
    // SAFETY: a new reference or NULL with an exception set.
    let ty = unsafe { Bound::from_owned_ptr_or_err(py, ty)? };
    Ok(Subclass {
        ty: ty.cast_into::<PyType>()?.unbind(),
        offset,
    })
}

/// An instance of `sub` with `value` moved in (left in `pending` for the
/// base class's `__new__`, PyO3's `tp_new`, to take) and `entry` as its
/// vectorcall entry.
fn new_instance<T: PyClass>(
    py: Python<'_>,
    sub: &Subclass,
    pending: &'static std::thread::LocalKey<RefCell<Option<T>>>,
    value: T,
    entry: ffi::vectorcallfunc,
) -> PyResult<Py<T>> {
    pending.with(|p| *p.borrow_mut() = Some(value));
    let obj = sub.ty.bind(py).call0();
    // Not taken if the call failed before `__new__` ran.
    pending.with(|p| p.borrow_mut().take());
    let obj = obj?;
    // SAFETY: `obj` is an instance of the subclass (its `tp_new` is PyO3's,
    // which allocates with the subclass's `tp_alloc`, so the object is
    // `basicsize` bytes), and the pointer-sized field at `offset` is past
    // PyO3's part, aligned, and ours alone; no other thread can see the
    // object yet. CPython reads it (`__vectorcalloffset__`) to call `entry`.
    unsafe {
        let field = obj
            .as_ptr()
            .cast::<u8>()
            .add(sub.offset)
            .cast::<Option<ffi::vectorcallfunc>>();
        field.write(Some(entry));
    }
    Ok(obj.cast_into::<T>()?.unbind())
}

/// A typed function object as the view hands it out: `f` in an instance of
/// the vectorcall subclass of `TypedFunction`.
pub(crate) fn new_function(py: Python<'_>, f: TypedFunction) -> PyResult<Py<TypedFunction>> {
    let sub = FUNCTION_SUBCLASS.get_or_try_init(py, || {
        make_subclass(
            py,
            TypedFunction::type_object(py),
            c"bridgehost.typed.TypedFunction",
        )
    })?;
    new_instance(py, sub, &PENDING_FUNCTION, f, entry)
}

/// A method object as `Module.method` (and a typed function's `method`)
/// hands it out: `m` in an instance of the vectorcall subclass of `Method`,
/// so that `method(data)` takes the argument as it is (as `method.call(data)`
/// does, a `METH_O` method).
pub(crate) fn new_method(py: Python<'_>, m: Method) -> PyResult<Py<Method>> {
    let sub = METHOD_SUBCLASS.get_or_try_init(py, || {
        make_subclass(py, Method::type_object(py), c"bridgehost.Method")
    })?;
    new_instance(py, sub, &PENDING_METHOD, m, method_entry)
}

/// A vectorcall's `kwnames` and how many keyword arguments it names.
///
/// # Safety
/// `kwnames` is NULL or a tuple of strings (as CPython passes it to a
/// vectorcall entry), live for `'a`; the GIL is held.
unsafe fn keywords<'a, 'py>(
    py: Python<'py>,
    kwnames: *mut ffi::PyObject,
) -> (Option<Borrowed<'a, 'py, PyAny>>, usize) {
    // SAFETY: NULL or a live object (caller).
    let kwnames = unsafe { Borrowed::from_ptr_or_opt(py, kwnames) };
    let nkw = kwnames.as_ref().map_or(0, |k| {
        // SAFETY: the `kwnames` of a vectorcall is a tuple.
        unsafe { k.cast_unchecked::<PyTuple>() }.len()
    });
    (kwnames, nkw)
}

/// The vectorcall entry of a typed function object: the positional
/// arguments are `args[..nargs]`, the keywords' values follow, named by the
/// tuple `kwnames` (or NULL).
unsafe extern "C" fn entry(
    callable: *mut ffi::PyObject,
    args: *const *mut ffi::PyObject,
    nargsf: usize,
    kwnames: *mut ffi::PyObject,
) -> *mut ffi::PyObject {
    // SAFETY: CPython calls a vectorcall entry with the GIL held.
    let py = unsafe { Python::assume_attached() };
    let nargs = nargsf & !ARGUMENTS_OFFSET;
    // SAFETY: the callable is a live object for the call (the caller holds it).
    let callable = unsafe { Borrowed::from_ptr(py, callable) };
    // SAFETY: the `kwnames` of a vectorcall entry, live for the call.
    let (kwnames, nkw) = unsafe { keywords(py, kwnames) };
    let all: &[*mut ffi::PyObject] = if nargs + nkw == 0 {
        &[]
    } else {
        // SAFETY: vectorcall passes `nargs` positional arguments followed by
        // one value per keyword name, each a live (borrowed) object.
        unsafe { std::slice::from_raw_parts(args, nargs + nkw) }
    };
    // SAFETY: each pointer is a live object (above).
    let arg = |i: usize| all.get(i).map(|&p| unsafe { Borrowed::from_ptr(py, p) });
    let result = match callable.cast::<TypedFunction>() {
        Ok(f) => {
            let kw = kwnames.map(|k| {
                // SAFETY: a tuple (above).
                (unsafe { k.cast_unchecked::<PyTuple>() }, nargs)
            });
            f.get().call_vector(py, nargs, arg, kw)
        }
        Err(e) => Err(e.into()),
    };
    match result {
        Ok(v) => v.into_ptr(),
        Err(e) => {
            e.restore(py);
            std::ptr::null_mut()
        }
    }
}

/// The arguments of a vectorcall as the tuple and dict `TypedFunction.call`
/// takes (the path of keyword arguments and of whatever the scalar fast path
/// declines).
pub(crate) fn pack<'a, 'py: 'a>(
    py: Python<'py>,
    nargs: usize,
    arg: impl Fn(usize) -> Option<Borrowed<'a, 'py, PyAny>>,
    kw: Option<(Borrowed<'_, 'py, PyTuple>, usize)>,
) -> PyResult<(Bound<'py, PyTuple>, Option<Bound<'py, PyDict>>)> {
    let items: Vec<Borrowed<'a, 'py, PyAny>> = (0..nargs).filter_map(&arg).collect();
    let args = PyTuple::new(py, items)?;
    let kwargs = match kw {
        Some((names, first)) if !names.is_empty() => {
            let d = PyDict::new(py);
            for (i, name) in names.iter().enumerate() {
                if let Some(v) = arg(first + i) {
                    d.set_item(name, v)?;
                }
            }
            Some(d)
        }
        _ => None,
    };
    Ok((args, kwargs))
}

/// A `METH_O` method: its name, its docstring with the text signature
/// CPython reads back as `__text_signature__` (the same PyO3 gives), and the
/// method body.
struct OneArgument {
    name: &'static CStr,
    doc: &'static CStr,
    entry: unsafe extern "C" fn(*mut ffi::PyObject, *mut ffi::PyObject) -> *mut ffi::PyObject,
}

const ONE_ARGUMENT: [OneArgument; 2] = [
    OneArgument {
        name: c"call",
        doc: c"call($self, data, /)\n--\n\nCall on this thread and return the output as ``bytes``.",
        entry: method_call,
    },
    OneArgument {
        name: c"call_released",
        doc: c"call_released($self, data, /)\n--\n\nLike ``call`` but always releases the GIL (for measuring the\nnon-blocking fast path against the ordinary one).",
        entry: method_call_released,
    },
];

/// Redefine `Method.call` and `Method.call_released` as `METH_O` methods
/// (see the module docs). Runs once, from the extension's initialization,
/// after PyO3 added the class.
pub(crate) fn install_one_argument_methods(py: Python<'_>) -> PyResult<()> {
    let ty = Method::type_object(py);
    for m in &ONE_ARGUMENT {
        // CPython keeps a pointer to the definition in the descriptor for
        // its whole life: leaked (two, once per process).
        let def: &'static mut ffi::PyMethodDef = Box::leak(Box::new(ffi::PyMethodDef {
            ml_name: m.name.as_ptr(),
            ml_meth: ffi::PyMethodDefPointer {
                PyCFunction: m.entry,
            },
            ml_flags: ffi::METH_O,
            ml_doc: m.doc.as_ptr(),
        }));
        // SAFETY: `ty` is a live type object (PyO3's `Method`, held for the
        // call); `def` lives for the rest of the process; the GIL is held.
        let descr = unsafe { ffi::PyDescr_NewMethod(ty.as_type_ptr(), def) };
        // SAFETY: a new reference or NULL with an exception set.
        let descr = unsafe { Bound::from_owned_ptr_or_err(py, descr)? };
        // Replaces PyO3's descriptor in the type's dict (a heap type PyO3
        // leaves mutable; CPython invalidates its method caches).
        ty.setattr(
            m.name
                .to_str()
                .map_err(|e| PyTypeError::new_err(e.to_string()))?,
            descr,
        )?;
    }
    Ok(())
}

/// `Method.call(data)` as `METH_O`.
unsafe extern "C" fn method_call(
    slf: *mut ffi::PyObject,
    data: *mut ffi::PyObject,
) -> *mut ffi::PyObject {
    // SAFETY: CPython calls a method with the GIL held, `slf` and `data`
    // live (borrowed) objects for the call.
    unsafe { one_argument(slf, data, |m, py, data| m.call(py, data)) }
}

/// `Method.call_released(data)` as `METH_O`.
unsafe extern "C" fn method_call_released(
    slf: *mut ffi::PyObject,
    data: *mut ffi::PyObject,
) -> *mut ffi::PyObject {
    // SAFETY: as in `method_call`.
    unsafe { one_argument(slf, data, |m, py, data| m.call_released(py, data)) }
}

/// The body of a `METH_O` method of `Method` and of a method object's
/// vectorcall: `f` on the instance and the argument, its error restored as
/// the raised exception (NULL returned). `f` runs inside its own panic
/// boundary ([`crate::errors::guard`]); nothing else here can panic.
///
/// # Safety
/// The GIL is held; `slf` and `data` are live objects for the call (as
/// CPython calls a `METH_O` method or a vectorcall entry).
#[inline(always)]
unsafe fn one_argument(
    slf: *mut ffi::PyObject,
    data: *mut ffi::PyObject,
    f: impl for<'py> FnOnce(&Method, Python<'py>, &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyBytes>>,
) -> *mut ffi::PyObject {
    // SAFETY: CPython calls a method with the GIL held.
    let py = unsafe { Python::assume_attached() };
    // SAFETY: live objects for the call (the caller holds them).
    let (slf, data) = unsafe { (Borrowed::from_ptr(py, slf), Borrowed::from_ptr(py, data)) };
    // A `Method` (the method descriptor refuses another type's instance
    // before the call; a vectorcall entry is only in `Method` objects):
    // checked again here all the same.
    let result = match slf.cast::<Method>() {
        Ok(m) => f(m.get(), py, &data),
        Err(e) => Err(e.into()),
    };
    match result {
        Ok(v) => v.into_ptr(),
        Err(e) => {
            e.restore(py);
            std::ptr::null_mut()
        }
    }
}

/// The vectorcall entry of a method object: `method(data)`, one positional
/// argument, no keywords (the signature of `Method.__call__`).
unsafe extern "C" fn method_entry(
    callable: *mut ffi::PyObject,
    args: *const *mut ffi::PyObject,
    nargsf: usize,
    kwnames: *mut ffi::PyObject,
) -> *mut ffi::PyObject {
    // SAFETY: CPython calls a vectorcall entry with the GIL held.
    let py = unsafe { Python::assume_attached() };
    let nargs = nargsf & !ARGUMENTS_OFFSET;
    // SAFETY: the `kwnames` of a vectorcall entry, live for the call.
    let (_, nkw) = unsafe { keywords(py, kwnames) };
    if nkw != 0 {
        PyTypeError::new_err("Method.__call__() takes no keyword arguments").restore(py);
        return std::ptr::null_mut();
    }
    if nargs != 1 {
        PyTypeError::new_err(format!(
            "Method.__call__() takes exactly one argument ({nargs} given)"
        ))
        .restore(py);
        return std::ptr::null_mut();
    }
    // SAFETY: vectorcall passes `nargs` (here 1) live positional arguments;
    // the GIL is held and the callable is live for the call.
    unsafe { one_argument(callable, *args, |m, py, data| m.__call__(py, data)) }
}
