package io.bridgehost;

import java.lang.ref.Cleaner;
import java.lang.ref.Reference;
import java.nio.ByteBuffer;
import java.util.Objects;

/**
 * Native memory that isolated workers read in place: an input of more than 64 KiB that lies in it
 * is not copied into the worker, whatever its size (docs/ISOLATION.md, "Transport"). In-process
 * calls read it like any other input. Pass it to {@link Method#call(SharedBuffer)} or
 * {@link Method#call(SharedBuffer, long, long)}.
 *
 * <p>Java code never holds a view of the memory: bytes are copied in with {@code put} and out with
 * {@code get}, so nothing can point into the memory once it is freed. Offsets are {@code long} (a
 * buffer may be larger than an array); each copy moves at most one array's worth of bytes.
 *
 * <p><b>Nothing changes the bytes under a call.</b> While a call reads the buffer, every
 * {@code put} is refused with {@link IllegalStateException} (nothing is written); {@code get} and
 * calls run side by side. So a call with the buffer as input sees one consistent content, without a
 * copy. A worker cannot write it either: a module that writes to such an input crashes its worker
 * ({@link WorkerCrashedException}) and the bytes stay.
 *
 * <p><b>What a worker can see.</b> A worker it was lent to can read everything written into it
 * afterwards, until it is closed: do not reuse one buffer for data a module must not see.
 *
 * <p><b>Errors.</b> A length of 0 or less is an {@link InvalidArgumentException}; more than the
 * machine's RAM and swap a {@link ResourceLimitException} (pages are allocated as they are first
 * touched). A range outside the buffer or an array is an {@link IndexOutOfBoundsException}, a null
 * array or buffer a {@link NullPointerException}, as for the JDK's own bulk copies.
 *
 * <p><b>Close.</b> {@link #close()} is idempotent; afterwards every use throws
 * {@link ClosedException}. A close while calls read the buffer returns at once: those calls finish
 * with the bytes they read, and the memory is freed when the last of them returns. A buffer that
 * becomes unreachable without being closed is freed by a {@link Cleaner}. Thread-safe.
 */
public final class SharedBuffer implements AutoCloseable {
    private final long handle;
    private final long length;
    private final Cleaner.Cleanable cleanable;
    private volatile boolean closed;

    /**
     * A buffer of {@code length} zero bytes.
     *
     * @param length its length in bytes, at least 1
     * @throws InvalidArgumentException if {@code length} is 0 or negative
     * @throws ResourceLimitException if the memory cannot be had
     */
    public SharedBuffer(long length) {
        this.handle = Native.sharedBufferNew(length);
        this.length = length;
        this.cleanable = Cleaners.CLEANER.register(this, new Release(handle));
    }

    private static final class Release implements Runnable {
        private final long handle;

        Release(long handle) {
            this.handle = handle;
        }

        @Override
        public void run() {
            Native.sharedBufferFree(handle);
        }
    }

    /** @return its length in bytes (fixed; still answers after {@link #close()}) */
    public long length() {
        return length;
    }

    /**
     * Copies all of {@code src} into the buffer at {@code offset}.
     *
     * @param offset where the first byte goes
     * @param src the bytes
     * @throws IndexOutOfBoundsException if {@code src} does not fit at {@code offset}
     * @throws IllegalStateException if a call reads the buffer now (nothing was written)
     * @throws ClosedException if the buffer is closed
     */
    public void put(long offset, byte[] src) {
        Objects.requireNonNull(src, "src");
        put(offset, src, 0, src.length);
    }

    /**
     * Copies {@code src[srcOffset, srcOffset + length)} into the buffer at {@code offset}.
     *
     * @param offset where the first byte goes
     * @param src the array
     * @param srcOffset the first byte of {@code src} to copy
     * @param length the number of bytes
     * @throws IndexOutOfBoundsException if the range is not inside {@code src}, or does not fit at
     *     {@code offset}
     * @throws IllegalStateException if a call reads the buffer now (nothing was written)
     * @throws ClosedException if the buffer is closed
     */
    public void put(long offset, byte[] src, int srcOffset, int length) {
        Objects.requireNonNull(src, "src");
        Objects.checkFromIndexSize(srcOffset, length, src.length);
        checkRange(offset, length);
        ensureOpen();
        try {
            if (!Native.sharedBufferPut(handle, offset, src, srcOffset, length)) {
                throw refused();
            }
        } finally {
            Reference.reachabilityFence(this);
        }
    }

    /**
     * Copies {@code src}'s remaining bytes into the buffer at {@code offset}; on success
     * {@code src}'s position advances to its limit (as {@link ByteBuffer#put(ByteBuffer)} advances
     * its source), on an exception it does not move. Direct, heap and read-only buffers are all
     * accepted.
     *
     * @param offset where the first byte goes
     * @param src the bytes
     * @throws IndexOutOfBoundsException if the bytes do not fit at {@code offset}
     * @throws IllegalStateException if a call reads the buffer now (nothing was written)
     * @throws ClosedException if the buffer is closed
     */
    public void put(long offset, ByteBuffer src) {
        Objects.requireNonNull(src, "src");
        int pos = src.position();
        int len = src.remaining();
        if (src.hasArray()) {
            put(offset, src.array(), src.arrayOffset() + pos, len);
        } else if (src.isDirect()) {
            checkRange(offset, len);
            ensureOpen();
            try {
                if (!Native.sharedBufferPutDirect(handle, offset, src, pos, len)) {
                    throw refused();
                }
            } finally {
                Reference.reachabilityFence(this);
            }
        } else {
            checkRange(offset, len); // before the copy
            byte[] copy = new byte[len]; // a read-only heap buffer: no array to read
            src.duplicate().get(copy);
            put(offset, copy, 0, len);
        }
        src.position(pos + len);
    }

    /**
     * Copies bytes of the buffer from {@code offset} into all of {@code dst}.
     *
     * @param offset the first byte to copy
     * @param dst where the bytes go
     * @throws IndexOutOfBoundsException if the buffer has fewer than {@code dst.length} bytes from
     *     {@code offset}
     * @throws ClosedException if the buffer is closed
     */
    public void get(long offset, byte[] dst) {
        Objects.requireNonNull(dst, "dst");
        get(offset, dst, 0, dst.length);
    }

    /**
     * Copies {@code length} bytes of the buffer from {@code offset} into
     * {@code dst[dstOffset, dstOffset + length)}.
     *
     * @param offset the first byte to copy
     * @param dst where the bytes go
     * @param dstOffset where in {@code dst} the first byte goes
     * @param length the number of bytes
     * @throws IndexOutOfBoundsException if either range is outside its buffer or array
     * @throws ClosedException if the buffer is closed
     */
    public void get(long offset, byte[] dst, int dstOffset, int length) {
        Objects.requireNonNull(dst, "dst");
        Objects.checkFromIndexSize(dstOffset, length, dst.length);
        checkRange(offset, length);
        ensureOpen();
        try {
            Native.sharedBufferGet(handle, offset, dst, dstOffset, length);
        } finally {
            Reference.reachabilityFence(this);
        }
    }

    /**
     * A copy of {@code length} bytes from {@code offset}.
     *
     * @param offset the first byte to copy
     * @param length the number of bytes
     * @return a new array of {@code length} bytes
     * @throws IndexOutOfBoundsException if the range is outside the buffer
     * @throws ClosedException if the buffer is closed
     */
    public byte[] get(long offset, int length) {
        checkRange(offset, length);
        byte[] dst = new byte[length];
        get(offset, dst, 0, length);
        return dst;
    }

    /** @return true once {@link #close()} was called */
    public boolean isClosed() {
        return closed;
    }

    /**
     * Frees the memory (a worker that held it lets it go at its next call); idempotent. Calls
     * reading the buffer now finish with it, and the memory is freed when the last returns; every
     * later use throws {@link ClosedException}.
     */
    @Override
    public void close() {
        closed = true;
        cleanable.clean();
    }

    @Override
    public String toString() {
        return "SharedBuffer(" + length + " bytes" + (closed ? ", closed)" : ")");
    }

    /** The native id, for {@link Method}: keep this object reachable while it is used. */
    long handle() {
        ensureOpen();
        return handle;
    }

    /** {@code [offset, offset + length)} inside the buffer, or IndexOutOfBoundsException. */
    void checkRange(long offset, long count) {
        Objects.checkFromIndexSize(offset, count, length);
    }

    private void ensureOpen() {
        if (closed) {
            throw new ClosedException("closed: shared buffer is closed");
        }
    }

    private static IllegalStateException refused() {
        return new IllegalStateException(
                "a call is reading this SharedBuffer: write it after the call returns");
    }
}
