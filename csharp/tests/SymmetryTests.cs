// Issue 17 item 3: the C# column of docs/SYMMETRY.md (the one table of names across Java, Python,
// C# and C) matches the public API of BridgeHost.dll. Fails when a listed type, method, property
// or exception is missing or not public, or an exception is not an IBridgeHostException of the
// row's kind.
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
                        if (!found.Any(m => m.MemberType == want))
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
