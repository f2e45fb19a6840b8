// The run-time half of WIT resources in generated C# bindings (docs/TYPED.md, "Resources
// (handles)"): the owned handle of one module-side object and its release, by Dispose or, for an
// object nobody disposed, by the finalizer.
using System;
using System.Threading;

namespace BridgeHost.Typed
{
    /// <summary>
    /// The owned handle of a WIT resource object (generated bindings wrap one per object): the
    /// module's <c>u64</c> handle and the module's <c>[resource-drop]R</c> method that releases it.
    /// </summary>
    /// <remarks>
    /// <para>Released once: the first <see cref="Dispose"/> marks it released (atomically) before
    /// it sends the drop, so a call made after that is refused here
    /// (<see cref="ClosedException"/>) and never reaches the module; a failing drop is thrown once
    /// and the handle stays released. When the module is already closed, Dispose does nothing:
    /// closing the module released every object.</para>
    /// <para>A handle nobody disposed is released by its finalizer: the drop is submitted to the
    /// host's pool (never waited for, its outcome ignored, nothing thrown). The finalizer holds only
    /// the drop <see cref="Method"/> and the handle value, and the Method keeps its module and
    /// host reachable. A normal (not critical) finalizer runs before the critical finalizers of
    /// the SafeHandles below it (method, module, host) when they become unreachable together, so
    /// the submit still finds them open; a closed method or module, a full queue or a process
    /// shutting down just makes it a no-op.</para>
    /// </remarks>
    public sealed class ResourceHandle : IDisposable
    {
        private readonly Method _drop;
        private readonly ulong _value;
        private readonly string _resource;
        private int _released;

        /// <summary>Owns <paramref name="value"/>, a handle of resource <paramref name="resource"/>
        /// (its WIT name) that <paramref name="drop"/> (<c>[resource-drop]R</c>) releases.</summary>
        /// <param name="drop">The resource's drop method; kept for the finalizer.</param>
        /// <param name="resource">The resource's WIT name, for messages.</param>
        /// <param name="value">The handle, as the module returned it.</param>
        public ResourceHandle(Method drop, string resource, ulong value)
        {
            if (drop == null)
            {
                throw new ArgumentNullException(nameof(drop));
            }
            if (resource == null)
            {
                throw new ArgumentNullException(nameof(resource));
            }
            _drop = drop;
            _resource = resource;
            _value = value;
        }

        /// <summary>The handle, for a call that borrows the object.</summary>
        /// <exception cref="ClosedException">The handle was released (<see cref="Dispose"/>).</exception>
        public ulong Value
        {
            get
            {
                if (Volatile.Read(ref _released) != 0)
                {
                    throw new ClosedException(ToString() + " has been disposed");
                }
                return _value;
            }
        }

        /// <summary>True once <see cref="Dispose"/> began, or once the module is disposed
        /// (closing it released the object).</summary>
        public bool IsReleased => Volatile.Read(ref _released) != 0 || _drop.Module.IsDisposed;

        /// <summary>
        /// Releases the handle: the first call sends <c>[resource-drop]R</c> and waits for it; later
        /// calls do nothing. Nothing is sent when the module is closed (closing it released the
        /// object) or the drop method was disposed with its bindings.
        /// </summary>
        /// <exception cref="ModuleException">The module refused the drop (e.g. a stale handle after
        /// a worker restart); thrown once, the handle is released all the same.</exception>
        /// <exception cref="AbiMismatchException">The drop returned output (it has none).</exception>
        public void Dispose()
        {
            if (Interlocked.Exchange(ref _released, 1) != 0)
            {
                return;
            }
            GC.SuppressFinalize(this);
            if (_drop.IsDisposed || _drop.Module.IsDisposed)
            {
                return;
            }
            try
            {
                // A drop that returns output is refused by the core (AbiMismatchException).
                _drop.Call(Encode(_value));
            }
            catch (ClosedException)
            {
                // The module (or its host) closed meanwhile: that released the object.
                return;
            }
            catch (ObjectDisposedException)
            {
                // The bindings disposed the drop method meanwhile, with the module they opened.
                return;
            }
        }

        /// <summary>Submits the drop of a handle nobody disposed; never waits, never throws.</summary>
        ~ResourceHandle()
        {
            if (Interlocked.Exchange(ref _released, 1) != 0)
            {
                return;
            }
            // At process exit (Mono finalizes reachable objects then) the module is going away with
            // the process; a pool thread calling back into the exiting runtime could block it.
            if (Environment.HasShutdownStarted)
            {
                return;
            }
            _drop.SubmitDetached(Encode(_value));
        }

        /// <summary>"counter 0x1a2b0000002a": the resource's WIT name and the handle.</summary>
        public override string ToString() => _resource + " 0x" + _value.ToString("x");

        private static byte[] Encode(ulong value)
        {
            var b = new byte[8];
            for (int i = 0; i < 8; i++)
            {
                b[i] = (byte)(value >> (8 * i));
            }
            return b;
        }
    }
}
