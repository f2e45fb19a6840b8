package io.bridgehost.probe;

import io.bridgehost.Host;
import io.bridgehost.HostOptions;
import io.bridgehost.ModuleOptions;
import io.bridgehost.NativeModule;
import java.nio.file.Paths;
import java.util.List;

/** Run in a child JVM by LoaderTest: loads the library, calls echo, prints where it came from. */
public final class LoaderProbe {
    private LoaderProbe() {}

    public static void main(String[] args) {
        System.out.println("loaded-from: " + Host.loadNativeLibrary());
        HostOptions o = HostOptions.defaults();
        if (args.length > 0 && !args[0].startsWith("--")) {
            o = o.withModuleDirs(List.of(Paths.get(args[0])));
        }
        try (Host host = Host.create(o); NativeModule std = host.open("std")) {
            byte[] r = std.method("echo").call(new byte[] {42});
            System.out.println("module-path: " + std.path());
            System.out.println(r.length == 1 && r[0] == 42 ? "probe: ok" : "probe: WRONG");
        }
        if (List.of(args).contains("--isolated")) {
            // The same module in a sandboxed worker, opened from where the natives were extracted.
            try (Host host = Host.create(HostOptions.defaults());
                    NativeModule std = host.open("std", ModuleOptions.isolated())) {
                byte[] r = std.method("echo").call(new byte[] {43});
                System.out.println(r.length == 1 && r[0] == 43 ? "isolated: ok" : "isolated: WRONG");
            }
        }
    }
}
