package io.bridgehost.probe;

import io.bridgehost.Host;
import io.bridgehost.HostOptions;
import io.bridgehost.Method;
import io.bridgehost.NativeModule;
import java.nio.charset.StandardCharsets;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Run by ThreadsTest in a child JVM (Java 21+) with 2 virtual-thread carriers and no compensation
 * ({@code -Djdk.virtualThreadScheduler.parallelism=2 -Djdk.virtualThreadScheduler.maxPoolSize=2}):
 * CALLS virtual threads each make one blocking call, {@code std.sleep_ms(MS)}, while a heartbeat
 * virtual thread ticks. If each call pinned its carrier, the calls could run only two at a time:
 * at least CALLS / 2 * MS ms in all, with the heartbeat starved meanwhile. Prints the elapsed time,
 * the heartbeat's ticks during the calls and the longest gap between two ticks.
 * Reflection only for virtual threads (the tests compile for Java 17).
 */
public final class VirtualPinProbe {
    private VirtualPinProbe() {}

    public static void main(String[] args) throws Exception {
        String dist = args[0];
        int calls = Integer.parseInt(args[1]);
        int ms = Integer.parseInt(args[2]);
        ExecutorService vts = (ExecutorService) Executors.class.getMethod("newVirtualThreadPerTaskExecutor").invoke(null);
        try (Host host = Host.create(HostOptions.defaults().withModuleDirs(List.of(Paths.get(dist))));
             NativeModule std = host.open("std")) {
            Method sleep = std.method("sleep_ms");
            AtomicBoolean stop = new AtomicBoolean();
            AtomicLong ticks = new AtomicLong();
            AtomicLong maxGapNanos = new AtomicLong();
            CountDownLatch beating = new CountDownLatch(1);
            Future<?> heartbeat = vts.submit(() -> {
                long last = System.nanoTime();
                while (!stop.get()) {
                    Thread.sleep(5); // a virtual thread's sleep unmounts it
                    long now = System.nanoTime();
                    maxGapNanos.accumulateAndGet(now - last, Math::max);
                    last = now;
                    ticks.incrementAndGet();
                    beating.countDown();
                }
                return null;
            });
            if (!beating.await(30, TimeUnit.SECONDS)) {
                throw new IllegalStateException("heartbeat did not start");
            }
            byte[] input = Integer.toString(ms).getBytes(StandardCharsets.US_ASCII);
            long t0 = System.nanoTime();
            long ticks0 = ticks.get();
            maxGapNanos.set(0);
            List<Future<?>> fs = new ArrayList<>();
            for (int i = 0; i < calls; i++) {
                fs.add(vts.submit(() -> sleep.call(input)));
            }
            for (Future<?> f : fs) {
                f.get(120, TimeUnit.SECONDS);
            }
            long elapsedMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);
            long during = ticks.get() - ticks0;
            long gapMs = TimeUnit.NANOSECONDS.toMillis(maxGapNanos.get());
            stop.set(true);
            heartbeat.get(30, TimeUnit.SECONDS);
            System.out.println("elapsed-ms: " + elapsedMs);
            System.out.println("heartbeats: " + during);
            System.out.println("max-gap-ms: " + gapMs);
            System.out.println("probe: ok");
        } finally {
            vts.shutdown();
        }
    }
}
