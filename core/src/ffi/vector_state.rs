//! The x86-64 vector register state at a foreign entry (catalog: the caller
//! leaves the machine in a state the callee's code pays for).
//!
//! The psABI expects code that wrote the upper halves of the YMM/ZMM
//! registers to clear them (`vzeroupper`) before it calls code compiled for
//! SSE, and C compilers do so. JIT compilers do not always: CoreCLR 8's JIT
//! zeroes a 32-byte struct local with `vxorps ymm`/`vmovdqu ymm` and then
//! calls a P/Invoke with the upper state still dirty. Every legacy-SSE
//! instruction that follows (ours and the module's: this library and the
//! modules are built for baseline x86-64) then carries a false dependency on
//! the whole register and a merge, and the call got 4-5 times slower: a C
//! loop of `bh_call_scalar` measured 56 ns per call clean and 280-300 ns
//! after a `vxorps ymm1` per iteration, and CoreCLR's typed `add` 225 ns
//! (bench `dotnet.coreclr.typed_add`) against the same loop's 56 ns.
//!
//! [`clear_upper`] is the `vzeroupper` the caller should have run; the
//! foreign entries (the C ABI's and the JNI bridge's) run it first. It is a
//! single cheap instruction on every CPU with AVX and nothing without AVX.
//! It changes no value the caller may rely on: the upper halves of the
//! vector registers are not preserved across calls by any x86-64 calling
//! convention (SysV has no callee-saved vector register; Windows preserves
//! only the low 128 bits of XMM6-15, which `vzeroupper` keeps).

/// Clear the upper halves of YMM0-15 (`vzeroupper`) when the CPU has AVX.
#[inline(always)]
pub fn clear_upper() {
    // Miri runs no inline assembly (and its CPU has no AVX).
    #[cfg(all(target_arch = "x86_64", not(miri)))]
    {
        // std caches the CPUID answer: one load and a bit test per call.
        if std::arch::is_x86_feature_detected!("avx") {
            // SAFETY: the CPU has AVX (checked above), so `vzeroupper` is a
            // valid instruction; it touches no memory, no stack and no flags,
            // and changes only bits 128 and up of vector registers 0-15,
            // which are declared clobbered here (the compiler keeps nothing
            // it needs in them across this statement). zmm16-31 are
            // untouched.
            unsafe {
                std::arch::asm!(
                    "vzeroupper",
                    out("xmm0") _, out("xmm1") _, out("xmm2") _, out("xmm3") _,
                    out("xmm4") _, out("xmm5") _, out("xmm6") _, out("xmm7") _,
                    out("xmm8") _, out("xmm9") _, out("xmm10") _, out("xmm11") _,
                    out("xmm12") _, out("xmm13") _, out("xmm14") _, out("xmm15") _,
                    options(nomem, nostack, preserves_flags),
                );
            }
        }
    }
}

/// Test support: dirty the upper vector state and read whether it is dirty.
#[cfg(all(target_arch = "x86_64", any(test, feature = "test-support")))]
#[doc(hidden)]
pub mod probe {
    /// Whether this CPU can show the state: AVX, and XGETBV with ECX = 1
    /// (XINUSE, CPUID leaf 0xD sub-leaf 1, EAX bit 2).
    pub fn available() -> bool {
        if !std::arch::is_x86_feature_detected!("avx")
            || !std::arch::is_x86_feature_detected!("xsave")
        {
            return false;
        }
        // `__cpuid_count` is a safe function (every x86-64 CPU has CPUID).
        let leaf = std::arch::x86_64::__cpuid_count(0xD, 1);
        leaf.eax & (1 << 2) != 0
    }

    /// Write all-ones into YMM1 (a 256-bit AVX instruction): the upper state
    /// becomes dirty. Only after [`available`] returned true.
    pub fn dirty() {
        assert!(available());
        // SAFETY: the CPU has AVX (asserted); the instruction writes only
        // ymm1, declared clobbered, and touches no memory, stack or flags.
        unsafe {
            std::arch::asm!(
                "vcmptrueps ymm1, ymm1, ymm1",
                out("xmm1") _,
                options(nomem, nostack, preserves_flags),
            );
        }
    }

    /// True when the upper halves of YMM0-15 are not in their initial state
    /// (XINUSE bit 2). Only after [`available`] returned true.
    pub fn is_dirty() -> bool {
        assert!(available());
        let lo: u32;
        // SAFETY: XGETBV with ECX = 1 is supported (asserted); it writes
        // only EAX and EDX and touches no memory, stack or flags.
        unsafe {
            std::arch::asm!(
                "xgetbv",
                in("ecx") 1u32,
                out("eax") lo,
                out("edx") _,
                options(nomem, nostack, preserves_flags),
            );
        }
        lo & (1 << 2) != 0
    }

    /// Dirty the state, run `f`, and say whether the state is clean after
    /// it; `None` where this CPU cannot show the state (see [`available`]).
    pub fn clean_after(f: impl FnOnce()) -> Option<bool> {
        if !available() {
            return None;
        }
        dirty();
        assert!(
            is_dirty(),
            "precondition: a 256-bit write dirties the state"
        );
        f();
        Some(!is_dirty())
    }
}

#[cfg(all(test, target_arch = "x86_64"))]
mod tests {
    use super::*;

    #[test]
    #[cfg_attr(miri, ignore = "inline assembly")]
    fn clear_upper_leaves_the_upper_vector_state_clean() {
        match probe::clean_after(clear_upper) {
            Some(clean) => assert!(clean, "vzeroupper cleared it"),
            None => eprintln!("skipped: no AVX or no XGETBV(1) on this CPU"),
        }
    }
}
