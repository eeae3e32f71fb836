using Google.Protobuf;
using OnnxRev.Runtime;
using OnnxRev.Schema;
using OnnxRev.Serialization;

namespace OnnxRev.Tests.Conformance;

/// <summary>
/// The ONNX backend test data (Debian libonnx-testdata 1.12): every model is read into the IR,
/// written back, checked to be the identical protobuf, run in ONNX Runtime (graph optimizations
/// off) and compared with the expected outputs at the ONNX backend's own tolerances
/// (rtol 1e-3, atol 1e-7). Cases ORT cannot run are listed in ort-unsupported.txt with reasons,
/// and each listed case is verified to still fail in ORT on the untouched model.
/// </summary>
[Category("Conformance")]
public class ConformanceTests
{
    private const double Rtol = 1e-3, Atol = 1e-7;

    private static IEnumerable<TestCaseData> Cases() =>
        ConformanceCase.All().Select(c => new TestCaseData(c).SetName($"Conformance {c}"));

    [Test]
    public void SuiteIsComplete()
    {
        var all = ConformanceCase.All().ToList();
        Assert.That(all.Count(c => c.Suite == "node"), Is.GreaterThanOrEqualTo(900), "run tools/fetch-testdata.sh");
        Assert.That(all.Count(c => c.Suite == "pytorch-converted"), Is.GreaterThanOrEqualTo(80));
        var known = all.Select(c => c.ToString()).ToHashSet();
        Assert.That(OrtUnsupported.Keys.Where(k => !known.Contains(k)), Is.Empty, "ort-unsupported.txt lists cases that do not exist");
    }

    [TestCaseSource(nameof(Cases))]
    public void RoundTripsAndRunsInOrt(ConformanceCase c)
    {
        var original = File.ReadAllBytes(c.ModelPath);
        var model = ModelReader.Load(c.ModelPath);
        var written = ModelWriter.ToBytes(model);
        Assert.That(ModelProto.Parser.ParseFrom(written), Is.EqualTo(ModelProto.Parser.ParseFrom(original)), "the IR round trip changed the model");

        string? skip = OrtUnsupported.Reason(c);
        if (skip is not null)
        {
            string? failure = RunAgainstExpected(original, c);
            Assert.That(failure, Is.Not.Null, $"listed as unsupported by ORT ({skip}) but ORT now runs it: remove it from ort-unsupported.txt");
            TestContext.Out.WriteLine($"ORT cannot run this case ({skip}): {failure}");
            return;
        }
        string? problem = RunAgainstExpected(written, c);
        Assert.That(problem, Is.Null);
    }

    /// <summary>
    /// ONNX 1.12's test data stores bfloat16 tensors with data_type uint16 (same bits); give them the
    /// type the model declares. A quirk of that data set, not of the runtime.
    /// </summary>
    private static void RelabelBfloat16(OrderedDictionary<string, DataValue> values, IReadOnlyList<IoInfo> infos)
    {
        const int Uint16 = (int)TensorProto.Types.DataType.Uint16, Bfloat16 = (int)TensorProto.Types.DataType.Bfloat16;
        foreach (var info in infos)
        {
            if (info.Kind != ValueKind.Tensor || info.ElementType != Bfloat16) continue;
            if (!values.TryGetValue(info.Name, out var v) || v.AsTensor().DataType != Uint16) continue;
            var t = v.AsTensor().Clone();
            t.DataType = Bfloat16;
            values[info.Name] = DataValue.Tensor(t);
        }
    }

    /// <summary>Runs a model on every data set of the case; returns null when all outputs match, else what went wrong.</summary>
    private static string? RunAgainstExpected(byte[] modelBytes, ConformanceCase c)
    {
        try
        {
            using var runner = new OrtRunner(modelBytes, new RunnerOptions { OptimizationLevel = OptimizationLevel.None }, c.ToString());
            foreach (var set in c.DataSets)
            {
                var data = TestDataFolder.Read(set, runner);
                RelabelBfloat16(data.Inputs, runner.Inputs);
                RelabelBfloat16(data.Outputs, runner.Outputs);
                var outputs = runner.Run(data.Inputs, data.Outputs.Keys.ToList());
                var cmp = OutputComparison.Compare(outputs, data.Outputs, Rtol, Atol);
                if (!cmp.Ok) return $"{Path.GetFileName(set)}: {cmp.Reason}";
            }
            return null;
        }
        catch (OnnxRevException e)
        {
            return e.Message;
        }
    }
}
