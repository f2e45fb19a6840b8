//! Names and numbers of the signals and errnos the host uses to classify a
//! worker's death.

/// The name of a signal (`"SIGSEGV"`), or `"signal N"`.
pub(crate) fn signal_name(sig: i32) -> String {
    let name = match sig {
        libc::SIGHUP => "SIGHUP",
        libc::SIGINT => "SIGINT",
        libc::SIGQUIT => "SIGQUIT",
        libc::SIGILL => "SIGILL",
        libc::SIGTRAP => "SIGTRAP",
        libc::SIGABRT => "SIGABRT",
        libc::SIGBUS => "SIGBUS",
        libc::SIGFPE => "SIGFPE",
        libc::SIGKILL => "SIGKILL",
        libc::SIGUSR1 => "SIGUSR1",
        libc::SIGSEGV => "SIGSEGV",
        libc::SIGUSR2 => "SIGUSR2",
        libc::SIGPIPE => "SIGPIPE",
        libc::SIGALRM => "SIGALRM",
        libc::SIGTERM => "SIGTERM",
        libc::SIGXCPU => "SIGXCPU",
        libc::SIGXFSZ => "SIGXFSZ",
        libc::SIGSYS => "SIGSYS",
        _ => return format!("signal {sig}"),
    };
    name.to_string()
}

/// `strsignal`-like description for the common crash signals.
pub(crate) fn signal_description(sig: i32) -> &'static str {
    match sig {
        libc::SIGSEGV => "segmentation fault",
        libc::SIGBUS => "bus error",
        libc::SIGILL => "illegal instruction",
        libc::SIGFPE => "arithmetic exception",
        libc::SIGABRT => "aborted",
        libc::SIGTRAP => "trace/breakpoint trap",
        libc::SIGSYS => "bad system call",
        libc::SIGKILL => "killed",
        libc::SIGTERM => "terminated",
        libc::SIGXCPU => "CPU time limit exceeded",
        libc::SIGXFSZ => "file size limit exceeded",
        libc::SIGPIPE => "broken pipe",
        _ => "signal",
    }
}

/// Signal numbers used when classifying a death.
pub(crate) const SIGKILL: i32 = libc::SIGKILL;
/// See [`SIGKILL`].
pub(crate) const SIGXCPU: i32 = libc::SIGXCPU;
/// See [`SIGKILL`].
pub(crate) const SIGXFSZ: i32 = libc::SIGXFSZ;

/// `ENOMEM`, for classifying a crash as memory exhaustion.
pub(crate) const ENOMEM: i32 = libc::ENOMEM;
