package io.bridgehost.probe;

import io.bridgehost.Host;
import io.bridgehost.HostOptions;
import io.bridgehost.ModuleOptions;
import io.bridgehost.NativeModule;
import java.nio.file.Paths;
import java.util.List;
import java.util.concurrent.CompletableFuture;

/**
 * Run by ExitTest in a child JVM: submits an isolated call that hangs forever ({@code faulty.hang}),
 * waits until the worker runs it, then returns from main either without closing anything
 * ({@code exit}) or after {@code host.close()} ({@code close}). Prints {@code returning <millis>}
 * just before main returns; the JVM must then exit promptly.
 */
public final class ExitProbe {
    private ExitProbe() {}

    public static void main(String[] args) throws Exception {
        String dist = args[0];
        boolean close = args[1].equals("close");
        Host host = Host.create(HostOptions.defaults().withModuleDirs(List.of(Paths.get(dist))));
        NativeModule m = host.open("faulty", ModuleOptions.isolated());
        CompletableFuture<byte[]> f = m.method("hang").submit(new byte[0]);
        long deadline = System.nanoTime() + 30_000_000_000L;
        while (m.counters().calls() < 1 && System.nanoTime() < deadline) {
            Thread.sleep(10);
        }
        System.out.println("hanging " + m.counters().calls());
        if (close) {
            host.close();
            System.out.println("closed " + f.isCompletedExceptionally());
        }
        System.out.println("returning " + System.currentTimeMillis());
        System.out.flush();
    }
}
