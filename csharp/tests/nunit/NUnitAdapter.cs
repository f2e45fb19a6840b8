// Runs every [Case] of BridgeHost.Tests under NUnit 2.6 (Mono), one NUnit test per case, while a
// thread forces compacting collections continuously. Prints the closing "N passed, N failed" line.
using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading;
using NUnit.Framework;

namespace BridgeHost.Tests.NUnit
{
    [TestFixture]
    public sealed class AllCases
    {
        private GcPressure _gc;
        private int _passed, _failed, _skipped;

        public static IEnumerable<TestCaseData> Cases()
        {
            return Suite.All().Select(c => new TestCaseData(c.Name).SetName(c.Name));
        }

        [TestFixtureSetUp]
        public void StartPressure()
        {
            _gc = new GcPressure();
        }

        [TestFixtureTearDown]
        public void StopPressure()
        {
            _gc.Dispose();
            Console.WriteLine("gc-pressure: " + _gc.Collections + " forced collections during the run");
            if (_skipped > 0)
            {
                Console.WriteLine(_skipped + " skipped");
            }
            Console.WriteLine(_passed + " passed, " + _failed + " failed");
        }

        [Test, TestCaseSource("Cases"), Timeout(180000)]
        public void Run(string name)
        {
            try
            {
                Suite.Find(name).Run();
                Interlocked.Increment(ref _passed);
            }
            catch (SkipException e)
            {
                Interlocked.Increment(ref _skipped);
                Assert.Ignore(e.Message);
            }
            catch (CheckFailedException e)
            {
                Interlocked.Increment(ref _failed);
                Assert.Fail(e.Message);
            }
            catch (Exception)
            {
                Interlocked.Increment(ref _failed);
                throw;
            }
        }
    }
}
