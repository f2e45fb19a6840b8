//! The Python side of the interface crate's dynamic conversion: answers its
//! questions about Python objects ([`HostValue`] for [`Obj`]) and builds
//! Python objects on its request ([`Build`]). Translation only.
#![forbid(unsafe_code)]

use super::interface::Shape;
use super::{classes, PyInterface};
use crate::buffer::{BufferError, InputBuffer};
use crate::errors::{invalid, to_pyerr};
use bridgehost::interface::typed::dynamic::{self, DynError, Fields, HostValue};
use bridgehost::interface::typed::{Field, TypeDefKind, TypeIndex};
use bridgehost::Error;
use pyo3::exceptions::{PyOverflowError, PyTypeError};
use pyo3::prelude::*;
use pyo3::types::{
    PyBool, PyByteArray, PyBytes, PyDict, PyFloat, PyFrozenSet, PyInt, PyList, PySet, PyString,
    PyTuple,
};

/// A Python object, as the interface crate asks about it (with the record
/// field names of its interface).
pub(super) struct Obj<'a, 'py>(pub(super) Bound<'py, PyAny>, pub(super) &'a PyInterface);

impl<'a, 'py> Obj<'a, 'py> {
    fn is_wrapper(&self, cls: &Py<PyAny>) -> PyResult<bool> {
        self.0.is_instance(cls.bind(self.0.py()))
    }

    fn wrap(&self, o: Bound<'py, PyAny>) -> Self {
        Obj(o, self.1)
    }

    /// A record's fields read as attributes (Python names; a missing one is `None`).
    fn by_attribute(&self, names: &[Py<PyString>]) -> PyResult<Fields<Self>> {
        let py = self.0.py();
        let mut values = Vec::with_capacity(names.len());
        for n in names {
            values.push(self.0.getattr_opt(n.bind(py))?.map(|v| self.wrap(v)));
        }
        Ok(Fields {
            values,
            unknown: None,
        })
    }
}

impl<'a, 'py> HostValue for Obj<'a, 'py> {
    type Error = PyErr;

    fn describe(&self) -> String {
        let mut r = self
            .0
            .repr()
            .map(|r| r.to_string_lossy().into_owned())
            .unwrap_or_else(|_| "<unrepresentable>".into());
        if r.chars().count() > 60 {
            r = r.chars().take(57).collect::<String>() + "...";
        }
        let t = self
            .0
            .get_type()
            .name()
            .map(|n| n.to_string())
            .unwrap_or_default();
        format!("{r} ({t})")
    }

    fn is_none(&self) -> bool {
        self.0.is_none()
    }

    fn as_bool(&self) -> PyResult<Option<bool>> {
        Ok(self.0.cast::<PyBool>().ok().map(|b| b.is_true()))
    }

    fn as_int(&self) -> PyResult<Option<i128>> {
        if self.0.is_instance_of::<PyBool>() || !self.0.is_instance_of::<PyInt>() {
            return Ok(None);
        }
        if let Ok(n) = self.0.extract::<i64>() {
            return Ok(Some(i128::from(n)));
        }
        match self.0.extract::<i128>() {
            Ok(n) => Ok(Some(n)),
            // Beyond i128: out of range of every WIT integer; clamp by sign.
            Err(_) => Ok(Some(if self.0.lt(0)? { i128::MIN } else { i128::MAX })),
        }
    }

    fn as_float(&self) -> PyResult<Option<Result<f64, String>>> {
        if let Ok(f) = self.0.cast::<PyFloat>() {
            return Ok(Some(Ok(f.value())));
        }
        if self.0.is_instance_of::<PyBool>() || !self.0.is_instance_of::<PyInt>() {
            return Ok(None);
        }
        // int -> float as Python's float(n); beyond f64 that is an
        // OverflowError, a value error of the argument here.
        let py = self.0.py();
        match self.0.extract::<f64>() {
            Ok(x) => Ok(Some(Ok(x))),
            Err(e) if e.is_instance_of::<PyOverflowError>(py) => {
                Ok(Some(Err(e.value(py).to_string())))
            }
            Err(e) => Err(e),
        }
    }

    fn as_str(&self) -> PyResult<Option<Result<String, String>>> {
        let Ok(s) = self.0.cast::<PyString>() else {
            return Ok(None);
        };
        Ok(Some(match s.to_cow() {
            Ok(c) => Ok(c.into_owned()),
            Err(e) => Err(e.value(self.0.py()).to_string()),
        }))
    }

    fn as_bytes(&self) -> PyResult<Option<Result<Vec<u8>, String>>> {
        if let Ok(b) = self.0.cast::<PyBytes>() {
            return Ok(Some(Ok(b.as_bytes().to_vec())));
        }
        if let Ok(b) = self.0.cast::<PyByteArray>() {
            return Ok(Some(Ok(b.to_vec())));
        }
        if self.0.is_instance_of::<PyList>()
            || self.0.is_instance_of::<PyTuple>()
            || self.0.is_instance_of::<PyString>()
            || self.0.is_instance_of::<PyInt>()
            || self.0.is_none()
        {
            return Ok(None);
        }
        // Any other buffer exporter (memoryview, array.array, numpy).
        let py = self.0.py();
        match InputBuffer::new(py).export_owned(&self.0, usize::MAX) {
            Ok(v) => Ok(Some(Ok(v))),
            Err(BufferError::Export(e)) if e.is_instance_of::<PyTypeError>(py) => Ok(None),
            Err(BufferError::Export(e)) => Err(e),
            // A closed SharedBuffer: the closed kind, as for every other use of it
            // (ClosedError), not a value error of the argument.
            Err(BufferError::Closed(e)) => Err(crate::errors::to_pyerr(py, &e)),
            // A buffer whose bytes cannot be taken: a value error of the
            // argument (named with its parameter by the caller).
            Err(e) => Ok(Some(Err(crate::method::buffer_error(py, "it", e)
                .value(py)
                .to_string()))),
        }
    }

    fn as_seq(&self) -> PyResult<Option<Vec<Self>>> {
        if let Ok(l) = self.0.cast::<PyList>() {
            return Ok(Some(l.iter().map(|o| self.wrap(o)).collect()));
        }
        if let Ok(t) = self.0.cast::<PyTuple>() {
            return Ok(Some(t.iter().map(|o| self.wrap(o)).collect()));
        }
        Ok(None)
    }

    fn fields(&self, ty: TypeIndex, _fields: &[Field]) -> PyResult<Option<Fields<Self>>> {
        let py = self.0.py();
        let o = &self.0;
        // A tuple that is an instance of a class bound to this record
        // (``Module.typed(records=...)``: a NamedTuple) is read by attribute, not
        // refused as a sequence; everything else as below (dicts as mappings).
        if let Some(Some((cls, names, true))) = self.1.records.get(ty) {
            if o.is_instance_of::<PyTuple>()
                && !o.is_exact_instance_of::<PyTuple>()
                && o.is_instance(cls.bind(py))?
            {
                return self.by_attribute(names).map(Some);
            }
        }
        if o.is_none()
            || o.is_instance_of::<PyBool>()
            || o.is_instance_of::<PyInt>()
            || o.is_instance_of::<PyFloat>()
            || o.is_instance_of::<PyString>()
            || o.is_instance_of::<PyBytes>()
            || o.is_instance_of::<PyByteArray>()
            || o.is_instance_of::<PyList>()
            || o.is_instance_of::<PyTuple>()
        {
            return Ok(None);
        }
        let Some(Some((_, names, _))) = self.1.records.get(ty) else {
            return Ok(None);
        };
        if let Ok(d) = o.cast::<PyDict>() {
            let mut values = Vec::with_capacity(names.len());
            for n in names {
                values.push(d.get_item(n.bind(py))?.map(|v| self.wrap(v)));
            }
            let mut unknown = None;
            if d.len() > values.iter().filter(|v| v.is_some()).count() {
                for k in d.keys() {
                    let mut known = false;
                    for n in names {
                        if k.eq(n.bind(py))? {
                            known = true;
                            break;
                        }
                    }
                    if !known {
                        unknown = Some(match k.cast::<PyString>() {
                            Ok(s) => s.to_string_lossy().into_owned(),
                            Err(_) => k.repr()?.to_string_lossy().into_owned(),
                        });
                        break;
                    }
                }
            }
            return Ok(Some(Fields { values, unknown }));
        }
        let c = classes(py)?;
        if self.is_wrapper(&c.some)? || self.is_wrapper(&c.ok)? || self.is_wrapper(&c.err)? {
            return Ok(None);
        }
        self.by_attribute(names).map(Some)
    }

    fn as_some(&self) -> PyResult<Option<Self>> {
        let c = classes(self.0.py())?;
        if self.is_wrapper(&c.some)? {
            return Ok(Some(self.wrap(self.0.getattr("value")?)));
        }
        Ok(None)
    }

    fn as_result(&self) -> PyResult<Option<(bool, Self)>> {
        let c = classes(self.0.py())?;
        if self.is_wrapper(&c.ok)? {
            return Ok(Some((true, self.wrap(self.0.getattr("value")?))));
        }
        if self.is_wrapper(&c.err)? {
            return Ok(Some((false, self.wrap(self.0.getattr("value")?))));
        }
        Ok(None)
    }

    fn as_variant(&self) -> PyResult<Option<(String, Self)>> {
        let py = self.0.py();
        if let Ok(s) = self.0.cast::<PyString>() {
            return Ok(Some((
                s.to_cow()?.into_owned(),
                self.wrap(py.None().into_bound(py)),
            )));
        }
        let c = classes(py)?;
        if self.is_wrapper(&c.variant)? {
            let case = self.0.getattr("case")?;
            let case: String = case
                .cast::<PyString>()
                .map_err(|_| PyTypeError::new_err("Variant.case must be a str"))?
                .to_cow()?
                .into_owned();
            return Ok(Some((case, self.wrap(self.0.getattr("value")?))));
        }
        Ok(None)
    }

    fn as_names(&self) -> PyResult<Option<Vec<String>>> {
        let o = &self.0;
        if !(o.is_instance_of::<PySet>()
            || o.is_instance_of::<PyFrozenSet>()
            || o.is_instance_of::<PyList>()
            || o.is_instance_of::<PyTuple>())
        {
            return Ok(None);
        }
        let mut out = Vec::new();
        for item in o.try_iter()? {
            let item = item?;
            match item.cast::<PyString>() {
                Ok(s) => out.push(s.to_cow()?.into_owned()),
                Err(_) => return Ok(None),
            }
        }
        Ok(Some(out))
    }
}

/// Builds Python objects for the interface crate.
pub(super) struct Build<'a, 'py> {
    pub(super) py: Python<'py>,
    pub(super) types: &'a PyInterface,
}

impl Build<'_, '_> {
    /// What the caller bound to type `ty`, if anything.
    fn shape(&self, ty: TypeIndex) -> Option<&Shape> {
        self.types.shapes.get(ty).and_then(Option::as_ref)
    }

    /// The index of case `case` of enum or variant `ty`.
    fn case_index(&self, ty: TypeIndex, case: &str) -> Option<usize> {
        match &self.types.iface.types.get(ty)?.kind {
            TypeDefKind::Variant(cases) => cases.iter().position(|c| c.name == case),
            TypeDefKind::Enum(cases) => cases.iter().position(|c| c == case),
            _ => None,
        }
    }

    /// A value the decoder gave that its type does not have (a bug).
    fn not_a(&self, ty: TypeIndex, case: &str) -> PyErr {
        to_pyerr(
            self.py,
            &Error::Internal(format!("type {ty} has no case {case:?}")),
        )
    }
}

impl<'py> dynamic::Builder for Build<'_, 'py> {
    type Out = Bound<'py, PyAny>;
    type Error = PyErr;

    fn bool(&mut self, v: bool) -> PyResult<Self::Out> {
        Ok(PyBool::new(self.py, v).to_owned().into_any())
    }
    fn int(&mut self, v: i64) -> PyResult<Self::Out> {
        Ok(v.into_pyobject(self.py)?.into_any())
    }
    fn uint(&mut self, v: u64) -> PyResult<Self::Out> {
        Ok(v.into_pyobject(self.py)?.into_any())
    }
    fn float(&mut self, v: f64) -> PyResult<Self::Out> {
        Ok(PyFloat::new(self.py, v).into_any())
    }
    fn char(&mut self, v: char) -> PyResult<Self::Out> {
        let mut b = [0u8; 4];
        Ok(PyString::new(self.py, v.encode_utf8(&mut b)).into_any())
    }
    fn string(&mut self, v: &str) -> PyResult<Self::Out> {
        Ok(PyString::new(self.py, v).into_any())
    }
    fn bytes(&mut self, v: &[u8]) -> PyResult<Self::Out> {
        Ok(PyBytes::new(self.py, v).into_any())
    }
    fn list(&mut self, items: Vec<Self::Out>) -> PyResult<Self::Out> {
        Ok(PyList::new(self.py, items)?.into_any())
    }
    fn none(&mut self) -> PyResult<Self::Out> {
        Ok(self.py.None().into_bound(self.py))
    }
    fn some(&mut self, v: Self::Out) -> PyResult<Self::Out> {
        classes(self.py)?.some.bind(self.py).call1((v,))
    }
    fn result(&mut self, ok: bool, v: Self::Out) -> PyResult<Self::Out> {
        let c = classes(self.py)?;
        if ok { &c.ok } else { &c.err }.bind(self.py).call1((v,))
    }
    fn tuple(&mut self, items: Vec<Self::Out>) -> PyResult<Self::Out> {
        Ok(PyTuple::new(self.py, items)?.into_any())
    }
    fn record(&mut self, ty: TypeIndex, fields: Vec<Self::Out>) -> PyResult<Self::Out> {
        match self.types.records.get(ty) {
            Some(Some((cls, _, _))) => cls.bind(self.py).call1(PyTuple::new(self.py, fields)?),
            _ => Err(to_pyerr(
                self.py,
                &Error::Internal(format!("type {ty} is not a record")),
            )),
        }
    }
    fn variant(
        &mut self,
        ty: TypeIndex,
        case: &str,
        payload: Option<Self::Out>,
    ) -> PyResult<Self::Out> {
        // A bound variant (``Module.typed(variants=...)``): its case's class.
        if let Some(Shape::Variant(by_case)) = self.shape(ty) {
            let cls = self.case_index(ty, case).and_then(|k| by_case.get(k));
            let Some(cls) = cls else {
                return Err(self.not_a(ty, case));
            };
            let cls = cls.bind(self.py);
            return match payload {
                Some(p) => cls.call1((p,)),
                None => cls.call0(),
            };
        }
        let p = match payload {
            Some(p) => p,
            None => self.none()?,
        };
        classes(self.py)?
            .variant
            .bind(self.py)
            .call1((PyString::new(self.py, case), p))
    }
    fn enum_case(&mut self, ty: TypeIndex, case: &str) -> PyResult<Self::Out> {
        // A bound enum (``Module.typed(enums=...)``): the case's object.
        if let Some(Shape::Enum(members)) = self.shape(ty) {
            return match self.case_index(ty, case).and_then(|k| members.get(k)) {
                Some(m) => Ok(m.bind(self.py).clone()),
                None => Err(self.not_a(ty, case)),
            };
        }
        Ok(PyString::new(self.py, case).into_any())
    }
    fn flags(&mut self, ty: TypeIndex, names: Vec<&str>) -> PyResult<Self::Out> {
        // Bound flags (``Module.typed(flags=...)``): the class called with the bits.
        if let Some(Shape::Flags { cls, empty, single }) = self.shape(ty) {
            let TypeDefKind::Flags(all) = &self.types.iface.typedef(ty).kind else {
                return Err(self.not_a(ty, "flags"));
            };
            let mut bits = 0u64;
            let mut last = 0;
            for n in &names {
                let Some(k) = all.iter().position(|f| f == n) else {
                    return Err(self.not_a(ty, n));
                };
                bits |= 1 << k;
                last = k;
            }
            return match names.len() {
                0 => Ok(empty.bind(self.py).clone()),
                1 => Ok(single[last].bind(self.py).clone()),
                _ => cls.bind(self.py).call1((bits,)),
            };
        }
        Ok(PyFrozenSet::new(self.py, names)?.into_any())
    }
    fn handle(&mut self, v: u64) -> PyResult<Self::Out> {
        self.uint(v)
    }
}

/// A lowering failure: a wrong shape is `TypeError`, a bad value
/// `InvalidArgumentError` (a `ValueError`), the object's own exception as is.
pub(super) fn lower_err(py: Python<'_>, e: DynError<PyErr>) -> PyErr {
    match e {
        DynError::Host(e) => e,
        DynError::Type(m) => PyTypeError::new_err(m),
        DynError::Value(m) => invalid(py, m),
    }
}

/// A lifting failure (the decoder only yields values of the type: a bug).
pub(super) fn lift_err(py: Python<'_>, e: DynError<PyErr>) -> PyErr {
    match e {
        DynError::Host(e) => e,
        DynError::Type(m) | DynError::Value(m) => {
            to_pyerr(py, &Error::Internal(format!("typed result: {m}")))
        }
    }
}
