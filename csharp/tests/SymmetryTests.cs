// Issue 17 item 3: the C# column of docs/SYMMETRY.md (the one table of names across Java, Python,
// C# and C) matches the public API of BridgeHost.dll. Fails when a listed type, method, property
// or exception is missing or not public, or an exception is not an IBridgeHostException of the
// row's kind. And the reverse (PublicMembersAreListed): every public type and member of the
// assembly is listed in the table (its C# column) or in the table of members one runtime has for
// its own idiom, so C# cannot grow API the other runtimes lack without anyone noticing.
using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Reflection;
using System.Text.RegularExpressions;
using System.Threading;

namespace BridgeHost.Tests
{
    public sealed class SymmetryTests
    {
        private static string Doc()
        {
            foreach (var start in new[] { Directory.GetCurrentDirectory(), AppDomain.CurrentDomain.BaseDirectory })
            {
                for (var d = new DirectoryInfo(start); d != null; d = d.Parent)
                {
                    var p = Path.Combine(d.FullName, "docs", "SYMMETRY.md");
                    if (File.Exists(p)) return p;
                }
            }
            var root = Environment.GetEnvironmentVariable("BRIDGEHOST_ROOT");
            if (root != null && File.Exists(Path.Combine(root, "docs", "SYMMETRY.md")))
                return Path.Combine(root, "docs", "SYMMETRY.md");
            throw new CheckFailedException("docs/SYMMETRY.md not found above " + Directory.GetCurrentDirectory());
        }

        // Rows between the markers: { kind, item, C# name or null for a gap }.
        private static List<string[]> Rows()
        {
            var text = File.ReadAllText(Doc());
            var body = text.Substring(text.LastIndexOf("<!-- symmetry:begin -->", StringComparison.Ordinal));
            body = body.Substring(0, body.IndexOf("<!-- symmetry:end -->", StringComparison.Ordinal));
            var lines = body.Trim().Split('\n');
            var rows = new List<string[]>();
            for (int i = 3; i < lines.Length; i++) // marker, header, separator
            {
                var cells = lines[i].Trim().TrimStart('|').Split('|');
                var m = Regex.Match(cells[4].Trim(), "^`([^`]+)`$");
                rows.Add(new[] { cells[0].Trim(), cells[1].Trim(), m.Success ? m.Groups[1].Value : null });
            }
            return rows;
        }

        private static string Pascal(string snake)
        {
            return string.Concat(snake.Split('_').Select(w => char.ToUpperInvariant(w[0]) + w.Substring(1)));
        }

        private static Type PublicType(string where, string simple)
        {
            var t = typeof(Host).Assembly.GetType("BridgeHost." + simple);
            if (t == null || !t.IsPublic) throw new CheckFailedException(where + ": no public type BridgeHost." + simple);
            return t;
        }

        private static void CheckRow(string kind, string item, string name)
        {
            var where = kind + " " + item + ": C# name `" + name + "`";
            switch (kind)
            {
                case "noun":
                    PublicType(where, name);
                    break;
                case "operation":
                case "property":
                case "host_option":
                case "module_option":
                {
                    int dot = name.IndexOf('.');
                    var t = PublicType(where, dot < 0 ? name : name.Substring(0, dot));
                    if (dot >= 0)
                    {
                        var member = name.Substring(dot + 1);
                        var found = t.GetMember(member, BindingFlags.Public | BindingFlags.Instance | BindingFlags.Static);
                        var want = kind == "operation" ? MemberTypes.Method : MemberTypes.Property;
                        if (!found.Any(m => m.MemberType == want || (kind == "property" && m.MemberType == MemberTypes.Field)))
                            throw new CheckFailedException(where + " is not a public " + want.ToString().ToLowerInvariant() + " of " + t.Name);
                    }
                    break;
                }
                case "error":
                {
                    var t = PublicType(where, name);
                    if (!typeof(Exception).IsAssignableFrom(t) || !typeof(IBridgeHostException).IsAssignableFrom(t))
                        throw new CheckFailedException(where + " is not an Exception implementing IBridgeHostException");
                    // The runtime's own bad-argument type too (the table's note).
                    if (item == "invalid_argument" && !typeof(ArgumentException).IsAssignableFrom(t))
                        throw new CheckFailedException(where + " is not an ArgumentException");
                    if (!Enum.IsDefined(typeof(ErrorKind), Pascal(item)))
                        throw new CheckFailedException(where + ": ErrorKind has no " + Pascal(item));
                    break;
                }
                case "wait":
                {
                    // A public method with the row's parameter (a TimeSpan?), and the core's rule
                    // behind it: a negative duration is refused with the core's message, whose
                    // subject is the item in words.
                    var m = Regex.Match(name, @"^(\w+)\.(\w+)\((\w+)\)$");
                    if (!m.Success) throw new CheckFailedException(where + " is not Type.Member(param)");
                    var t = PublicType(where, m.Groups[1].Value);
                    var param = m.Groups[3].Value;
                    var found = t.GetMethods(BindingFlags.Public | BindingFlags.Instance)
                        .Where(x => x.Name == m.Groups[2].Value)
                        .Any(x => x.GetParameters().Any(p => p.Name == param && p.ParameterType == typeof(TimeSpan?)));
                    if (!found)
                        throw new CheckFailedException(where + ": " + t.Name + " has no public " + m.Groups[2].Value + " with a TimeSpan? " + param);
                    Action mistake;
                    if (!NegativeWaits.TryGetValue(item, out mistake))
                        throw new CheckFailedException(where + ": this test cannot pass a negative " + item);
                    Exception got = null;
                    try { mistake(); }
                    catch (Exception e) { got = e; }
                    var subject = "invalid argument: " + item.Replace('_', ' ') + " must be ";
                    if (!(got is InvalidArgumentException) || !got.Message.StartsWith(subject, StringComparison.Ordinal))
                        throw new CheckFailedException(where + ": a negative one threw " + (got == null ? "nothing" : got.GetType().Name + ": " + got.Message));
                    break;
                }
                case "idiom":
                {
                    // The platform's own exception (System), and the mistake really throws it.
                    var t = typeof(Exception).Assembly.GetType("System." + name);
                    if (t == null || !typeof(Exception).IsAssignableFrom(t))
                        throw new CheckFailedException(where + ": no exception type System." + name);
                    if (item == "out_of_range" && !typeof(ArgumentException).IsAssignableFrom(t))
                        throw new CheckFailedException(where + " is not an ArgumentException");
                    Action<Action<Action>> provoke;
                    if (!Idioms.TryGetValue(item, out provoke))
                        throw new CheckFailedException(where + ": this test cannot make the " + item + " mistake");
                    provoke(mistake =>
                    {
                        Exception got = null;
                        try { mistake(); }
                        catch (Exception e) { got = e; }
                        if (got == null || !t.IsInstanceOfType(got))
                            throw new CheckFailedException(where + ": the mistake threw " + (got == null ? "nothing" : got.GetType().Name + ": " + got.Message));
                    });
                    break;
                }
                default:
                    throw new CheckFailedException("unknown row kind " + kind);
            }
        }

        // Each wait row's argument passed negative through the public API.
        private static readonly Dictionary<string, Action> NegativeWaits = new Dictionary<string, Action>
        {
            {
                "flush_timeout", () =>
                {
                    using (var host = new Host())
                    using (var std = host.Open("std"))
                    {
                        std.Flush(TimeSpan.FromSeconds(-1));
                    }
                }
            },
            {
                "inspect_deadline", () =>
                {
                    using (var host = new Host())
                    {
                        host.Inspect("std", TimeSpan.FromSeconds(-1));
                    }
                }
            },
        };

        // The mistake behind each idiom row, made through the public API: each is handed to the
        // check (which expects the row's exception) while the objects it needs are alive.
        private static readonly Dictionary<string, Action<Action<Action>>> Idioms = new Dictionary<string, Action<Action<Action>>>
        {
            {
                "out_of_range", check =>
                {
                    using (var host = new Host())
                    using (var std = host.Open("std"))
                    using (var buf = new SharedBuffer(16))
                    {
                        var echo = std.GetMethod("echo");
                        check(() => echo.Call(buf, 10, 7));
                        check(() => echo.Call(buf, -1, 1));
                        check(() => echo.Call(buf, 0, -1));
                        check(() => echo.Call(buf, int.MaxValue, 2));
                    }
                }
            },
        };

        [Case]
        public void CSharpMatchesTheSymmetryTable()
        {
            var rows = Rows();
            Check.True(rows.Count > 40, "docs/SYMMETRY.md has " + rows.Count + " rows");
            var problems = new List<string>();
            foreach (var r in rows)
            {
                if (r[2] == null) continue;
                try { CheckRow(r[0], r[1], r[2]); }
                catch (CheckFailedException e) { problems.Add(e.Message); }
            }
            Check.True(problems.Count == 0, "C# drifted from docs/SYMMETRY.md:\n" + string.Join("\n", problems));
        }

        // The idiom table between its markers: the C# rows' names (backticked; `*` a wildcard) as
        // regexes. The parser is the C script's (scripts/check_symmetry_c.py, idioms()) in C#.
        private static List<Regex> IdiomPatterns()
        {
            var text = File.ReadAllText(Doc());
            var body = text.Substring(text.LastIndexOf("<!-- idioms:begin -->", StringComparison.Ordinal));
            body = body.Substring(0, body.IndexOf("<!-- idioms:end -->", StringComparison.Ordinal));
            var lines = body.Trim().Split('\n');
            var patterns = new List<Regex>();
            for (int i = 3; i < lines.Length; i++) // marker, header, separator
            {
                var cells = lines[i].Trim().TrimStart('|').Split('|');
                if (cells.Length < 3 || cells[2].Trim().Length == 0)
                    throw new CheckFailedException("idiom table: a row needs a name and a reason: " + lines[i]);
                if (cells[0].Trim() != "C#") continue;
                foreach (Match m in Regex.Matches(cells[1], "`([^`]+)`"))
                    patterns.Add(new Regex("^" + Regex.Escape(m.Groups[1].Value).Replace(@"\*", ".*") + "$"));
            }
            return patterns;
        }

        // `Outer.Inner` for a nested type; a generic type without its arity (`Option`1` is `Option`).
        private static string TypeName(Type t)
        {
            var name = t.Name;
            int tick = name.IndexOf('`');
            if (tick >= 0) name = name.Substring(0, tick);
            return t.DeclaringType == null ? name : TypeName(t.DeclaringType) + "." + name;
        }

        // The method behind a member (a property's or event's accessor), or null.
        private static MethodInfo Accessor(MemberInfo m)
        {
            var method = m as MethodInfo;
            var p = m as PropertyInfo;
            var e = m as EventInfo;
            if (p != null) method = p.GetGetMethod() ?? p.GetSetMethod();
            if (e != null) method = e.GetAddMethod();
            return method;
        }

        // True when the member is counted elsewhere or not at all: an override of a base member
        // (System's: ToString, Message, ...; a BridgeHost base's: counted on the base), or the
        // implementation of a member of a public BridgeHost interface (counted on the interface).
        private static bool Inherited(Type t, MemberInfo m)
        {
            if (m.Name == "Equals" || m.Name == "GetHashCode" || m.Name == "ToString") return true; // System.Object's
            var method = Accessor(m);
            if (method == null) return false;
            if (method.GetBaseDefinition().DeclaringType != t) return true;
            foreach (var iface in t.GetInterfaces())
            {
                if (iface.Assembly != typeof(Host).Assembly || !iface.IsPublic) continue;
                if (t.GetInterfaceMap(iface).TargetMethods.Contains(method)) return true;
            }
            return false;
        }

        // The public surface of BridgeHost.dll as docs/SYMMETRY.md spells it: `Type` for each public
        // type of namespace BridgeHost (`Outer.Inner` nested; not BridgeHost.Typed, the support of
        // generated bindings, as Java's io.bridgehost.typed), `Type.Member` for each public method
        // (overloads once), property, field and event it declares. Not counted: constructors,
        // accessors and other special names, enum values, a delegate's Invoke, compiler-generated
        // members, overrides of System members. A member of a public BridgeHost base type or
        // interface is counted once, on it.
        internal static SortedSet<string> PublicSurface()
        {
            var surface = new SortedSet<string>(StringComparer.Ordinal);
            foreach (var t in typeof(Host).Assembly.GetExportedTypes())
            {
                if (t.Namespace != "BridgeHost") continue;
                if (t.IsDefined(typeof(System.Runtime.CompilerServices.CompilerGeneratedAttribute), false)) continue;
                var name = TypeName(t);
                surface.Add(name);
                if (t.IsEnum || typeof(Delegate).IsAssignableFrom(t)) continue;
                const BindingFlags flags = BindingFlags.Public | BindingFlags.Instance | BindingFlags.Static | BindingFlags.DeclaredOnly;
                foreach (var m in t.GetMembers(flags))
                {
                    if (m.IsDefined(typeof(System.Runtime.CompilerServices.CompilerGeneratedAttribute), false)) continue;
                    if (m is ConstructorInfo || m is Type) continue;
                    var method = m as MethodInfo;
                    if (method != null && method.IsSpecialName) continue;
                    if (Inherited(t, m)) continue;
                    surface.Add(name + "." + m.Name);
                }
            }
            return surface;
        }

        // What the main table lists in the C# column (`A.B(param)` lists `A.B`).
        private static HashSet<string> TableNames()
        {
            var names = new HashSet<string>(StringComparer.Ordinal);
            foreach (var r in Rows())
                if (r[2] != null) names.Add(r[2].Split('(')[0]);
            return names;
        }

        internal static List<string> Unlisted(IEnumerable<string> surface)
        {
            var names = TableNames();
            var patterns = IdiomPatterns();
            return surface.Where(m => !names.Contains(m) && !patterns.Any(p => p.IsMatch(m))).ToList();
        }

        [Case]
        public void PublicMembersAreListed()
        {
            var surface = PublicSurface();
            Check.True(surface.Contains("Host") && surface.Contains("Method.Call") && surface.Count > 40,
                "the C# public surface was not enumerated: " + string.Join(", ", surface));
            var missing = Unlisted(surface);
            Check.True(missing.Count == 0, "public members of BridgeHost listed in neither table of docs/SYMMETRY.md "
                + "(a row's C# column, or the idiom table with runtime C#): " + string.Join(", ", missing));
            // An idiom entry that matches nothing is stale (the member was removed or renamed).
            var stale = IdiomPatterns().Where(p => !surface.Any(m => p.IsMatch(m))).Select(p => p.ToString()).ToList();
            Check.True(stale.Count == 0, "idiom table entries for C# that name no public member: " + string.Join(", ", stale));
        }

        [Case]
        public void ThreadNameNamesTheHostsThreads()
        {
            // thread_name is a host option in every runtime (issue 17 item 3): the event thread
            // is "<ThreadName>-events".
            using (var host = new Host(new HostOptions { ThreadName = "bhcs-tn" }))
            {
                Check.Eventually(() => Directory.GetDirectories("/proc/self/task").Any(t =>
                {
                    try { return File.ReadAllText(Path.Combine(t, "comm")).Trim() == "bhcs-tn-events"; }
                    catch (IOException) { return false; }
                }), 10, "a thread named bhcs-tn-events");
            }
        }

        [Case]
        public void TheDefaultThreadNameIsTheCores()
        {
            // HostOptions.Defaults.ThreadName is the name a host left at the default gives its
            // threads, as Java's and Python's defaults (read from the core) are: the thread that
            // runs this host's event callbacks is "<ThreadName>-events" (the kernel keeps 15 bytes).
            string expected = HostOptions.Defaults.ThreadName + "-events";
            expected = expected.Substring(0, Math.Min(15, expected.Length));
            var seen = new string[1];
            using (var host = new Host())
            {
                var std = host.Open("std");
                using (std.Subscribe("tick", ev =>
                {
                    if (Volatile.Read(ref seen[0]) == null)
                    {
                        Volatile.Write(ref seen[0], File.ReadAllText("/proc/thread-self/comm").Trim());
                    }
                }))
                {
                    std.GetMethod("ticker").Call(TestEnv.U32(1));
                    Check.Eventually(() => Volatile.Read(ref seen[0]) != null, 10, "an event delivered");
                }
            }
            Check.Equal(expected, seen[0], "the event thread's name");
            Check.Equal("bridgehost", HostOptions.Defaults.ThreadName, "the documented default");
        }

        [Case]
        public void EveryErrorKindHasARow()
        {
            var kinds = new HashSet<string>(Rows().Where(r => r[0] == "error").Select(r => Pascal(r[1])));
            foreach (var k in Enum.GetNames(typeof(ErrorKind)))
                Check.True(kinds.Contains(k), "docs/SYMMETRY.md has an error row for ErrorKind." + k);
        }
    }
}
