package io.bridgehost.probe;

import io.bridgehost.Host;
import io.bridgehost.HostOptions;
import io.bridgehost.NativeModule;
import java.nio.file.Paths;
import java.util.List;

/** Run in a child JVM by LoaderTest: loads the library, calls echo, prints where it came from. */
public final class LoaderProbe {
    private LoaderProbe() {}

    public static void main(String[] args) {
        System.out.println("loaded-from: " + Host.loadNativeLibrary());
        HostOptions o = HostOptions.defaults();
        if (args.length > 0) {
            o = o.withModuleDirs(List.of(Paths.get(args[0])));
        }
        try (Host host = Host.create(o); NativeModule std = host.open("std")) {
            byte[] r = std.method("echo").call(new byte[] {42});
            System.out.println("module-path: " + std.path());
            System.out.println(r.length == 1 && r[0] == 42 ? "probe: ok" : "probe: WRONG");
        }
    }
}
