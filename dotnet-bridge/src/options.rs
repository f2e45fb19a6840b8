//! The C idiom of option structs, translated: a 0 field means "default"
//! unless the struct's `explicit_zero` mask names it (docs/C_ABI.md,
//! "Options"). Only the translation lives here; every value, 0 included, is
//! judged by the core's one rule for its option (`bhcore::options`).
#![forbid(unsafe_code)]

use bhcore::{Error, Result};

/// The fields of one options struct whose 0 the caller meant as 0.
pub(crate) struct ExplicitZero(u32);

impl ExplicitZero {
    /// Check `mask` against the struct's `fields` (`(BH_OPTION_X, name,
    /// value)`): a bit naming no field of this struct, or a field whose value
    /// is not 0, is `InvalidArgument` (the caller meant something this
    /// library would not do).
    pub(crate) fn new(what: &str, mask: u32, fields: &[(u32, &str, u64)]) -> Result<Self> {
        let known = fields.iter().fold(0u32, |m, &(bit, _, _)| m | (1 << bit));
        if mask & !known != 0 {
            let names: Vec<&str> = fields.iter().map(|&(_, n, _)| n).collect();
            return Err(Error::InvalidArgument(format!(
                "{what}.explicit_zero {mask:#x} has bits that name none of its fields ({}: \
                 bits 1 << BH_OPTION_X)",
                names.join(", ")
            )));
        }
        for &(bit, name, value) in fields {
            if mask & (1 << bit) != 0 && value != 0 {
                return Err(Error::InvalidArgument(format!(
                    "{what}.explicit_zero names {name}, whose value is {value}, not 0"
                )));
            }
        }
        Ok(ExplicitZero(mask))
    }

    /// Whether the field for `option` was given: non-zero, or 0 named in the mask.
    pub(crate) fn given(&self, option: u32, value: u64) -> bool {
        value != 0 || self.0 & (1 << option) != 0
    }
}
