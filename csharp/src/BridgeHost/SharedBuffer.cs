using System;

namespace BridgeHost
{
    /// <summary>
    /// Native memory that you write and isolated workers read in place: an input of more than
    /// 64 KiB that lies in it is not copied into the worker, whatever its size
    /// (docs/ISOLATION.md, "Transport"). In-process calls read it like any other input.
    /// </summary>
    /// <remarks>
    /// <para>No worker can change its bytes (a module that writes to its input crashes its worker:
    /// <see cref="WorkerCrashedException"/>). A worker it was lent to can read everything written
    /// into it afterwards, until it is disposed: do not reuse one buffer for data a module must not
    /// see.</para>
    /// <para><see cref="Span"/> points into native memory the garbage collector does not track: it
    /// is valid only while the buffer is not disposed or finalized. Keep the buffer reachable
    /// while you use a span of it (a <c>using</c> block does), and do not write it while a call
    /// reads it. <see cref="Method.Call(SharedBuffer)"/> and
    /// <see cref="Method.Call(SharedBuffer, int, int)"/> hold the buffer for the whole call, so a
    /// <see cref="Dispose"/> racing with them waits for the call.</para>
    /// </remarks>
    public sealed unsafe class SharedBuffer : IDisposable
    {
        private readonly SharedBufferHandle _handle;
        private readonly byte* _data;
        // Set by Dispose before the handle is released: the handle stays open while a call holds
        // it (its release is deferred), but the buffer refuses new use from Dispose on.
        private volatile bool _disposed;

        /// <summary>A buffer of <paramref name="length"/> (&gt; 0) zero bytes.</summary>
        /// <exception cref="InvalidArgumentException"><paramref name="length"/> is 0 or negative.</exception>
        /// <exception cref="ResourceLimitException">The memory cannot be had.</exception>
        public SharedBuffer(int length)
        {
            Platform.EnsureSupported();
            if (length < 0)
            {
                // Not a size_t: the core's rule judges it as given (bh_shared_buffer_new's rule).
                int refused = Native.bh_shared_buffer_check_length(length);
                throw refused != Native.BH_OK ? Errors.Last(refused) : new InternalException("bh_shared_buffer_check_length accepted " + length);
            }
            SharedBufferHandle handle;
            int st = Native.bh_shared_buffer_new((UIntPtr)(uint)length, out handle);
            if (st != Native.BH_OK)
            {
                handle.Dispose();
                throw Errors.Last(st);
            }
            byte* data;
            UIntPtr len;
            st = Native.bh_shared_buffer_data(handle, out data, out len);
            if (st != Native.BH_OK || (ulong)len != (ulong)length)
            {
                handle.Dispose();
                throw st != Native.BH_OK ? Errors.Last(st) : new InternalException("bh_shared_buffer_data reported " + (ulong)len + " bytes for " + length);
            }
            _handle = handle;
            _data = data;
            Length = length;
        }

        /// <summary>Its length in bytes (still answers after <see cref="Dispose"/>).</summary>
        public int Length { get; }

        /// <summary>True once disposed.</summary>
        public bool IsDisposed => _disposed;

        /// <summary>
        /// The bytes, writable. Valid until the buffer is disposed or finalized: keep the buffer
        /// reachable while you use the span.
        /// </summary>
        /// <exception cref="ObjectDisposedException">The buffer was disposed.</exception>
        public Span<byte> Span
        {
            get
            {
                ThrowIfDisposed();
                return new Span<byte>(_data, Length);
            }
        }

        /// <summary>
        /// Run <paramref name="call"/> over <paramref name="count"/> bytes at
        /// <paramref name="offset"/> with the buffer held (a racing Dispose or the finalizer waits
        /// until it returns).
        /// </summary>
        internal T Read<T>(int offset, int count, ReadOnlySpanFunc<T> call)
        {
            if (offset < 0 || count < 0 || offset > Length - count)
            {
                // .NET's own exception for a range outside a buffer (as Span.Slice throws; Java's
                // is IndexOutOfBoundsException, Python's IndexError: docs/SYMMETRY.md, out_of_range).
                throw new ArgumentOutOfRangeException(offset < 0 || offset > Length ? nameof(offset) : nameof(count),
                    "offset " + offset + " and count " + count + " are not a range of a shared buffer of " + Length + " bytes");
            }
            ThrowIfDisposed();
            bool held = false;
            try
            {
                _handle.DangerousAddRef(ref held);
                return call(new ReadOnlySpan<byte>(_data + offset, count));
            }
            catch (ObjectDisposedException)
            {
                throw new ObjectDisposedException(nameof(SharedBuffer), "the shared buffer has been disposed");
            }
            finally
            {
                if (held)
                {
                    _handle.DangerousRelease();
                }
            }
        }

        internal delegate T ReadOnlySpanFunc<T>(ReadOnlySpan<byte> input);

        /// <summary>
        /// Free the memory (a worker that held it lets it go at its next call). From now on
        /// <see cref="Span"/> and calls with this buffer throw <see cref="ObjectDisposedException"/>;
        /// a call already reading it keeps it until the call returns, and the memory is freed then.
        /// </summary>
        public void Dispose()
        {
            _disposed = true;
            _handle.Dispose();
        }

        /// <inheritdoc/>
        public override string ToString() => "SharedBuffer(" + Length + " bytes" + (IsDisposed ? ", disposed)" : ")");

        private void ThrowIfDisposed()
        {
            if (_disposed || _handle.IsClosed)
            {
                throw new ObjectDisposedException(nameof(SharedBuffer), "the shared buffer has been disposed");
            }
        }
    }
}
