package io.bridgehost.jmh;

import io.bridgehost.Host;
import io.bridgehost.Method;
import io.bridgehost.NativeModule;
import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.concurrent.TimeUnit;
import java.util.zip.CRC32C;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;

/**
 * Bulk throughput: the std module's CRC-32C over 64 MiB through {@code Method.call(byte[])} (input
 * copied into native memory) and {@code Method.call(ByteBuffer)} on a direct buffer (zero-copy),
 * compared by run.sh with the native Rust figure ({@code native.crc32c_64MiB}, same data pattern).
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
public class ChecksumBench {
    /** 64 MiB, as the native harness. */
    public static final int SIZE = 64 << 20;

    private Host host;
    private NativeModule std;
    private Method checksum;
    private byte[] data;
    private ByteBuffer direct;

    @Setup(Level.Trial)
    public void setup() {
        host = Host.create();
        std = host.open("std");
        checksum = std.method("checksum");
        data = new byte[SIZE];
        for (int i = 0; i < SIZE; i++) {
            data[i] = (byte) ((i * 2654435761L & 0xffffffffL) >>> 24); // bench/native's pattern
        }
        direct = ByteBuffer.allocateDirect(SIZE);
        direct.put(data).flip();
        // The module's result must be the real CRC-32C of the whole input, by both paths.
        CRC32C crc = new CRC32C();
        crc.update(data);
        long v = crc.getValue();
        byte[] expected = {(byte) (v >>> 24), (byte) (v >>> 16), (byte) (v >>> 8), (byte) v};
        if (!Arrays.equals(checksumArray(), expected) || !Arrays.equals(checksumDirect(), expected)) {
            throw new IllegalStateException("checksum differs from java.util.zip.CRC32C");
        }
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        std.close();
        host.close();
    }

    @Benchmark
    public byte[] checksumArray() {
        return checksum.call(data);
    }

    @Benchmark
    public byte[] checksumDirect() {
        direct.position(0);
        return checksum.call(direct);
    }
}
