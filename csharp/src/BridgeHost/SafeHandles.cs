// SafeHandle subclasses for the C ABI's opaque handles.
//
// The C ABI's handles are uint64_t ids (generation-checked, never pointers; 0 is never valid),
// each wrapped in its own one-field C struct (`typedef struct bh_host { uint64_t id; } bh_host;`)
// so a C compiler tells the types apart. Passed by value or through a pointer, such a struct is
// the same as a uint64_t to the calling conventions we run on (one integer register on x86-64
// SysV and AArch64), so the declarations here treat it as one. A SafeHandle stores an IntPtr. On a 64-bit process IntPtr is 64 bits wide, so an id round-trips
// through it unchanged: we store `(IntPtr)(long)id` and read `(ulong)(long)handle`, and when a
// SafeHandle parameter is marshalled to a native uint64_t the 8-byte IntPtr value is exactly that
// id (the x86-64 and AArch64 calling conventions pass both in the same 64-bit register).
// A 32-bit process would truncate ids, so Platform.EnsureSupported refuses to run there.
//
// Why SafeHandle: the P/Invoke marshaller add-refs a SafeHandle argument for the duration of the
// call and releases it after, so a Dispose (or the finalizer) racing with a call on another thread
// cannot free the native object under that call: ReleaseHandle runs when the last call returns.
// A call started after Dispose throws ObjectDisposedException before reaching native code.
// ReleaseHandle runs exactly once (on Dispose or, for an object never disposed, from the
// critical finalizer), and calls the one matching free of the contract.
using System;
using System.Runtime.InteropServices;

namespace BridgeHost
{
    /// <summary>Base of every handle: a C ABI uint64_t id held in SafeHandle's IntPtr.</summary>
    internal abstract class BridgeHostHandle : SafeHandle
    {
        protected BridgeHostHandle()
            : base(IntPtr.Zero, ownsHandle: true)
        {
        }

        public override bool IsInvalid => handle == IntPtr.Zero;

        /// <summary>The native id. Valid only while the handle is not released.</summary>
        internal ulong Id => unchecked((ulong)handle.ToInt64());

        /// <summary>
        /// During runtime shutdown (Mono finalizes reachable objects at exit) a close could wait for
        /// a native callback thread that is itself blocked entering the exiting runtime. Nothing is
        /// freed then: the process is ending and the OS reclaims everything. CoreCLR never
        /// finalizes at exit, so there this is always false.
        /// </summary>
        protected static bool Abandoning => Environment.HasShutdownStarted;
    }

    /// <summary>bh_host: released with bh_host_free (closes the host).</summary>
    internal sealed class HostHandle : BridgeHostHandle
    {
        public HostHandle()
        {
        }

        protected override bool ReleaseHandle()
        {
            return Abandoning || Native.bh_host_free(Id) == Native.BH_OK;
        }
    }

    /// <summary>bh_module: released with bh_module_free (closes the module).</summary>
    internal sealed class ModuleHandle : BridgeHostHandle
    {
        public ModuleHandle()
        {
        }

        protected override bool ReleaseHandle()
        {
            return Abandoning || Native.bh_module_free(Id) == Native.BH_OK;
        }
    }

    /// <summary>bh_method: released with bh_method_free.</summary>
    internal sealed class MethodHandle : BridgeHostHandle
    {
        public MethodHandle()
        {
        }

        protected override bool ReleaseHandle()
        {
            return Native.bh_method_free(Id) == Native.BH_OK;
        }
    }

    /// <summary>bh_buffer: released with bh_buffer_free.</summary>
    internal sealed class BufferHandle : BridgeHostHandle
    {
        public BufferHandle()
        {
        }

        /// <summary>Own a buffer id that native code just returned (bh_call_spill's spill).</summary>
        internal static BufferHandle Adopt(ulong id)
        {
            var b = new BufferHandle();
            b.SetHandle(new IntPtr(unchecked((long)id)));
            return b;
        }

        protected override bool ReleaseHandle()
        {
            return Native.bh_buffer_free(Id) == Native.BH_OK;
        }
    }

    /// <summary>bh_shared_buffer: released with bh_shared_buffer_free (unmaps the memory).</summary>
    internal sealed class SharedBufferHandle : BridgeHostHandle
    {
        public SharedBufferHandle()
        {
        }

        protected override bool ReleaseHandle()
        {
            return Native.bh_shared_buffer_free(Id) == Native.BH_OK;
        }
    }

    /// <summary>
    /// bh_subscription: released with bh_unsubscribe, which returns only once the callback is not
    /// running and will never run again; only then is the GCHandle that roots the subscriber freed.
    /// </summary>
    internal sealed class SubscriptionHandle : BridgeHostHandle
    {
        // GCHandle (as IntPtr) of the SubscriptionState passed as user_data; set once, right after
        // a successful bh_subscribe, before this handle is published to anyone.
        private IntPtr _state;

        public SubscriptionHandle()
        {
        }

        internal void AttachState(IntPtr gcHandle)
        {
            _state = gcHandle;
        }

        protected override bool ReleaseHandle()
        {
            if (Abandoning)
            {
                return true;
            }
            if (Native.bh_unsubscribe(Id) != Native.BH_OK)
            {
                // The native side did not confirm that the callback is finished: keep the GCHandle
                // (a leak) rather than free what a late callback would dereference.
                return false;
            }
            if (_state != IntPtr.Zero)
            {
                GCHandle.FromIntPtr(_state).Free();
                _state = IntPtr.Zero;
            }
            return true;
        }
    }

    internal static class Platform
    {
        /// <summary>Handles are 64-bit ids carried in an IntPtr: a 64-bit process is required.</summary>
        internal static void EnsureSupported()
        {
            if (IntPtr.Size != 8)
            {
                throw new PlatformNotSupportedException(
                    "bridgehost requires a 64-bit process (its handles are 64-bit ids carried in IntPtr).");
            }
        }
    }
}
