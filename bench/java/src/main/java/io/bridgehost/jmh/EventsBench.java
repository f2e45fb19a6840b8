package io.bridgehost.jmh;

import io.bridgehost.Host;
import io.bridgehost.Method;
import io.bridgehost.NativeModule;
import io.bridgehost.Subscription;
import io.bridgehost.bench.BareEcho;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OperationsPerInvocation;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;

/**
 * Events delivered to a Java listener: the std module's ticker emits {@link #EVENTS} events from
 * its own thread; the host's dispatcher thread (attached once) delivers each to a {@code
 * Consumer<byte[]>}; one operation ends when the last one arrived. Baseline: {@code
 * BareEcho.attachPerEvent}, a native thread that attaches, calls the same kind of listener and
 * detaches for every event; and the JNI floor {@code BareEcho.attachedOnce}, the same loop on a
 * thread attached once (no queue, no core). Scores are per event (run.sh turns them into
 * events/s).
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
public class EventsBench {
    /** Events per operation through bridgehost. */
    public static final int EVENTS = 100_000;
    /** Events per operation through the attach-per-event baseline (~20 us each). */
    public static final int ATTACH_EVENTS = 2_000;

    private Host host;
    private NativeModule std;
    private Method ticker;
    private Subscription subscription;
    private byte[] tickerInput;

    /** The listener's state: written by the delivering thread only. */
    private static final class Counting implements Consumer<byte[]> {
        volatile long received;
        volatile long target = Long.MAX_VALUE;
        volatile CountDownLatch done = new CountDownLatch(1);
        long payloadSum; // consumes the payload

        @Override
        public void accept(byte[] data) {
            payloadSum += data[0];
            long r = received + 1;
            received = r;
            if (r == target) {
                done.countDown();
            }
        }

        /** Expect {@code n} more events; returns the latch to wait on. */
        CountDownLatch expect(long n) {
            CountDownLatch l = new CountDownLatch(1);
            done = l;
            target = received + n;
            return l;
        }
    }

    private final Counting bridged = new Counting();
    private final Counting attached = new Counting();
    private final Counting attachedOnce = new Counting();

    @Setup(Level.Trial)
    public void setup() {
        host = Host.create();
        std = host.open("std");
        ticker = std.method("ticker");
        subscription = std.subscribe("tick", bridged);
        tickerInput = ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putInt(EVENTS).array();
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        System.err.println("events: dropped by the host queue during the trial: "
                + std.counters().eventsDropped());
        subscription.close();
        std.close();
        host.close();
    }

    @Benchmark
    @OperationsPerInvocation(EVENTS)
    public long bridgeEvents() throws InterruptedException {
        CountDownLatch done = bridged.expect(EVENTS);
        ticker.call(tickerInput);
        if (!done.await(60, TimeUnit.SECONDS)) {
            throw new IllegalStateException("events missing: " + bridged.received);
        }
        return bridged.received;
    }

    @Benchmark
    @OperationsPerInvocation(ATTACH_EVENTS)
    public long attachPerEvent() {
        long n = BareEcho.attachPerEvent(attached, ATTACH_EVENTS);
        if (n != ATTACH_EVENTS) {
            throw new IllegalStateException("attachPerEvent delivered " + n + " of " + ATTACH_EVENTS);
        }
        return n + attached.payloadSum;
    }

    @Benchmark
    @OperationsPerInvocation(EVENTS)
    public long attachedOnce() {
        long n = BareEcho.attachedOnce(attachedOnce, EVENTS);
        if (n != EVENTS) {
            throw new IllegalStateException("attachedOnce delivered " + n + " of " + EVENTS);
        }
        return n + attachedOnce.payloadSum;
    }
}
