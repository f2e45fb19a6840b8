package io.bridgehost.probe;

import java.lang.reflect.Method;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Paths;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;

/**
 * Run in a child JVM whose class path does NOT contain io.bridgehost: loads the API through its own
 * URLClassLoader (parent: the platform loader), so no thread's context class loader can see the
 * classes the native callbacks use. Events, completions and exceptions must still work (catalog
 * Q15/Q29: classes and method ids resolved once at load). Reflection only.
 */
public final class IsolatedLoaderProbe {
    private IsolatedLoaderProbe() {}

    public static void main(String[] args) throws Exception {
        URL classes = Paths.get(args[0]).toUri().toURL();
        String dist = args[1];
        try (URLClassLoader loader = new URLClassLoader(new URL[] {classes}, ClassLoader.getPlatformClassLoader())) {
            ClassLoader system = ClassLoader.getSystemClassLoader();
            try {
                system.loadClass("io.bridgehost.Host");
                System.out.println("probe: WRONG (the system class loader sees io.bridgehost)");
                return;
            } catch (ClassNotFoundException expected) {
                // good: only `loader` can see the API
            }
            Class<?> hostC = loader.loadClass("io.bridgehost.Host");
            Class<?> optsC = loader.loadClass("io.bridgehost.HostOptions");
            Object opts = optsC.getMethod("defaults").invoke(null);
            opts = optsC.getMethod("withModuleDirs", java.util.List.class)
                    .invoke(opts, java.util.List.of(Paths.get(dist)));
            Object host = hostC.getMethod("create", optsC).invoke(null, opts);
            Object std = hostC.getMethod("open", String.class).invoke(host, "std");
            Class<?> moduleC = std.getClass();
            Method method = moduleC.getMethod("method", String.class);
            Object ticker = method.invoke(std, "ticker");
            Object echo = method.invoke(std, "echo");
            Class<?> methodC = echo.getClass();

            AtomicLong events = new AtomicLong();
            AtomicLong loaderSeen = new AtomicLong();
            Consumer<byte[]> listener = d -> {
                events.incrementAndGet();
                if (Thread.currentThread().getContextClassLoader() == loader) {
                    loaderSeen.incrementAndGet();
                }
            };
            Object sub = moduleC.getMethod("subscribe", String.class, Consumer.class).invoke(std, "tick", listener);
            byte[] args8 = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putInt(100).putInt(0).array();
            methodC.getMethod("call", byte[].class).invoke(ticker, (Object) args8);
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            while (events.get() < 100 && System.nanoTime() < deadline) {
                Thread.sleep(5);
            }
            System.out.println("events: " + events.get() + " (context loader was the API's: " + loaderSeen.get() + ")");

            @SuppressWarnings("unchecked")
            CompletableFuture<byte[]> f = (CompletableFuture<byte[]>) methodC.getMethod("submit", byte[].class)
                    .invoke(echo, (Object) new byte[] {7});
            byte[] r = f.get(30, TimeUnit.SECONDS);
            System.out.println("completion: " + r[0]);

            Object fail = method.invoke(std, "fail");
            CompletableFuture<?> ff = (CompletableFuture<?>) methodC.getMethod("submit", byte[].class)
                    .invoke(fail, (Object) new byte[] {'x'});
            String failure;
            try {
                ff.get(30, TimeUnit.SECONDS);
                failure = "none";
            } catch (java.util.concurrent.ExecutionException e) {
                failure = e.getCause().getClass().getName()
                        + (e.getCause().getClass().getClassLoader() == loader ? " from the API's loader" : " from ANOTHER loader");
            }
            System.out.println("async-failure: " + failure);
            try {
                hostC.getMethod("open", String.class).invoke(host, "no_such_module");
                System.out.println("sync-failure: none");
            } catch (java.lang.reflect.InvocationTargetException e) {
                Throwable c = e.getCause();
                System.out.println("sync-failure: " + c.getClass().getName()
                        + (c.getClass().getClassLoader() == loader ? " from the API's loader" : " from ANOTHER loader"));
            }
            sub.getClass().getMethod("close").invoke(sub);
            hostC.getMethod("close").invoke(host);
            boolean ok = events.get() == 100 && r[0] == 7;
            System.out.println(ok ? "probe: ok" : "probe: WRONG");
        }
    }
}
