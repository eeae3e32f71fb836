using OnnxRev.Runtime;
using static OnnxRev.Tests.Runtime.TestModels;

namespace OnnxRev.Tests.Runtime;

public class MemoryStatsTests
{
    [Test]
    public void ProcessRss_IsReadFromProc()
    {
        if (!OperatingSystem.IsLinux()) Assert.Ignore("Needs /proc.");
        long? current = MemoryStats.CurrentRssBytes();
        long? peak = MemoryStats.PeakRssBytes(); // read second: RSS may grow in between, the peak never drops
        Assert.That(current, Is.GreaterThan(10L * 1024 * 1024), "a .NET test host uses more than 10 MiB");
        Assert.That(peak, Is.GreaterThanOrEqualTo(current!.Value));
    }

    [Test]
    public void CpuArenaStats_ReflectARun_OrAreNull()
    {
        using var runner = new OrtRunner(AddModel(), new RunnerOptions { OptimizationLevel = OptimizationLevel.None });
        var n = 256;
        var values = Enumerable.Range(0, n * 3).Select(i => (float)i).ToArray();
        runner.Run(new Dictionary<string, DataValue>
        {
            ["X"] = DataValue.Tensor(Floats("X", [n, 3], values)),
            ["Y"] = DataValue.Tensor(Floats("Y", [n, 3], values)),
        });
        var stats = MemoryStats.CpuArenaStats(runner);
        TestContext.Out.WriteLine(stats is null ? "no arena stats" : string.Join(", ", stats.Raw.Select(p => $"{p.Key}={p.Value}")));
        Assert.That(stats, Is.Not.Null, "ORT 1.31 exposes AllocatorGetStats for the CPU arena");
        Assert.That(stats!.TotalAllocated, Is.GreaterThan(0));
        Assert.That(stats.MaxInUse, Is.GreaterThanOrEqualTo(n * 3 * 4), "the output tensor came from the arena");
        Assert.That(stats.MaxInUse, Is.LessThanOrEqualTo(stats.TotalAllocated));
    }
}
