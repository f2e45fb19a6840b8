// A tiny test shim so that one source serves two runners: the NUnit 2.6 adapter on Mono
// (NUnitAdapter.cs) and the self-checking runner on CoreCLR (Runner.cs), where NUnit does not run.
// A test is a public method marked [Case] on a public class with a parameterless constructor;
// if the class is IDisposable it is disposed after each case.
using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Linq;
using System.Reflection;
using System.Threading;
using System.Threading.Tasks;

namespace BridgeHost.Tests
{
    /// <summary>Marks a test case.</summary>
    [AttributeUsage(AttributeTargets.Method)]
    public sealed class CaseAttribute : Attribute
    {
    }

    /// <summary>A failed check.</summary>
    public sealed class CheckFailedException : Exception
    {
        public CheckFailedException(string message) : base(message) { }
    }

    /// <summary>A case that cannot run here (e.g. isolation not built); reported as skipped.</summary>
    public sealed class SkipException : Exception
    {
        public SkipException(string message) : base(message) { }
    }

    public static class Check
    {
        public static void Fail(string message)
        {
            throw new CheckFailedException(message);
        }

        public static void Skip(string message)
        {
            throw new SkipException(message);
        }

        public static void True(bool condition, string what)
        {
            if (!condition)
            {
                Fail("expected true: " + what);
            }
        }

        public static void False(bool condition, string what)
        {
            if (condition)
            {
                Fail("expected false: " + what);
            }
        }

        public static void Equal<T>(T expected, T actual, string what)
        {
            if (!EqualityComparer<T>.Default.Equals(expected, actual))
            {
                Fail(what + ": expected <" + expected + "> but was <" + actual + ">");
            }
        }

        public static void Bytes(byte[] expected, byte[] actual, string what)
        {
            if (actual == null)
            {
                Fail(what + ": got null");
            }
            if (expected.Length != actual.Length)
            {
                Fail(what + ": expected " + expected.Length + " bytes but got " + actual.Length);
            }
            for (int i = 0; i < expected.Length; i++)
            {
                if (expected[i] != actual[i])
                {
                    Fail(what + ": first difference at byte " + i + " (expected " + expected[i] + ", got " + actual[i] + ")");
                }
            }
        }

        /// <summary>Runs <paramref name="action"/> and returns the exception of type exactly
        /// <typeparamref name="T"/> that it must throw.</summary>
        public static T Throws<T>(Action action, string what) where T : Exception
        {
            try
            {
                action();
            }
            catch (Exception e)
            {
                if (e.GetType() != typeof(T))
                {
                    Fail(what + ": expected " + typeof(T).Name + " but got " + e.GetType().Name + ": " + e.Message);
                }
                return (T)e;
            }
            Fail(what + ": expected " + typeof(T).Name + " but nothing was thrown");
            return null;
        }

        /// <summary>Waits for <paramref name="task"/> (bounded) and returns the exception of type
        /// exactly <typeparamref name="T"/> it must have faulted with.</summary>
        public static T Faults<T>(Task task, string what) where T : Exception
        {
            Completes(task, what);
            if (!task.IsFaulted)
            {
                Fail(what + ": expected the task to fault with " + typeof(T).Name + " but it is " + task.Status);
            }
            Exception e = task.Exception.InnerException;
            if (e.GetType() != typeof(T))
            {
                Fail(what + ": expected " + typeof(T).Name + " but got " + e.GetType().Name + ": " + e.Message);
            }
            return (T)e;
        }

        /// <summary>Waits for <paramref name="task"/> to finish, at most 30 s.</summary>
        public static void Completes(Task task, string what)
        {
            try
            {
                if (!task.Wait(TimeSpan.FromSeconds(30)))
                {
                    Fail(what + ": the task did not complete within 30 s");
                }
            }
            catch (AggregateException)
            {
                // Faulted or canceled: the caller inspects the task.
            }
        }

        /// <summary>Polls <paramref name="condition"/> until true, at most <paramref name="seconds"/>.</summary>
        public static void Eventually(Func<bool> condition, double seconds, string what)
        {
            var sw = Stopwatch.StartNew();
            while (!condition())
            {
                if (sw.Elapsed.TotalSeconds > seconds)
                {
                    Fail("not within " + seconds + " s: " + what);
                }
                Thread.Sleep(5);
            }
        }
    }

    /// <summary>A test case found by reflection.</summary>
    public sealed class TestCase
    {
        internal TestCase(Type type, MethodInfo method)
        {
            Type = type;
            Method = method;
        }

        public Type Type { get; }
        public MethodInfo Method { get; }
        public string Name => Type.Name + "." + Method.Name;

        /// <summary>Runs the case; a failure propagates as the exception the case threw.</summary>
        public void Run()
        {
            object instance = Method.IsStatic ? null : Activator.CreateInstance(Type);
            try
            {
                Method.Invoke(instance, null);
            }
            catch (TargetInvocationException e)
            {
                System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(e.InnerException).Throw();
            }
            finally
            {
                var d = instance as IDisposable;
                if (d != null)
                {
                    d.Dispose();
                }
            }
        }
    }

    public static class Suite
    {
        /// <summary>Every [Case] of this assembly, in a stable order.</summary>
        public static List<TestCase> All()
        {
            return typeof(Suite).Assembly.GetTypes()
                .Where(t => t.IsClass && t.IsPublic)
                .SelectMany(t => t.GetMethods(BindingFlags.Public | BindingFlags.Instance | BindingFlags.Static | BindingFlags.DeclaredOnly)
                    .Where(m => m.GetCustomAttributes(typeof(CaseAttribute), false).Length > 0)
                    .Select(m => new TestCase(t, m)))
                .OrderBy(c => c.Name, StringComparer.Ordinal)
                .ToList();
        }

        public static TestCase Find(string name)
        {
            return All().Single(c => c.Name == name);
        }
    }

    /// <summary>
    /// A thread that forces full, blocking, compacting collections continuously while the tests
    /// run, so that any managed object or pointer the native side could still be using after the
    /// managed code stopped protecting it is moved or collected under it.
    /// </summary>
    public sealed class GcPressure : IDisposable
    {
        private readonly Thread _thread;
        private volatile bool _stop;
        private long _collections;

        public GcPressure()
        {
            _thread = new Thread(Loop) { IsBackground = true, Name = "gc-pressure" };
            _thread.Start();
        }

        public long Collections => Interlocked.Read(ref _collections);

        private void Loop()
        {
            while (!_stop)
            {
                GC.Collect(GC.MaxGeneration, GCCollectionMode.Forced, blocking: true, compacting: true);
                GC.WaitForPendingFinalizers();
                Interlocked.Increment(ref _collections);
                Thread.Sleep(1);
            }
        }

        public void Dispose()
        {
            _stop = true;
            _thread.Join();
        }
    }
}
