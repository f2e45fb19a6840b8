package io.bridgehost;

import java.lang.ref.Cleaner;
import java.lang.ref.Reference;
import java.nio.ByteBuffer;
import java.nio.ReadOnlyBufferException;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;

/**
 * A module's method, resolved once by {@link NativeModule#method(String)}. Thread-safe: any number of
 * threads (virtual threads included) may call it concurrently; the module's thread model is
 * enforced natively.
 *
 * <p><b>Virtual threads.</b> A call made on a virtual thread to a method that is not
 * {@linkplain #isNonBlocking() non-blocking} runs on a bridgehost platform thread
 * ({@code bridgehost-blocking-N}) while the virtual thread waits unmounted, so a blocking module
 * call never pins a carrier thread for its duration. Non-blocking methods run on the caller's
 * thread (the hand-off would cost more than the call).
 *
 * <p><b>Memory.</b> A {@code byte[]} input is copied into native memory before the module runs
 * (never pinned: a module call may block, and a pinned array would stall the garbage collector).
 * A direct {@link ByteBuffer} input is read in place (zero-copy): do not modify it while the call
 * runs. The output is a new array (or written into the caller's buffer with
 * {@link #call(ByteBuffer, ByteBuffer)}).
 *
 * <p><b>Errors.</b> Module errors throw {@link ModuleException} (with the module's code); an input
 * larger than the module's {@code maxInput}, or an output beyond {@code maxOutput}, throws
 * {@link ResourceLimitException}; isolated modules add {@link WorkerCrashedException},
 * {@link CallTimeoutException} and friends. After {@link #close()} (or its module's or host's), calls
 * throw {@link ClosedException}.
 */
public final class Method implements AutoCloseable {
    private final NativeModule module;
    private final String name;
    private final long handle;
    private final boolean nonBlocking;
    /** Read once at resolve (an immutable value, like the name): null without one. */
    private final String scalarSignature;
    private final Cleaner.Cleanable cleanable;
    private volatile boolean closed;
    /** Its module closed and released the native handle ({@link #moduleClosed()}). */
    private volatile boolean released;

    Method(NativeModule module, String name, long handle, boolean nonBlocking) {
        this.module = module;
        this.name = name;
        this.handle = handle;
        this.nonBlocking = nonBlocking;
        this.scalarSignature = Native.methodScalarSignature(handle);
        this.cleanable = Cleaners.CLEANER.register(this, new Release(handle));
    }

    private static final class Release implements Runnable {
        private final long handle;

        Release(long handle) {
            this.handle = handle;
        }

        @Override
        public void run() {
            Native.methodClose(handle);
        }
    }

    /**
     * Calls the method on this thread.
     *
     * @param input the input (copied)
     * @return the output
     */
    public byte[] call(byte[] input) {
        Objects.requireNonNull(input, "input");
        return call(input, 0, input.length);
    }

    /**
     * Calls the method on this thread with {@code input[offset, offset + length)}.
     *
     * @param input the input array (the range is copied)
     * @param offset the first byte
     * @param length the number of bytes
     * @return the output
     * @throws IndexOutOfBoundsException if the range is not inside the array
     */
    public byte[] call(byte[] input, int offset, int length) {
        Objects.requireNonNull(input, "input");
        Objects.checkFromIndexSize(offset, length, input.length);
        ensureOpen();
        try {
            if (!nonBlocking && Blocking.onVirtualThread()) {
                return Blocking.run(() -> Native.call(handle, input, offset, length));
            }
            return Native.call(handle, input, offset, length);
        } finally {
            Reference.reachabilityFence(this);
        }
    }

    /**
     * The call under a generated typed binding (docs/TYPED.md) whose function takes or returns one
     * {@code list<u8>}: the byte encoding of such a value is its length and its bytes, and this
     * call does that encoding and decoding natively, with no copy in Java. With {@code listInput},
     * {@code input} is the function's only parameter, a {@code list<u8>}; otherwise it is the
     * encoded input, as for {@link #call(byte[])}. With {@code listOutput}, the function's result is
     * a {@code list<u8>} and its bytes are returned; otherwise the output is returned as it is.
     *
     * @param input the {@code list<u8>} argument, or the encoded input (copied)
     * @param listInput whether {@code input} is one {@code list<u8>} to encode
     * @param listOutput whether the output is one {@code list<u8>} to decode
     * @return the result's bytes, or the output
     * @throws AbiMismatchException if {@code listOutput} and the output is not exactly one
     *     {@code list<u8>}
     * @throws InvalidArgumentException before the module runs, if a flag contradicts the
     *     function's declared signature ("callTyped: add takes (a: u32, b: u32), not one
     *     list&lt;u8&gt;", "callTyped: echo-string returns string, not list&lt;u8&gt;") or the
     *     method is not a function of the module's typed interface
     */
    public byte[] callTyped(byte[] input, boolean listInput, boolean listOutput) {
        Objects.requireNonNull(input, "input");
        ensureOpen();
        int flags = (listInput ? 1 : 0) | (listOutput ? 2 : 0);
        try {
            if (!nonBlocking && Blocking.onVirtualThread()) {
                return Blocking.run(() -> Native.callTyped(handle, input, flags));
            }
            return Native.callTyped(handle, input, flags);
        } finally {
            Reference.reachabilityFence(this);
        }
    }

    /**
     * The method's scalar signature (docs/TYPED.md, "Direct calls"): present when its typed function
     * takes at most 8 scalar parameters (bool, s8..s64, u8..u64, f32, f64, char) and returns none or
     * one scalar; then {@link #callScalar(long...)} calls it with one 64-bit slot per argument.
     *
     * <p>Read once when the method is resolved: an immutable value, like {@link #name()}, that
     * still answers after {@link #close()}.
     *
     * @return e.g. {@code "(u32, u32) -> u32"} ({@code "(u32)"} without a result), or empty
     */
    public Optional<String> scalarSignature() {
        return Optional.ofNullable(scalarSignature);
    }

    /**
     * The scalar call of a method without parameters: see {@link #callScalar(long...)}.
     *
     * @return the result's slot (0 without a result)
     */
    public long callScalar() {
        ensureOpen();
        try {
            if (!nonBlocking && Blocking.onVirtualThread()) {
                return Blocking.runLong(() -> Native.callScalar0(handle));
            }
            return Native.callScalar0(handle);
        } finally {
            Reference.reachabilityFence(this);
        }
    }

    /**
     * The scalar call with one argument: see {@link #callScalar(long...)}.
     *
     * @param a0 the first argument's slot
     * @return the result's slot (0 without a result)
     */
    public long callScalar(long a0) {
        ensureOpen();
        try {
            if (!nonBlocking && Blocking.onVirtualThread()) {
                return Blocking.runLong(() -> Native.callScalar1(handle, a0));
            }
            return Native.callScalar1(handle, a0);
        } finally {
            Reference.reachabilityFence(this);
        }
    }

    /**
     * The scalar call with two arguments: see {@link #callScalar(long...)}.
     *
     * @param a0 the first argument's slot
     * @param a1 the second argument's slot
     * @return the result's slot (0 without a result)
     */
    public long callScalar(long a0, long a1) {
        ensureOpen();
        try {
            if (!nonBlocking && Blocking.onVirtualThread()) {
                return Blocking.runLong(() -> Native.callScalar2(handle, a0, a1));
            }
            return Native.callScalar2(handle, a0, a1);
        } finally {
            Reference.reachabilityFence(this);
        }
    }

    /**
     * The scalar call with three arguments: see {@link #callScalar(long...)}.
     *
     * @param a0 the first argument's slot
     * @param a1 the second argument's slot
     * @param a2 the third argument's slot
     * @return the result's slot (0 without a result)
     */
    public long callScalar(long a0, long a1, long a2) {
        ensureOpen();
        try {
            if (!nonBlocking && Blocking.onVirtualThread()) {
                return Blocking.runLong(() -> Native.callScalar3(handle, a0, a1, a2));
            }
            return Native.callScalar3(handle, a0, a1, a2);
        } finally {
            Reference.reachabilityFence(this);
        }
    }

    /**
     * The scalar call with four arguments: see {@link #callScalar(long...)}.
     *
     * @param a0 the first argument's slot
     * @param a1 the second argument's slot
     * @param a2 the third argument's slot
     * @param a3 the fourth argument's slot
     * @return the result's slot (0 without a result)
     */
    public long callScalar(long a0, long a1, long a2, long a3) {
        ensureOpen();
        try {
            if (!nonBlocking && Blocking.onVirtualThread()) {
                return Blocking.runLong(() -> Native.callScalar4(handle, a0, a1, a2, a3));
            }
            return Native.callScalar4(handle, a0, a1, a2, a3);
        } finally {
            Reference.reachabilityFence(this);
        }
    }

    /**
     * Calls a method that has a {@linkplain #scalarSignature() scalar signature} on this thread with
     * its arguments as 64-bit slots, no byte encoding (docs/TYPED.md, "Direct calls"; generated
     * bindings use it for such functions). A slot holds: bool 0 or 1; u8, u16, u32 the value;
     * s8..s64 the value sign-extended; u64 its 64 bits; f32 {@code Float.floatToIntBits} in the low
     * 32 bits ({@code & 0xFFFFFFFFL}); f64 {@code Double.doubleToLongBits}; char the code point. The
     * result's slot comes back the same way (0 without a result), checked against the result type.
     * In-process, a module that exports a direct entry for the function is called through it;
     * otherwise the same arguments go through the ordinary call path.
     *
     * @param args one slot per parameter (up to 4 go without an array: use the fixed-arity forms)
     * @return the result's slot (0 without a result)
     * @throws InvalidArgumentException if the method has no scalar signature, the count is wrong or a
     *     slot is not a value of its parameter's type (e.g. "parameter b: 4294967296 is out of range
     *     for u32")
     * @throws AbiMismatchException if the module's result is not a value of the result type
     * @throws ModuleException if the module reports an error
     */
    public long callScalar(long... args) {
        Objects.requireNonNull(args, "args");
        switch (args.length) {
            case 0:
                return callScalar();
            case 1:
                return callScalar(args[0]);
            case 2:
                return callScalar(args[0], args[1]);
            case 3:
                return callScalar(args[0], args[1], args[2]);
            case 4:
                return callScalar(args[0], args[1], args[2], args[3]);
            default:
                break;
        }
        ensureOpen();
        try {
            if (!nonBlocking && Blocking.onVirtualThread()) {
                return Blocking.runLong(() -> Native.callScalarN(handle, args));
            }
            return Native.callScalarN(handle, args);
        } finally {
            Reference.reachabilityFence(this);
        }
    }

    /**
     * Calls the method on the input's remaining bytes; on success the input's position advances to
     * its limit. A direct buffer is read in place (zero-copy); a heap buffer through its array.
     *
     * @param input the input
     * @return the output
     */
    public byte[] call(ByteBuffer input) {
        Objects.requireNonNull(input, "input");
        ensureOpen();
        int pos = input.position();
        int len = input.remaining();
        byte[] out;
        boolean offload = !nonBlocking && Blocking.onVirtualThread();
        try {
            if (input.isDirect()) {
                out = offload ? Blocking.run(() -> Native.callDirect(handle, input, pos, len))
                        : Native.callDirect(handle, input, pos, len);
            } else {
                byte[] array;
                int off;
                if (input.hasArray()) {
                    array = input.array();
                    off = input.arrayOffset() + pos;
                } else {
                    array = new byte[len];
                    input.duplicate().get(array);
                    off = 0;
                }
                out = offload ? Blocking.run(() -> Native.call(handle, array, off, len))
                        : Native.call(handle, array, off, len);
            }
        } finally {
            Reference.reachabilityFence(this);
        }
        input.position(pos + len);
        return out;
    }

    /**
     * Calls the method on this thread with all of {@code input}'s bytes as the input, read in place:
     * an isolated worker maps the buffer's pages instead of receiving a copy (docs/ISOLATION.md,
     * "Transport"). While the call runs, {@link SharedBuffer#put} is refused, so the call sees one
     * consistent content.
     *
     * @param input the buffer
     * @return the output
     * @throws ClosedException if the buffer, this method, its module or its host is closed
     */
    public byte[] call(SharedBuffer input) {
        Objects.requireNonNull(input, "input");
        return call(input, 0, input.length());
    }

    /**
     * Calls the method on this thread with {@code input[offset, offset + length)} as the input,
     * read in place (see {@link #call(SharedBuffer)}).
     *
     * @param input the buffer
     * @param offset the first byte
     * @param length the number of bytes
     * @return the output
     * @throws IndexOutOfBoundsException if the range is not inside the buffer
     * @throws ClosedException if the buffer, this method, its module or its host is closed
     */
    public byte[] call(SharedBuffer input, long offset, long length) {
        Objects.requireNonNull(input, "input");
        input.checkRange(offset, length);
        ensureOpen();
        long buffer = input.handle();
        try {
            if (!nonBlocking && Blocking.onVirtualThread()) {
                return Blocking.run(() -> Native.callShared(handle, buffer, offset, length));
            }
            return Native.callShared(handle, buffer, offset, length);
        } finally {
            Reference.reachabilityFence(this);
            Reference.reachabilityFence(input);
        }
    }

    /**
     * Calls the method on the input's remaining bytes and writes the output into {@code output}'s
     * remaining space; with direct buffers on both sides nothing is copied on the Java side. On
     * success both positions advance (the input's to its limit, the output's by the returned
     * length); on an exception neither moves.
     *
     * @param input the input
     * @param output where the output goes (writable; a direct buffer's range must not overlap the
     *     input's)
     * @return the number of output bytes
     * @throws BufferTooSmallException if the output does not fit; the method has run (repeat the
     *     call with a buffer of {@link BufferTooSmallException#required()} bytes only if it is
     *     idempotent)
     * @throws ReadOnlyBufferException if {@code output} is read-only
     */
    public int call(ByteBuffer input, ByteBuffer output) {
        Objects.requireNonNull(input, "input");
        Objects.requireNonNull(output, "output");
        if (output.isReadOnly()) {
            throw new ReadOnlyBufferException();
        }
        ensureOpen();
        int ip = input.position();
        int il = input.remaining();
        int op = output.position();
        int ol = output.remaining();
        final Object in;
        final int inOff;
        if (input.isDirect()) {
            in = input;
            inOff = ip;
        } else if (input.hasArray()) {
            in = input.array();
            inOff = input.arrayOffset() + ip;
        } else {
            byte[] copy = new byte[il];
            input.duplicate().get(copy);
            in = copy;
            inOff = 0;
        }
        Object out = output.isDirect() ? output : output.array();
        int outOff = output.isDirect() ? op : output.arrayOffset() + op;
        int n;
        try {
            if (!nonBlocking && Blocking.onVirtualThread()) {
                n = Blocking.runInt(() -> Native.callInto(handle, in, inOff, il, out, outOff, ol));
            } else {
                n = Native.callInto(handle, in, inOff, il, out, outOff, ol);
            }
        } finally {
            Reference.reachabilityFence(this);
        }
        input.position(ip + il);
        output.position(op + n);
        return n;
    }

    /**
     * Runs the call on the host's pool threads. The input is copied before this returns.
     *
     * <p>Rejections are not thrown: when the call cannot be queued the future returned is already
     * completed exceptionally ({@link OverloadedException} when the host's submit queue is full,
     * {@link ClosedException} when the method, module or host is closed,
     * {@link ResourceLimitException} for an input over {@code maxInput}), so every outcome is read
     * in one place. Only argument errors ({@code NullPointerException},
     * {@code IndexOutOfBoundsException}) are thrown.
     *
     * <p><b>Cancel.</b> {@link CompletableFuture#cancel cancel} reaches the core: a call that has
     * not started never runs; a running call of an isolated module is ended (its worker is killed
     * and replaced; a stateful module then reports {@link StateLostException} once). A running
     * in-process call cannot be interrupted: {@code cancel(true)} still returns true and the future
     * is cancelled ({@code isCancelled()} is true), but the native call keeps running to its end
     * and its output is discarded.
     *
     * @param input the input
     * @return a future completed with the output, or exceptionally with a
     *     {@link BridgeHostException} ({@link ClosedException} if the host closes first).
     *     Dependent stages added with non-async methods run on a bridgehost pool thread: keep them
     *     short or use the {@code ...Async} variants.
     */
    public CompletableFuture<byte[]> submit(byte[] input) {
        Objects.requireNonNull(input, "input");
        return submit(input, 0, input.length);
    }

    /**
     * Like {@link #submit(byte[])} with {@code input[offset, offset + length)}.
     *
     * @param input the input array (the range is copied before this returns)
     * @param offset the first byte
     * @param length the number of bytes
     * @return the future output
     * @throws IndexOutOfBoundsException if the range is not inside the array
     */
    public CompletableFuture<byte[]> submit(byte[] input, int offset, int length) {
        Objects.requireNonNull(input, "input");
        Objects.checkFromIndexSize(offset, length, input.length);
        NativeFuture f = new NativeFuture(this);
        try {
            ensureOpen();
            f.setTask(Native.submit(handle, input, offset, length, f));
        } catch (BridgeHostException | InvalidArgumentException rejected) {
            f.rejected(rejected);
        } finally {
            Reference.reachabilityFence(this);
        }
        return f;
    }

    /**
     * Like {@link #submit(byte[])} with the input's remaining bytes (copied before this returns; the
     * position then advances to the limit, unless the call was rejected).
     *
     * @param input the input
     * @return the future output
     */
    public CompletableFuture<byte[]> submit(ByteBuffer input) {
        Objects.requireNonNull(input, "input");
        int pos = input.position();
        int len = input.remaining();
        NativeFuture f = new NativeFuture(this);
        try {
            ensureOpen();
            long task;
            if (input.isDirect()) {
                task = Native.submitDirect(handle, input, pos, len, f);
            } else if (input.hasArray()) {
                task = Native.submit(handle, input.array(), input.arrayOffset() + pos, len, f);
            } else {
                byte[] copy = new byte[len];
                input.duplicate().get(copy);
                task = Native.submit(handle, copy, 0, len, f);
            }
            f.setTask(task);
        } catch (BridgeHostException | InvalidArgumentException rejected) {
            f.rejected(rejected);
            return f;
        } finally {
            Reference.reachabilityFence(this);
        }
        input.position(pos + len);
        return f;
    }

    /**
     * Like {@link #submit(byte[])} with all of {@code input}'s bytes, which are copied before this
     * returns (the call outlives it): only {@link #call(SharedBuffer)} reads a buffer in place.
     *
     * @param input the buffer
     * @return the future output ({@link ClosedException} if the buffer is closed)
     */
    public CompletableFuture<byte[]> submit(SharedBuffer input) {
        Objects.requireNonNull(input, "input");
        return submit(input, 0, input.length());
    }

    /**
     * Like {@link #submit(SharedBuffer)} with {@code input[offset, offset + length)} (copied before
     * this returns).
     *
     * @param input the buffer
     * @param offset the first byte
     * @param length the number of bytes
     * @return the future output
     * @throws IndexOutOfBoundsException if the range is not inside the buffer
     */
    public CompletableFuture<byte[]> submit(SharedBuffer input, long offset, long length) {
        Objects.requireNonNull(input, "input");
        input.checkRange(offset, length);
        NativeFuture f = new NativeFuture(this);
        try {
            ensureOpen();
            f.setTask(Native.submitShared(handle, input.handle(), offset, length, f));
        } catch (BridgeHostException | InvalidArgumentException rejected) {
            f.rejected(rejected);
        } finally {
            Reference.reachabilityFence(this);
            Reference.reachabilityFence(input);
        }
        return f;
    }

    /** @return the method's name */
    public String name() {
        return name;
    }

    /** @return the module it belongs to */
    public NativeModule module() {
        return module;
    }

    /**
     * @return true when the module declares that the method never blocks (and the module runs
     *     in-process)
     */
    public boolean isNonBlocking() {
        return nonBlocking;
    }

    /** @return true once this method, its module or its host was closed */
    public boolean isClosed() {
        return closed || module.isClosed();
    }

    /**
     * Releases this method object (the module stays open); idempotent. Calls in flight finish;
     * later calls throw {@link ClosedException}.
     */
    @Override
    public void close() {
        closed = true;
        cleanable.clean();
    }

    /** Its module closed: release the native handle now rather than when the Cleaner runs. */
    void moduleClosed() {
        released = true;
        cleanable.clean();
    }

    private void ensureOpen() {
        if (closed) {
            throw new ClosedException("closed: method is closed");
        }
        if (released) {
            throw new ClosedException("closed: module is closed");
        }
    }

    @Override
    public String toString() {
        return "Method[" + module.name() + "." + name + (isClosed() ? ", closed" : "") + "]";
    }
}
