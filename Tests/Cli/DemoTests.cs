using OnnxRev.Tests.Support;

namespace OnnxRev.Tests.Cli;

/// <summary>
/// `onnxrev demo` end to end, as its own process (its training-peak goal judges the process's resident set): no inputs
/// needed, a report with accuracy, size, latency, memory and plots, goals met.
/// </summary>
public class DemoTests
{
    [Test]
    public void DemoTrainsCompressesAndReports()
    {
        string dir = RepoPaths.NewTempDir();
        try
        {
            string outDir = Path.Combine(dir, "demo");
            var r = CliProcess.Run(TimeSpan.FromMinutes(10), "demo", "-o", outDir, "--json");
            Assert.That(r.ExitCode, Is.EqualTo(0), r.Stderr);
            var j = r.Json;
            Assert.That((bool)j["goals_met"]!, Is.True);
            Assert.That((double)j["accuracy"]!, Is.GreaterThan(0.95), "a RevMLP trained on the digits");
            foreach (var f in new[] { "model.onnx", "model.ort", "required_operators.config", "digits.csv.gz", "report/report.md", "report/report.html", "report/accuracy.png", "report/loss.png" })
                Assert.That(File.Exists(Path.Combine(outDir, f)), f);
            Assert.That(Directory.GetFiles(Path.Combine(outDir, "report"), "memory-*.png"), Is.Not.Empty);
            string md = File.ReadAllText(Path.Combine(outDir, "report", "report.md"));
            Assert.That(md, Does.Contain("| reversible |").And.Contain("| store |").And.Contain("p50 (ms)").And.Contain("size (bytes)"));
            Assert.That(Directory.Exists(Path.Combine(outDir, "work")), Is.False, "intermediate models are removed");
        }
        finally { Directory.Delete(dir, recursive: true); }
    }
}
