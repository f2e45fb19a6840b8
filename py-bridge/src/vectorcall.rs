//! Typed functions called through vectorcall (PEP 590; boundary module:
//! `unsafe`).
//!
//! A PyO3 class's `__call__` is its type's `tp_call`: every call builds a
//! tuple of the arguments (and a dict of keywords) and goes through
//! CPython's generic call path, ~40 ns per call on CPython 3.10+ where a
//! vectorcall entry takes the caller's argument array as it is. PyO3 0.30
//! has no vectorcall for classes, so the objects a typed view hands out are
//! instances of a subclass of `TypedFunction` made here with the stable ABI
//! (`PyType_FromSpecWithBases`): the same name (`bridgehost.typed.TypedFunction`),
//! the same methods and getters (inherited), plus one pointer after PyO3's
//! layout, the entry ([`entry`]), which the type announces with
//! `Py_TPFLAGS_HAVE_VECTORCALL` and the `__vectorcalloffset__` member (both
//! honoured by `PyType_FromSpecWithBases` since CPython 3.9). A call with a
//! tuple (`f(*t)` through `PyObject_Call`, `functools.partial`...) still
//! takes the inherited `tp_call`; either way the same code decides
//! ([`TypedFunction::call_vector`] and `TypedFunction::call`).
//!
//! Instances are created by calling the subclass, which runs PyO3's
//! `tp_new` (the object is allocated with the subclass's size and PyO3's part
//! initialized as usual) with the value to move in left in a thread-local
//! slot by [`new_function`]; then the entry is written after PyO3's part.
#![allow(unsafe_code)]

use crate::typed::TypedFunction;
use pyo3::exceptions::PyTypeError;
use pyo3::ffi;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyDict, PyTuple, PyType};
use pyo3::{Borrowed, PyTypeInfo};
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
    static PENDING: RefCell<Option<TypedFunction>> = const { RefCell::new(None) };
}

/// `TypedFunction.__new__`: the value [`new_function`] left for it; from
/// Python (nothing left) the `TypeError` of a class without a constructor.
pub(crate) fn take_pending() -> PyResult<TypedFunction> {
    PENDING
        .with(|p| p.borrow_mut().take())
        .ok_or_else(|| PyTypeError::new_err("No constructor defined for TypedFunction"))
}

/// The subclass and the offset of its entry pointer.
struct Subclass {
    ty: Py<PyType>,
    offset: usize,
}

static SUBCLASS: PyOnceLock<Subclass> = PyOnceLock::new();

fn subclass(py: Python<'_>) -> PyResult<&Subclass> {
    SUBCLASS.get_or_try_init(py, || {
        let base = TypedFunction::type_object(py);
        let base_size: usize = base.getattr("__basicsize__")?.extract()?;
        // The entry pointer, after PyO3's part (aligned for a pointer).
        let align = std::mem::align_of::<ffi::vectorcallfunc>();
        let offset = base_size.div_ceil(align) * align;
        let basicsize = c_int::try_from(offset + std::mem::size_of::<ffi::vectorcallfunc>())
            .map_err(|_| PyTypeError::new_err("TypedFunction: object too large"))?;
        let offset_ssize = ffi::Py_ssize_t::try_from(offset)
            .map_err(|_| PyTypeError::new_err("TypedFunction: object too large"))?;
        // `PyType_FromSpecWithBases` keeps pointers to the name and copies
        // the rest (the members' definitions into the type's descriptors,
        // the doc string): the name is static, the members are leaked once
        // (this runs once per process).
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
            name: c"bridgehost.typed.TypedFunction".as_ptr(),
            basicsize,
            itemsize: 0,
            // Not a base type: the entry pointer is the last field.
            flags: (ffi::Py_TPFLAGS_DEFAULT | HAVE_VECTORCALL) as c_uint,
            slots: slots.as_mut_ptr(),
        }));
        let bases = PyTuple::new(py, [base.as_any()])?;
        // SAFETY: the spec, its slots, members and strings live for the
        // rest of the process; `bases` is a tuple of one type (PyO3's
        // `TypedFunction`, a base type); the GIL is held.
        let ty = unsafe { ffi::PyType_FromSpecWithBases(spec, bases.as_ptr()) };
        // SAFETY: a new reference or NULL with an exception set.
        let ty = unsafe { Bound::from_owned_ptr_or_err(py, ty)? };
        Ok(Subclass {
            ty: ty.cast_into::<PyType>()?.unbind(),
            offset,
        })
    })
}

/// A typed function object as the view hands it out: `f` in an instance of
/// the vectorcall subclass of `TypedFunction`.
pub(crate) fn new_function(py: Python<'_>, f: TypedFunction) -> PyResult<Py<TypedFunction>> {
    let sub = subclass(py)?;
    PENDING.with(|p| *p.borrow_mut() = Some(f));
    let obj = sub.ty.bind(py).call0();
    // Not taken if the call failed before `__new__` ran.
    PENDING.with(|p| p.borrow_mut().take());
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
    Ok(obj.cast_into::<TypedFunction>()?.unbind())
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
    // SAFETY: `kwnames` is NULL or a tuple of strings, live for the call.
    let kwnames = unsafe { Borrowed::from_ptr_or_opt(py, kwnames) };
    let nkw = kwnames.as_ref().map_or(0, |k| {
        // SAFETY: the `kwnames` of a vectorcall is a tuple.
        unsafe { k.cast_unchecked::<PyTuple>() }.len()
    });
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
