//! Host → worker messages on the control socket (`INIT`, `MAP`): encoded by
//! the host, decoded by the worker.

use super::*;

/// Start-up parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Init {
    pub(crate) host_pid: i32,
    pub(crate) sandbox: bool,
    /// Load and validate the module, send HELLO, create no instance (run no
    /// `init`), and wait for SHUTDOWN: the "validate" request.
    pub(crate) validate_only: bool,
    /// RLIMIT_AS (0: unlimited).
    pub(crate) memory_limit: u64,
    /// RLIMIT_CPU soft limit, seconds (0: unlimited).
    pub(crate) cpu_limit_secs: u64,
    pub(crate) open_files: u64,
    pub(crate) max_event: u64,
    pub(crate) config_len: u64,
    pub(crate) path: String,
}

impl Init {
    pub(crate) fn encode(&self) -> Vec<u8> {
        let mut w = Writer::default();
        w.u8(MSG_INIT)
            .u8(FLAG_FIRST | FLAG_LAST)
            .u16(0)
            .u32(0)
            .u32(PROTOCOL_VERSION)
            .i32(self.host_pid)
            .u32(u32::from(self.sandbox) | (u32::from(self.validate_only) << 1))
            .u64(self.memory_limit)
            .u64(self.cpu_limit_secs)
            .u64(self.open_files)
            .u64(self.max_event)
            .u64(self.config_len)
            .str16(&self.path, 4096);
        w.buf
    }

    pub(crate) fn decode(packet: &[u8]) -> PResult<Init> {
        let mut r = Reader::new(packet);
        if r.u8("kind")? != MSG_INIT {
            return Err(ProtoError::new("expected INIT"));
        }
        r.bytes(7, "header")?;
        let version = r.u32("version")?;
        if version != PROTOCOL_VERSION {
            return Err(ProtoError::new(format!(
                "protocol version {version}, worker speaks {PROTOCOL_VERSION}"
            )));
        }
        let host_pid = r.i32("host pid")?;
        let flags = r.u32("flags")?;
        if flags & !3 != 0 {
            return Err(ProtoError::new(format!("unknown INIT flags 0x{flags:x}")));
        }
        let init = Init {
            host_pid,
            sandbox: flags & 1 != 0,
            validate_only: flags & 2 != 0,
            memory_limit: r.u64("memory limit")?,
            cpu_limit_secs: r.u64("cpu limit")?,
            open_files: r.u64("open files")?,
            max_event: r.u64("max event")?,
            config_len: r.u64("config len")?,
            path: r.str16(4096, "path")?.to_string(),
        };
        Ok(init)
    }
}

/// Which shared region a `MAP` is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RegionKind {
    Input = 0,
    Output = 1,
    /// A caller's `SharedBuffer`: read-only in the worker.
    Caller = 2,
}

/// A shared region announcement.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct MapMsg {
    pub(crate) kind: RegionKind,
    pub(crate) gen: u32,
    pub(crate) size: u64,
    /// Where in the file the mapping starts (a multiple of the page size;
    /// 0 but for a window of a caller's buffer).
    pub(crate) offset: u64,
}

impl MapMsg {
    pub(crate) fn encode(&self) -> Vec<u8> {
        let mut w = Writer::default();
        w.u8(MSG_MAP)
            .u8(FLAG_FIRST | FLAG_LAST)
            .u16(0)
            .u32(0)
            .u32(self.kind as u32)
            .u32(self.gen)
            .u64(self.size)
            .u64(self.offset);
        w.buf
    }

    pub(crate) fn decode(packet: &[u8]) -> PResult<MapMsg> {
        let mut r = Reader::new(packet);
        if r.u8("kind")? != MSG_MAP {
            return Err(ProtoError::new("expected MAP"));
        }
        r.bytes(7, "header")?;
        let kind = match r.u32("region kind")? {
            0 => RegionKind::Input,
            1 => RegionKind::Output,
            2 => RegionKind::Caller,
            k => return Err(ProtoError::new(format!("region kind {k}"))),
        };
        Ok(MapMsg {
            kind,
            gen: r.u32("gen")?,
            size: r.u64("size")?,
            offset: r.u64("offset")?,
        })
    }
}
