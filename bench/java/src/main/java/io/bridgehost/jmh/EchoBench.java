package io.bridgehost.jmh;

import io.bridgehost.Host;
import io.bridgehost.Method;
import io.bridgehost.NativeModule;
import io.bridgehost.bench.BareEcho;
import java.util.Arrays;
import java.util.concurrent.TimeUnit;
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
 * Per-call cost of a 16-byte echo: {@code Method.call(byte[])} on the std module's {@code echo}
 * against two bare native methods in the same library and jar doing the same copy-in/copy-out:
 * {@code BareEcho.rawEcho} (raw JNI function table, the floor) and {@code BareEcho.crateEcho}
 * (the jni crate's generic entry). Each result is returned, so JMH consumes it (a blackhole): the
 * JIT cannot drop the call.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
public class EchoBench {
    private Host host;
    private NativeModule std;
    private Method echo;
    private byte[] input;

    @Setup(Level.Trial)
    public void setup() {
        host = Host.create();
        std = host.open("std");
        echo = std.method("echo");
        input = new byte[16];
        for (int i = 0; i < input.length; i++) {
            input[i] = (byte) (i * 7 + 1);
        }
        // Every measured call must do the real work: check each once before measuring.
        check("Method.call", echo.call(input));
        check("rawEcho", BareEcho.rawEcho(input));
        check("crateEcho", BareEcho.crateEcho(input));
    }

    private void check(String what, byte[] out) {
        if (!Arrays.equals(out, input)) {
            throw new IllegalStateException(what + " did not echo its input");
        }
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        std.close();
        host.close();
    }

    @Benchmark
    public byte[] methodCall() {
        return echo.call(input);
    }

    @Benchmark
    public byte[] rawEcho() {
        return BareEcho.rawEcho(input);
    }

    @Benchmark
    public byte[] crateEcho() {
        return BareEcho.crateEcho(input);
    }
}
