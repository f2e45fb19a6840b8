//! Process isolation: modules run in sandboxed, supervised worker processes.
#![forbid(unsafe_code)]

use crate::counters::Counters;
use crate::error::{Error, Result};
use crate::events::EventHub;
use crate::ffi::loader::ModuleInfo;
use crate::module::Backend;
use crate::options::ModuleOptions;
use std::path::Path;
use std::sync::{Arc, Weak};

/// Open `path` in worker processes.
pub(crate) fn open(
    path: &Path,
    options: &ModuleOptions,
    module_id: u64,
    hub: Weak<EventHub>,
    counters: Arc<Counters>,
) -> Result<(ModuleInfo, Box<dyn Backend>)> {
    let _ = (path, options, module_id, hub, counters);
    Err(Error::Unavailable(
        "process isolation is not built yet (issue #3)".into(),
    ))
}
