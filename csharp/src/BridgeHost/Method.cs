using System;
using System.Runtime.InteropServices;
using System.Threading;
using System.Threading.Tasks;

namespace BridgeHost
{
    /// <summary>
    /// A resolved method of a module. Resolve it once with <see cref="Module.GetMethod"/> and call
    /// it as often as needed, from any thread.
    /// </summary>
    /// <remarks>
    /// Inputs are read in place: a managed array or span is pinned (<c>fixed</c>) for exactly the
    /// one native call and never afterwards (the native side copies what it keeps, e.g. for
    /// <see cref="SubmitAsync(ReadOnlySpan{byte}, CancellationToken)"/>). A method keeps its module
    /// (and host) reachable.
    /// </remarks>
    public sealed class Method : IDisposable
    {
        private readonly Module _module;
        private readonly MethodHandle _handle;
        // The handle's id, for the synchronous calls (see Native.bh_call_spill for why they do not
        // add-ref the SafeHandle).
        private readonly ulong _id;
        // Set before the handle is released because the module was disposed: calls then throw
        // ClosedException (the module's state), not ObjectDisposedException (this object's).
        private volatile bool _moduleClosed;
        // Set by Dispose: this object was disposed by its user (ObjectDisposedException from then on).
        private volatile bool _disposed;

        internal Method(Module module, MethodHandle handle, string name)
        {
            _module = module;
            _handle = handle;
            _id = handle.Id;
            Name = name;
            uint flags;
            int st = Native.bh_method_flags(_handle, out flags);
            if (st != Native.BH_OK)
            {
                throw Errors.Last(st);
            }
            Flags = (MethodFlags)(flags & Native.BH_METHOD_NONBLOCKING);
            _scalarSignature = ReadScalarSignature();
        }

        private unsafe string ReadScalarSignature()
        {
            // Two-call pattern: a stack buffer first (a signature is at most 8 short type names),
            // the exact size if it did not fit. Empty: no scalar signature.
            const int StackCap = 128;
            byte* stack = stackalloc byte[StackCap];
            UIntPtr len;
            int st = Native.bh_method_scalar_signature(_handle, stack, (UIntPtr)StackCap, out len);
            if (st == Native.BH_OK)
            {
                return (ulong)len == 0 ? null : Utf8.Decode(stack, len);
            }
            if (st != Native.BH_E_BUFFER_TOO_SMALL)
            {
                throw Errors.Last(st);
            }
            var heap = new byte[checked((int)(ulong)len + 1)];
            fixed (byte* p = heap)
            {
                st = Native.bh_method_scalar_signature(_handle, p, (UIntPtr)heap.Length, out len);
                if (st != Native.BH_OK)
                {
                    throw Errors.Last(st);
                }
                return Utf8.Decode(p, len);
            }
        }

        /// <summary>The method's name. An immutable value that still answers after <see cref="Dispose"/>.</summary>
        public string Name { get; }

        /// <summary>The method's flags (<see cref="MethodFlags.NonBlocking"/> is reported only for
        /// in-process modules: an isolated call is an IPC round trip). Read once at resolve: still
        /// answers after <see cref="Dispose"/>.</summary>
        public MethodFlags Flags { get; }

        /// <summary>The method's scalar signature (docs/TYPED.md, "Direct calls"), e.g.
        /// <c>"(u32, u32) -&gt; u32"</c> (<c>"(u32)"</c> without a result): present when its typed
        /// function takes at most 8 scalar parameters and returns none or one scalar, so that
        /// <see cref="CallScalar(System.ReadOnlySpan{ulong})"/> takes it; null otherwise. Read once
        /// at resolve: still answers after <see cref="Dispose"/>.</summary>
        public string GetScalarSignature()
        {
            return _scalarSignature;
        }

        private readonly string _scalarSignature;

        /// <summary>The module this method belongs to (still answers after <see cref="Dispose"/>).</summary>
        public Module Module => _module;

        /// <summary>The native handle (for tests of the C ABI itself).</summary>
        internal MethodHandle NativeHandle => _handle;

        /// <summary>True once disposed, by <see cref="Dispose"/> or by its module's
        /// <see cref="Module.Dispose"/> (which releases the methods resolved from it; their calls
        /// then throw <see cref="ClosedException"/>).</summary>
        public bool IsDisposed => _handle.IsClosed;

        /// <summary>Call on this thread; the output is returned as a new array.</summary>
        /// <exception cref="ModuleException">The module reported an error.</exception>
        /// <exception cref="ClosedException">The module or host was closed.</exception>
        /// <exception cref="ResourceLimitException">The input or output exceeds the module's limits.</exception>
        public unsafe byte[] Call(byte[] input)
        {
            if (input == null)
            {
                throw new ArgumentNullException(nameof(input));
            }
            // Call(ReadOnlySpan) below, with the array pinned directly: forwarding to it through a
            // span measured ~7 ns slower per call on Mono (a sixth of a 16-byte echo there).
            ThrowIfDisposed();
            byte[] scratch = t_scratch ?? new byte[ScratchSize];
            t_scratch = null;
            UIntPtr len;
            ulong spill;
            int st;
            fixed (byte* i = input)
            fixed (byte* o = scratch)
            {
                st = Native.bh_call_spill(_id, i, Size(input.Length), o, Size(scratch.Length), out len, out spill);
            }
            GC.KeepAlive(this); // as below
            return Output(st, scratch, len, spill);
        }

        /// <summary>Call on this thread; the input is read in place, the output returned as a new array.</summary>
        public unsafe byte[] Call(ReadOnlySpan<byte> input)
        {
            ThrowIfDisposed();
            // One native call: the output lands in this thread's scratch buffer when it fits (then one
            // managed allocation of its exact size), else in a native spill buffer (TakeSpill). The
            // scratch is taken out of its slot while in use, so a call made on this thread from inside
            // this one (e.g. by a log handler) gets its own buffer instead of overwriting ours.
            byte[] scratch = t_scratch ?? new byte[ScratchSize];
            t_scratch = null;
            UIntPtr len;
            ulong spill;
            int st;
            fixed (byte* i = &MemoryMarshal.GetReference(input))
            fixed (byte* o = scratch)
            {
                st = Native.bh_call_spill(_id, i, Size(input.Length), o, Size(scratch.Length), out len, out spill);
            }
            // The native id was used while nothing else may reference this Method: keep it (and
            // through it the method handle, module and host) from being finalized before the call
            // is over.
            GC.KeepAlive(this);
            return Output(st, scratch, len, spill);
        }

        /// <summary>
        /// The call under a generated typed binding (docs/TYPED.md) whose function takes or returns one
        /// <c>list&lt;u8&gt;</c>: the encoding of such a value is its length and its bytes, and this
        /// call does that encoding and decoding natively, with no copy in .NET. With
        /// <paramref name="listInput"/>, <paramref name="input"/> is the function's only parameter, a
        /// <c>list&lt;u8&gt;</c>; otherwise it is the encoded input, as for <see cref="Call(byte[])"/>.
        /// With <paramref name="listOutput"/>, the function's result is a <c>list&lt;u8&gt;</c> and its
        /// bytes are returned; otherwise the output is returned as it is.
        /// </summary>
        /// <exception cref="AbiMismatchException"><paramref name="listOutput"/> and the output is not
        /// exactly one <c>list&lt;u8&gt;</c>.</exception>
        /// <exception cref="InvalidArgumentException">Before the module runs: a flag contradicts the
        /// function's declared signature ("bh_call_typed: add takes (a: u32, b: u32), not one
        /// list&lt;u8&gt;"), or the method is not a function of the module's typed interface.</exception>
        public unsafe byte[] CallTyped(byte[] input, bool listInput, bool listOutput)
        {
            if (input == null)
            {
                throw new ArgumentNullException(nameof(input));
            }
            ThrowIfDisposed();
            uint flags = (listInput ? 1u : 0u) | (listOutput ? 2u : 0u);
            int guess = listOutput ? Volatile.Read(ref _listGuess) : 0;
            if (guess >= ScratchSize)
            {
                return CallTypedExact(input, flags, guess);
            }
            // As Call(ReadOnlySpan): the scratch is out of its slot while in use.
            byte[] scratch = t_scratch ?? new byte[ScratchSize];
            t_scratch = null;
            UIntPtr len, skip;
            ulong spill;
            int st;
            fixed (byte* i = input)
            fixed (byte* o = scratch)
            {
                st = Native.bh_call_typed(_id, i, Size(input.Length), flags, o, Size(scratch.Length), out len, out skip, out spill);
            }
            GC.KeepAlive(this); // as in Call
            byte[] result = Output(st, scratch, len, spill, (ulong)skip);
            if (listOutput)
            {
                Volatile.Write(ref _listGuess, result.Length);
            }
            return result;
        }

        // The length of this method's last list<u8> result (CallTyped with listOutput): the length
        // its next result is expected to have. Shared by the threads calling the method; a stale
        // value costs a spill, never a wrong result.
        private int _listGuess;

        // CallTyped of a list<u8> result expected to hold `guess` bytes (the previous result's
        // length, at least ScratchSize): the array returned is allocated first and the module's
        // writes of the list's bytes go straight into it (bh_call_typed with BH_TYPED_LIST_EXACT),
        // one copy fewer than through the scratch or a spill. Any other output comes back whole in
        // a spill buffer, checked natively as one list<u8>, and is copied out as before.
        private unsafe byte[] CallTypedExact(byte[] input, uint flags, int guess)
        {
            var result = new byte[guess];
            UIntPtr len, skip;
            ulong spill;
            int st;
            fixed (byte* i = input)
            fixed (byte* o = result)
            {
                st = Native.bh_call_typed(_id, i, Size(input.Length), flags | Native.BH_TYPED_LIST_EXACT, o,
                    Size(guess), out len, out skip, out spill);
            }
            GC.KeepAlive(this); // as in Call
            if (st != Native.BH_OK)
            {
                throw Failure(st);
            }
            if (spill == 0)
            {
                if ((ulong)len != (ulong)guess || (ulong)skip != 0)
                {
                    throw new InternalException("bh_call_typed reported " + len + " bytes at " + skip + " for an exact list of " + guess);
                }
                return result;
            }
            byte[] other = TakeSpill(spill, (ulong)skip, (ulong)len);
            Volatile.Write(ref _listGuess, other.Length);
            return other;
        }

        /// <summary>
        /// Call on this thread with the whole of <paramref name="input"/> as the input: an isolated
        /// worker reads it in place (no copy into the worker). The buffer is held for the whole call.
        /// </summary>
        /// <exception cref="ObjectDisposedException">The buffer or this method was disposed.</exception>
        public byte[] Call(SharedBuffer input)
        {
            if (input == null)
            {
                throw new ArgumentNullException(nameof(input));
            }
            return input.Read(0, input.Length, Call);
        }

        /// <summary>
        /// Call on this thread with <paramref name="count"/> bytes of <paramref name="input"/> at
        /// <paramref name="offset"/> as the input, read in place by an isolated worker.
        /// </summary>
        /// <exception cref="ArgumentOutOfRangeException">The range is outside the buffer.</exception>
        /// <exception cref="ObjectDisposedException">The buffer or this method was disposed.</exception>
        public byte[] Call(SharedBuffer input, int offset, int count)
        {
            if (input == null)
            {
                throw new ArgumentNullException(nameof(input));
            }
            return input.Read(offset, count, Call);
        }

        /// <summary>
        /// The result of a bh_call_spill into <paramref name="scratch"/> (taken out of this thread's
        /// slot by the caller, put back here): the output, or the error read on this thread.
        /// <paramref name="skip"/> is where the bytes to return start in the output (bh_call_typed).
        /// </summary>
        private byte[] Output(int st, byte[] scratch, UIntPtr len, ulong spill, ulong skip = 0)
        {
            if (st != Native.BH_OK)
            {
                t_scratch = scratch;
                throw Failure(st);
            }
            ulong n = (ulong)len;
            if (spill != 0)
            {
                // A spill costs two more native calls and a buffer handle: let this thread's later
                // calls with outputs of this size fit, up to MaxScratchSize.
                ulong whole = skip + n;
                t_scratch = whole <= MaxScratchSize ? new byte[ScratchSizeFor((int)whole)] : scratch;
                return TakeSpill(spill, skip, n);
            }
            if (skip + n > (ulong)scratch.Length)
            {
                t_scratch = scratch;
                throw new InternalException("the call reported " + n + " bytes at " + skip + " in a buffer of " + scratch.Length);
            }
            var output = new byte[(int)n];
            Buffer.BlockCopy(scratch, (int)skip, output, 0, (int)n);
            t_scratch = scratch;
            return output;
        }

        // Per-thread output scratch of Call: outputs that fit cost one native call. It starts at
        // ScratchSize and grows (powers of two) to the largest output seen on the thread, up to
        // MaxScratchSize (below the large-object heap threshold).
        private const int ScratchSize = 4096;
        private const int MaxScratchSize = 64 * 1024;

        private static int ScratchSizeFor(int n)
        {
            int size = ScratchSize;
            while (size < n)
            {
                size *= 2;
            }
            return size;
        }

        [ThreadStatic]
        private static byte[] t_scratch;

        /// <summary>Copy bytes [skip, skip + n) of a spilled output into a new array and free the
        /// native buffer.</summary>
        private static unsafe byte[] TakeSpill(ulong id, ulong skip, ulong n)
        {
            using (var buffer = BufferHandle.Adopt(id))
            {
                byte* data;
                UIntPtr len;
                int st = Native.bh_buffer_data(buffer, out data, out len);
                if (st != Native.BH_OK)
                {
                    throw Errors.Last(st);
                }
                if ((ulong)len != skip + n)
                {
                    throw new InternalException("the call reported " + n + " bytes at " + skip + ", its buffer holds " + (ulong)len);
                }
                if (n > int.MaxValue)
                {
                    throw new ResourceLimitException("output of " + n + " bytes exceeds the largest .NET array");
                }
                var output = new byte[(int)n];
                if (n > 0)
                {
                    // `data` points into the native buffer, which lives until `buffer` is disposed,
                    // after this copy.
                    Marshal.Copy((IntPtr)(data + skip), output, 0, (int)n);
                }
                return output;
            }
        }

        /// <summary>
        /// Call on this thread, writing the output into <paramref name="output"/>; returns the number
        /// of bytes written.
        /// </summary>
        /// <exception cref="BufferTooSmallException">The output did not fit; <c>Required</c> says how
        /// much room it needs. The method did run: call it again only if it is idempotent.</exception>
        /// <exception cref="InvalidArgumentException"><paramref name="input"/> and
        /// <paramref name="output"/> overlap.</exception>
        public int CallInto(ReadOnlySpan<byte> input, Span<byte> output)
        {
            long size;
            int st = CallIntoCore(input, output, out size);
            if (st != Native.BH_OK)
            {
                throw Failure(st);
            }
            return (int)size;
        }

        /// <summary>
        /// Call on this thread, writing the output into <paramref name="output"/>. Returns true and
        /// the bytes written in <paramref name="size"/>; or false, when the output did not fit, and
        /// the bytes required in <paramref name="size"/> (the two-call size pattern: the method did
        /// run, so call again with a larger buffer only if it is idempotent). Other errors throw.
        /// </summary>
        public bool TryCallInto(ReadOnlySpan<byte> input, Span<byte> output, out long size)
        {
            int st = CallIntoCore(input, output, out size);
            if (st == Native.BH_OK)
            {
                return true;
            }
            if (st == Native.BH_E_BUFFER_TOO_SMALL)
            {
                return false;
            }
            throw Failure(st);
        }

        private unsafe int CallIntoCore(ReadOnlySpan<byte> input, Span<byte> output, out long size)
        {
            ThrowIfDisposed();
            UIntPtr len;
            int st;
            fixed (byte* i = &MemoryMarshal.GetReference(input))
            fixed (byte* o = &MemoryMarshal.GetReference(output))
            {
                st = Native.bh_call_into(_id, i, Size(input.Length), o, Size(output.Length), out len);
            }
            GC.KeepAlive(this); // as in Call: no finalization of our owners during the call
            // On BH_E_BUFFER_TOO_SMALL `len` is the size required; otherwise it is not written.
            size = st == Native.BH_OK || st == Native.BH_E_BUFFER_TOO_SMALL ? (long)(ulong)len : 0;
            if (st == Native.BH_OK && size > output.Length)
            {
                throw new InternalException("bh_call_into reported " + size + " bytes written into a buffer of " + output.Length);
            }
            return st;
        }

        /// <summary>
        /// A direct call (docs/TYPED.md, "Direct calls") of a method whose typed function takes at
        /// most 8 parameters and returns none or one result, all scalars: one 64-bit slot per
        /// argument, the result's slot returned (0 for a function without a result); no encoding,
        /// no output buffer, no managed allocation. Generated typed bindings use it for such
        /// functions; the slot encoding is <see cref="Typed.Slot"/>'s.
        /// </summary>
        /// <remarks>
        /// In-process, a module's direct entry for the method runs when it has one; otherwise
        /// (isolated, single-thread modules, no direct entry) the same arguments take the ordinary
        /// call path, with the same result.
        /// </remarks>
        /// <exception cref="InvalidArgumentException">The method has no scalar signature (an
        /// untyped module, or a function that is not eligible), the number of slots is not its
        /// parameter count, or a slot is not a value of its parameter's type ("parameter b:
        /// 4294967296 is out of range for u32"); no module code ran.</exception>
        /// <exception cref="AbiMismatchException">The module's result slot is not a value of the
        /// result type.</exception>
        /// <exception cref="ModuleException">The module reported an error.</exception>
        /// <exception cref="ClosedException">The module or host was closed.</exception>
        /// <exception cref="ObjectDisposedException">This method was disposed.</exception>
        public unsafe ulong CallScalar(ReadOnlySpan<ulong> args)
        {
            fixed (ulong* a = &MemoryMarshal.GetReference(args))
            {
                return Scalar(a, args.Length);
            }
        }

        /// <summary><see cref="CallScalar(ReadOnlySpan{ulong})"/> of a function without
        /// parameters.</summary>
        public unsafe ulong CallScalar()
        {
            return Scalar(null, 0);
        }

        /// <summary><see cref="CallScalar(ReadOnlySpan{ulong})"/> with one slot.</summary>
        public unsafe ulong CallScalar(ulong a0)
        {
            return Scalar(&a0, 1);
        }

        /// <summary><see cref="CallScalar(ReadOnlySpan{ulong})"/> with two slots.</summary>
        public unsafe ulong CallScalar(ulong a0, ulong a1)
        {
            // The slots in a struct local, not stackalloc: on CoreCLR a method with a localloc
            // cannot inline its P/Invoke frame, which costs ~100 ns per call (see Scalar).
            SlotArgs2 s;
            s.A0 = a0;
            s.A1 = a1;
            return Scalar(&s.A0, 2);
        }

        /// <summary><see cref="CallScalar(ReadOnlySpan{ulong})"/> with three slots.</summary>
        public unsafe ulong CallScalar(ulong a0, ulong a1, ulong a2)
        {
            SlotArgs3 s;
            s.A0 = a0;
            s.A1 = a1;
            s.A2 = a2;
            return Scalar(&s.A0, 3);
        }

        /// <summary><see cref="CallScalar(ReadOnlySpan{ulong})"/> with four slots.</summary>
        public unsafe ulong CallScalar(ulong a0, ulong a1, ulong a2, ulong a3)
        {
            SlotArgs s;
            s.A0 = a0;
            s.A1 = a1;
            s.A2 = a2;
            s.A3 = a3;
            return Scalar(&s.A0, 4);
        }

        // The slots side by side (sequential layout: A1 follows A0 at +8, ...), one struct per
        // count: CoreCLR 8 zeroes a 32-byte local with 256-bit AVX stores, which leave the upper
        // vector state dirty for the P/Invoke that follows, and the runtime's and the library's
        // SSE code then ran 3-4 times slower (core/src/ffi/vector_state.rs; the typed add measured
        // 225 ns with one 4-slot struct for two slots, 65 ns with SlotArgs2). Four slots still
        // take 32 bytes; the library clears the state on entry, the runtime's transition code runs
        // before that.
        [StructLayout(LayoutKind.Sequential)]
        private struct SlotArgs2
        {
            public ulong A0, A1;
        }

        [StructLayout(LayoutKind.Sequential)]
        private struct SlotArgs3
        {
            public ulong A0, A1, A2;
        }

        [StructLayout(LayoutKind.Sequential)]
        private struct SlotArgs
        {
            public ulong A0, A1, A2, A3;
        }

        // Never inlined: its caller may stackalloc (a generated binding's span of more than four
        // slots), and a P/Invoke inlined into a method with a localloc loses CoreCLR's inlined
        // transition frame (measured ~100 ns more per call; bench/dotnet/Bench.cs has the same
        // finding for BareEchoCopy).
        [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.NoInlining)]
        private unsafe ulong Scalar(ulong* args, int n)
        {
            // As CallIntoCore: the id, not the SafeHandle; a Dispose racing the call makes the native
            // side refuse the retired id, which Failure reports as the ObjectDisposedException (or,
            // after the module's Dispose, the ClosedException) the other calls give.
            ThrowIfDisposed();
            ulong result;
            int st = Native.bh_call_scalar(_id, args, Size(n), out result);
            GC.KeepAlive(this); // as in Call: no finalization of our owners during the call
            if (st != Native.BH_OK)
            {
                throw Failure(st);
            }
            return result;
        }

        /// <summary>Run the call on the host's pool threads (see
        /// <see cref="SubmitAsync(ReadOnlySpan{byte}, CancellationToken)"/> for rejections and
        /// cancellation).</summary>
        /// <returns>A task completed with the output (continuations never run on a bridgehost
        /// thread), faulted with an <see cref="IBridgeHostException"/> exception, or canceled.</returns>
        /// <exception cref="ArgumentNullException"><paramref name="input"/> is null.</exception>
        /// <exception cref="ObjectDisposedException">This method was disposed.</exception>
        public Task<byte[]> SubmitAsync(byte[] input, CancellationToken cancellationToken = default(CancellationToken))
        {
            if (input == null)
            {
                throw new ArgumentNullException(nameof(input));
            }
            return SubmitAsync(new ReadOnlySpan<byte>(input), cancellationToken);
        }

        /// <summary>
        /// Run the call on the host's pool threads. The input is copied before this returns: nothing
        /// stays pinned while the task runs.
        /// </summary>
        /// <remarks>
        /// <para>Rejections are not thrown: a submit the host refuses returns a task already faulted
        /// (<see cref="OverloadedException"/> when the submit queue is full,
        /// <see cref="ClosedException"/> when the module or host is closed), like every failure of
        /// the call itself (<see cref="ResourceLimitException"/> for an input over
        /// <c>MaxInput</c>, a module error, ...). Only misuse throws: a null array
        /// (<see cref="ArgumentNullException"/>) and a call on this disposed method
        /// (<see cref="ObjectDisposedException"/>).</para>
        /// <para><paramref name="cancellationToken"/> reaches the native task: a call that has not
        /// started never runs (the task ends as canceled at once); a running call of an isolated
        /// module is ended (its worker is killed and replaced, the task ends as canceled and
        /// <see cref="Counters.Cancelled"/> counts it; a stateful module then reports
        /// <see cref="StateLostException"/> once). A running in-process call cannot be
        /// interrupted: it runs to its end and its task completes normally.</para>
        /// </remarks>
        /// <exception cref="ObjectDisposedException">This method was disposed.</exception>
        public unsafe Task<byte[]> SubmitAsync(ReadOnlySpan<byte> input, CancellationToken cancellationToken = default(CancellationToken))
        {
            if (_moduleClosed && !_disposed)
            {
                // A closed module is a rejection, not misuse: a faulted task, as the host's refusal.
                return Task.FromException<byte[]>(Released());
            }
            ThrowIfDisposed();
            if (cancellationToken.IsCancellationRequested)
            {
                return Task.FromCanceled<byte[]>(cancellationToken);
            }
            var op = new SubmitOperation(this, cancellationToken);
            // Rooted until the completion callback runs (it frees the GCHandle), or freed here if the
            // submit is refused (then no callback ever comes).
            IntPtr state = GCHandle.ToIntPtr(GCHandle.Alloc(op));
            bool accepted = false;
            int st = Native.BH_OK;
            ulong task = 0;
            try
            {
                fixed (byte* p = &MemoryMarshal.GetReference(input))
                {
                    // A token that can never be cancelled needs no task handle to cancel with.
                    st = cancellationToken.CanBeCanceled
                        ? Native.bh_submit(_handle, p, Size(input.Length), Callbacks.CompletionPtr, state, out task)
                        : Native.bh_submit_untracked(_handle, p, Size(input.Length), Callbacks.CompletionPtr, state, null);
                }
                accepted = st == Native.BH_OK;
                if (!accepted)
                {
                    return Task.FromException<byte[]>(Errors.Last(st));
                }
            }
            catch (ObjectDisposedException) when (_moduleClosed && !_disposed)
            {
                // The module's Dispose released the handle between the check above and the call.
                return Task.FromException<byte[]>(Released());
            }
            finally
            {
                if (!accepted)
                {
                    GCHandle.FromIntPtr(state).Free();
                }
            }
            op.Started(task);
            return op.Task;
        }

        /// <summary>
        /// Submit a call whose outcome nobody waits for (a finalizer's resource drop): no task, no
        /// state, nothing rooted; never throws. Returns whether the host accepted it (false when
        /// this method or its module is closed, or the queue is full).
        /// </summary>
        internal unsafe bool SubmitDetached(ReadOnlySpan<byte> input)
        {
            try
            {
                if (_handle.IsClosed)
                {
                    return false;
                }
                int st;
                fixed (byte* p = &MemoryMarshal.GetReference(input))
                {
                    // The marshaller add-refs the handle for the call (a concurrent Dispose makes
                    // it throw ObjectDisposedException, caught below); the input is copied before
                    // bh_submit returns.
                    st = Native.bh_submit_untracked(_handle, p, Size(input.Length), Callbacks.DiscardPtr, IntPtr.Zero, null);
                }
                // A refusal leaves its message in this thread's last error, which nobody reads.
                return st == Native.BH_OK;
            }
            catch (Exception)
            {
                return false;
            }
        }

        /// <summary>Release the method. Idempotent; afterwards calls throw <see cref="ObjectDisposedException"/>.
        /// Calls in flight on other threads finish first.</summary>
        public void Dispose()
        {
            _disposed = true;
            _handle.Dispose();
        }

        /// <summary>Release the native handle because the module was disposed (Module.Dispose).</summary>
        internal void ReleaseWithModule()
        {
            _moduleClosed = true;
            _handle.Dispose();
        }

        private Exception Released()
        {
            if (_moduleClosed && !_disposed)
            {
                return new ClosedException("closed: module '" + _module.Name + "' was disposed");
            }
            return new ObjectDisposedException(nameof(Method), "method '" + Name + "' has been disposed");
        }

        /// <summary>"module.method".</summary>
        public override string ToString() => _module.Name + "." + Name;

        /// <summary>
        /// The exception for a failed synchronous call (read on the failing thread, right after the
        /// call). A Dispose on another thread that won the race with the call makes the native side
        /// refuse the freed id: that is reported as the ObjectDisposedException it is.
        /// </summary>
        internal Exception Failure(int st)
        {
            var e = Errors.Last(st);
            if (st == Native.BH_E_CLOSED && _handle.IsClosed)
            {
                return Released();
            }
            return e;
        }

        private void ThrowIfDisposed()
        {
            if (_handle.IsClosed)
            {
                throw Released();
            }
        }

        private static UIntPtr Size(int n)
        {
            // Span and array lengths are never negative.
            return new UIntPtr((uint)n);
        }
    }
}
