//! The core's unsafe boundary: everything that touches module memory,
//! function pointers or the dynamic linker, and the three concurrency cells
//! the call path is built on (`gate`, `hazard`, `slots`: shared access with
//! no lock, reclaimed only when no reader can hold it). Nothing outside this
//! module uses `unsafe` (the rest of the crate is `#![forbid(unsafe_code)]`
//! per file).
#![allow(unsafe_code)]

pub(crate) mod callbacks;
pub(crate) mod gate;
pub(crate) mod hazard;
pub(crate) mod interface;
pub(crate) mod loader;
pub(crate) mod probe;
pub(crate) mod self_path;
pub(crate) mod slots;
pub(crate) mod vector_state;
