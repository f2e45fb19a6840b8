import example.std.Std;
import io.bridgehost.Host;
import io.bridgehost.InvalidArgumentException;
import io.bridgehost.ModuleOptions;
import io.bridgehost.Subscription;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/**
 * The typed part of the Java demo: the std module called through the class {@code bridgehost bindgen
 * --lang java} generated from the module's own WIT interface ({@code scripts/java.sh demo} generates
 * it, compiles it with this file against the jar and runs it), in-process and isolated.
 * Exits with status 1 if any step gives a wrong result.
 */
public final class TypedDemo {
    private TypedDemo() {}

    public static void main(String[] args) throws Exception {
        try (Host host = Host.create()) {
            for (ModuleOptions mode : List.of(ModuleOptions.defaults(), ModuleOptions.isolated())) {
                try (Std std = Std.open(host, "std", mode)) {
                    long sum = std.add(4000000000L, 300000000L); // u32 arithmetic, modulo 2^32
                    check(sum == (4300000000L & 0xffffffffL), "add wraps modulo 2^32");
                    Std.Summary s = std.stats(List.of(1.5, -2.0, 7.0)).orElseThrow();
                    check(s.count() == 3 && s.max() == 7.0 && s.min() == -2.0, "stats");
                    check(std.stats(List.of()).isEmpty(), "stats of nothing is empty");
                    long async = std.addAsync(40, 2).get(10, TimeUnit.SECONDS);
                    check(async == 42, "addAsync");
                    System.out.println("typed (" + mode.isolation() + "): add = " + sum + ", " + s
                            + ", addAsync(40, 2) = " + async);
                    try {
                        std.add(1, 1L << 32);
                        check(false, "an out-of-range u32 must be refused");
                    } catch (InvalidArgumentException e) {
                        System.out.println("typed: refused before the call: " + e.getMessage());
                    }
                    CountDownLatch ticks = new CountDownLatch(3);
                    try (Subscription sub = std.onTick(seq -> ticks.countDown())) {
                        check(sub.isActive(), "subscribed");
                        std.tick(3, 1, Optional.empty());
                        check(ticks.await(10, TimeUnit.SECONDS), "3 typed tick events");
                    }
                    System.out.println("typed: 3 tick events decoded as u64 sequence numbers");
                }
            }
        }
        System.out.println("typed demo: OK");
    }

    private static void check(boolean ok, String what) {
        if (!ok) {
            System.out.println("typed demo: FAILED: " + what);
            System.exit(1);
        }
    }
}
