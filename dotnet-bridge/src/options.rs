//! The C idiom of option structs, translated: a 0 field means "default"
//! unless the struct's `explicit_zero` mask names it (docs/C_ABI.md,
//! "Options"). Only the translation lives here; every value, 0 included, is
//! judged by the core's one rule for its option (`bhcore::options`), which
//! [`option_rule`] names for each `BH_OPTION_*` id.
#![forbid(unsafe_code)]

use crate::types::{
    BH_OPTION_BREAKER_COOLDOWN_NS, BH_OPTION_BREAKER_FAILURES, BH_OPTION_BREAKER_WINDOW_NS,
    BH_OPTION_CALL_TIMEOUT_NS, BH_OPTION_CLOSE_GRACE_NS, BH_OPTION_CPU_LIMIT_NS,
    BH_OPTION_EVENT_QUEUE_BYTES, BH_OPTION_EVENT_QUEUE_CAPACITY, BH_OPTION_MAX_EVENT,
    BH_OPTION_MAX_INPUT, BH_OPTION_MAX_OUTPUT, BH_OPTION_MEMORY_LIMIT, BH_OPTION_OPEN_FILES,
    BH_OPTION_SANDBOX, BH_OPTION_SPARE_WORKERS, BH_OPTION_STARTUP_TIMEOUT_NS,
    BH_OPTION_SUBMIT_QUEUE_CAPACITY, BH_OPTION_SUBMIT_THREADS, BH_OPTION_WORKERS,
};
use bhcore::options::{Numeric, Span};
use bhcore::{Error, Result};

/// What a `BH_OPTION_*` id names: a count or size with the core's [`Numeric`] rule, a
/// duration (in nanoseconds) with its [`Span`] rule, or a C flag field (0 or 1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum OptionRule {
    /// A count or size.
    Count(Numeric),
    /// A duration, in nanoseconds.
    Duration(Span),
    /// A flag field (`uint32_t`, 0 or 1), by its field name.
    Flag(&'static str),
}

/// The rule of `BH_OPTION_*` id `option`, spelled out per id (the ids are the C ABI's, fixed
/// forever; the core's `Numeric::ALL` and `Span::ALL` may grow or reorder), or `None` for an id
/// this library does not know.
pub(crate) fn option_rule(option: u32) -> Option<OptionRule> {
    use OptionRule::{Count, Duration, Flag};
    Some(match option {
        BH_OPTION_SUBMIT_THREADS => Count(Numeric::SubmitThreads),
        BH_OPTION_SUBMIT_QUEUE_CAPACITY => Count(Numeric::SubmitQueueCapacity),
        BH_OPTION_EVENT_QUEUE_CAPACITY => Count(Numeric::EventQueueCapacity),
        BH_OPTION_EVENT_QUEUE_BYTES => Count(Numeric::EventQueueBytes),
        BH_OPTION_WORKERS => Count(Numeric::Workers),
        BH_OPTION_MEMORY_LIMIT => Count(Numeric::MemoryLimit),
        BH_OPTION_MAX_INPUT => Count(Numeric::MaxInput),
        BH_OPTION_MAX_OUTPUT => Count(Numeric::MaxOutput),
        BH_OPTION_MAX_EVENT => Count(Numeric::MaxEvent),
        BH_OPTION_CALL_TIMEOUT_NS => Duration(Span::CallTimeout),
        BH_OPTION_SPARE_WORKERS => Count(Numeric::SpareWorkers),
        BH_OPTION_BREAKER_FAILURES => Count(Numeric::BreakerFailures),
        BH_OPTION_BREAKER_WINDOW_NS => Duration(Span::BreakerWindow),
        BH_OPTION_BREAKER_COOLDOWN_NS => Duration(Span::BreakerCooldown),
        BH_OPTION_STARTUP_TIMEOUT_NS => Duration(Span::StartupTimeout),
        BH_OPTION_CLOSE_GRACE_NS => Duration(Span::CloseGrace),
        BH_OPTION_CPU_LIMIT_NS => Duration(Span::CpuLimit),
        BH_OPTION_OPEN_FILES => Count(Numeric::OpenFiles),
        BH_OPTION_SANDBOX => Flag("sandbox"),
        _ => return None,
    })
}

impl OptionRule {
    /// Check `value` by this rule: the core's for counts and durations (its range, its
    /// message), 0 or 1 for a flag (as [`flag`] reads the field).
    pub(crate) fn check(self, value: i64) -> Result<()> {
        match self {
            OptionRule::Count(n) => n.check(value.into()).map(drop),
            OptionRule::Duration(s) => s.from_nanos(value.into()).map(drop),
            OptionRule::Flag(name) => flag("bh_module_options", name, value.into()).map(drop),
        }
    }
}

/// A C flag field (`uint32_t` 0 or 1) as a `bool`; any other value is `InvalidArgument`.
pub(crate) fn flag(what: &str, name: &str, value: i128) -> Result<bool> {
    match value {
        0 => Ok(false),
        1 => Ok(true),
        other => Err(Error::InvalidArgument(format!(
            "{what}.{name} must be 0 or 1, not {other}"
        ))),
    }
}

/// A field of an options struct that an `explicit_zero` bit may name.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ZeroField {
    /// Its `BH_OPTION_*` id: the bit `1 << bit`.
    pub(crate) bit: u32,
    /// The id's name (`BH_OPTION_SANDBOX`).
    pub(crate) option: &'static str,
    /// Its name in the struct.
    pub(crate) name: &'static str,
    /// Its value, as read (0 when the caller's `struct_size` stops before it).
    pub(crate) value: u64,
    /// Where it ends in the struct: a caller's `struct_size` covers it when at least this.
    pub(crate) end: usize,
}

/// `zero_field!(o, bh_x_options, BH_OPTION_Y, field)`: the [`ZeroField`] of `o.field`.
macro_rules! zero_field {
    ($o:ident, $t:ty, $bit:expr, $field:ident) => {
        $crate::options::ZeroField {
            bit: $bit,
            option: stringify!($bit),
            name: stringify!($field),
            value: u64::from($o.$field),
            end: ::std::mem::offset_of!($t, $field) + ::std::mem::size_of_val(&$o.$field),
        }
    };
}
pub(crate) use zero_field;

/// The fields of one options struct whose 0 the caller meant as 0.
pub(crate) struct ExplicitZero(u32);

impl ExplicitZero {
    /// Check `mask` against the struct's `fields`, for a caller whose struct is `size` bytes
    /// (its `struct_size`): a bit naming no field of this struct, a field the caller's struct
    /// does not have (beyond `size`: a caller built before it cannot mean it, and its bytes
    /// were not read), or a field whose value is not 0, is `InvalidArgument` (the caller meant
    /// something this library would not do).
    pub(crate) fn new(what: &str, size: usize, mask: u32, fields: &[ZeroField]) -> Result<Self> {
        let known = fields.iter().fold(0u32, |m, f| m | (1 << f.bit));
        if mask & !known != 0 {
            let names: Vec<&str> = fields.iter().map(|f| f.name).collect();
            return Err(Error::InvalidArgument(format!(
                "{what}.explicit_zero {mask:#x} has bits that name none of its fields ({}: \
                 bits 1 << BH_OPTION_X)",
                names.join(", ")
            )));
        }
        for f in fields {
            if mask & (1 << f.bit) == 0 {
                continue;
            }
            if f.end > size {
                return Err(Error::InvalidArgument(format!(
                    "{what}.explicit_zero bit {} (1 << {}) names {}, which is beyond struct_size \
                     {size} (the field ends at byte {}): a struct from before the field cannot \
                     set its bit",
                    f.bit, f.option, f.name, f.end
                )));
            }
            if f.value != 0 {
                return Err(Error::InvalidArgument(format!(
                    "{what}.explicit_zero names {}, whose value is {}, not 0",
                    f.name, f.value
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
