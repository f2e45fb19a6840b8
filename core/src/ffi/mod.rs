//! The core's unsafe boundary: everything that touches module memory,
//! function pointers or the dynamic linker. Nothing outside this module uses
//! `unsafe` (the rest of the crate is `#![forbid(unsafe_code)]` per file).
#![allow(unsafe_code)]

pub(crate) mod callbacks;
pub(crate) mod gate;
pub(crate) mod loader;
pub(crate) mod locate;
