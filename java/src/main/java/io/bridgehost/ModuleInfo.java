package io.bridgehost;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

/**
 * What a module declares, as {@link Host#inspect(String)} found it (validated, without opening the
 * module). Immutable.
 */
public final class ModuleInfo {
    private static final int STATEFUL = 1;
    private static final int TYPED = 2;
    private static final int NONBLOCKING = 1;

    private final String name;
    private final String version;
    private final String path;
    private final int abiVersion;
    private final String threadModel;
    private final boolean stateful;
    private final boolean typed;
    private final List<String> methodNames;
    private final List<String> nonblockingMethods;

    private ModuleInfo(String name, String version, String path, int abiVersion, String threadModel,
            boolean stateful, boolean typed, List<String> methodNames, List<String> nonblockingMethods) {
        this.name = name;
        this.version = version;
        this.path = path;
        this.abiVersion = abiVersion;
        this.threadModel = threadModel;
        this.stateful = stateful;
        this.typed = typed;
        this.methodNames = Collections.unmodifiableList(methodNames);
        this.nonblockingMethods = Collections.unmodifiableList(nonblockingMethods);
    }

    /** Decodes the native side's description ({@code bridgehost::encode_info}). */
    static ModuleInfo decode(byte[] d) {
        try {
            ByteBuffer b = ByteBuffer.wrap(d).order(ByteOrder.LITTLE_ENDIAN);
            int abi = b.getInt();
            int model = b.getInt();
            int flags = b.getInt();
            int count = b.getInt();
            String name = string(b);
            String version = string(b);
            String path = string(b);
            if (count < 0 || count > d.length) {
                throw new InternalException("module description: " + count + " methods");
            }
            List<String> methods = new ArrayList<>(count);
            List<String> nonblocking = new ArrayList<>();
            for (int i = 0; i < count; i++) {
                int methodFlags = b.getInt();
                String m = string(b);
                methods.add(m);
                if ((methodFlags & NONBLOCKING) != 0) {
                    nonblocking.add(m);
                }
            }
            if (b.hasRemaining()) {
                throw new InternalException("module description: " + b.remaining() + " trailing bytes");
            }
            return new ModuleInfo(name, version, path, abi, threadModelName(model),
                    (flags & STATEFUL) != 0, (flags & TYPED) != 0, methods, nonblocking);
        } catch (java.nio.BufferUnderflowException | IllegalArgumentException e) {
            InternalException x = new InternalException("module description truncated: " + e);
            x.initCause(e);
            throw x;
        }
    }

    private static String string(ByteBuffer b) {
        int n = b.getInt();
        if (n < 0 || n > b.remaining()) {
            throw new InternalException("module description: a string of " + n + " bytes");
        }
        byte[] s = new byte[n];
        b.get(s);
        return new String(s, StandardCharsets.UTF_8);
    }

    private static String threadModelName(int model) {
        switch (model) {
            case 0: return "thread-safe";
            case 1: return "serialized";
            case 2: return "single-thread";
            default: throw new InternalException("module description: thread model " + model);
        }
    }

    /** @return the name the module declares */
    public String name() { return name; }

    /** @return the version the module declares */
    public String version() { return version; }

    /** @return the file the module was loaded from */
    public String path() { return path; }

    /** @return the module ABI version (1) */
    public int abiVersion() { return abiVersion; }

    /**
     * @return the module's thread model ({@code "thread-safe"}, {@code "serialized"},
     *     {@code "single-thread"}), as {@link NativeModule#threadModel()}
     */
    public String threadModel() { return threadModel; }

    /**
     * @return true when the module declares itself stateful: isolated, it runs in one worker and a
     *     worker restart is reported once as {@link StateLostException}
     */
    public boolean isStateful() { return stateful; }

    /** @return true when the module embeds a typed interface (docs/TYPED.md) */
    public boolean isTyped() { return typed; }

    /** @return the names of the module's methods, in declaration order */
    public List<String> methodNames() { return methodNames; }

    /** @return the methods the module promises never block */
    public List<String> nonblockingMethods() { return nonblockingMethods; }

    @Override
    public String toString() {
        return "ModuleInfo[" + name + " " + version + ", " + threadModel + ", methods " + methodNames + "]";
    }
}
