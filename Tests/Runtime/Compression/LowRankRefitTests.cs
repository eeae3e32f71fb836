using OnnxRev.Ir;
using OnnxRev.Passes.Compression;
using OnnxRev.Runtime;
using OnnxRev.Runtime.Compression;
using OnnxRev.Serialization;
using OnnxRev.Tests.Support;

namespace OnnxRev.Tests.Runtime.Compression;

/// <summary>
/// <c>--refit</c> in ONNX Runtime on resmlp_d8 (Gemm transB = 1 layers with residual adds, a real PyTorch export) fed its
/// real digits input: the reported per-layer errors are those of the written model on ORT's own activations, the refit
/// never loses on its objective, and it lowers the model's output error on the calibration data.
/// </summary>
public class LowRankRefitTests
{
    private static string Model => Path.Combine(RepoPaths.Fixtures, "resmlp_d8.onnx");
    private static string Data => Path.Combine(RepoPaths.Fixtures, "resmlp_d8_data");

    [OneTimeSetUp]
    public void Install() => CompressionPasses.Register();

    private static (Model Model, LowRankReport Report) Factor(RefitScope refit, double ridge = 0)
    {
        var model = ModelReader.Load(Model);
        var pass = new LowRankFactorization(new LowRankOptions { Rule = RankRule.TargetParameters, TargetParameters = 0.85, MinParameters = 0, Calibration = Data, CalibrationRidge = 1e-4, Refit = refit, RefitRidge = ridge });
        Assert.That(pass.Run(model).Modified, Is.True);
        return (model, pass.Report!);
    }

    private static OrderedDictionary<string, DataValue> RunWithTaps(Model model, IEnumerable<string> taps)
    {
        var copy = ModelReader.FromProto(ModelWriter.ToProto(model), model.BaseDirectory, "taps");
        foreach (var name in taps)
            if (!copy.Graph.Outputs.Any(o => o.Name == name) && copy.Graph.Nodes.SelectMany(n => n.Outputs).FirstOrDefault(v => v.Name == name) is { } v)
                copy.Graph.Outputs.Add(v);
        using var runner = new OrtRunner(ModelWriter.ToBytes(copy), OrtCheck.NoOpt);
        return runner.Run(TestDataFolder.Read(Data, runner).Inputs);
    }

    private static double RelativeOutputError(Model candidate)
    {
        var reference = RunWithTaps(ModelReader.Load(Model), Array.Empty<string>());
        var e = TensorProtoData.Floats(reference.Values.First().AsTensor());
        var a = TensorProtoData.Floats(RunWithTaps(candidate, Array.Empty<string>()).Values.First().AsTensor());
        return Math.Sqrt(a.Zip(e, (x, y) => (double)(x - y) * (x - y)).Sum() / e.Sum(x => (double)x * x));
    }

    [Test]
    public void ReportedErrorsAreTheWrittenModelsOnOrtActivations()
    {
        var (model, report) = Factor(RefitScope.All);
        Assert.That(report.Refits.Count(r => r.Rank == 0), Is.GreaterThan(0), "whole layers downstream were refitted too");
        Assert.That(report.Refits.Count(r => r.Rank > 0), Is.EqualTo(report.Entries.Count(e => e.Rank > 0)), "every factored Gemm was refitted");
        foreach (var r in report.Refits)
            Assert.That(r.ErrorAfter, Is.LessThanOrEqualTo(r.ErrorBefore * (1 + 1e-6) + 1e-9), $"{r.Weight}: ridge 0, so the refit cannot lose on its objective");
        // The last refitted factored layer (a Gemm x·Wᵀ + b): its input in the written model and in the original. (A layer's
        // inputs do not change after its refit: later refits are downstream.) The reported value comes from float32 moments,
        // ‖X̃M − XW‖² = tr(MᵀS_aaM) − 2tr(MᵀS_abW) + tr(WᵀS_bbW), so it carries about 1e-6 of ‖XW‖² of cancellation noise.
        var last = report.Refits.Last(r => r.Rank > 0);
        var original = ModelReader.Load(Model);
        var node = original.Graph.Nodes.First(n => n.OpType == "Gemm" && n.Inputs[1]!.Name == last.Weight);
        string input = node.Inputs[0]!.Name;
        var w = original.Graph.Initializers.First(v => v.Name == last.Weight).Initializer!;
        int outF = (int)w.Dims[0], inF = (int)w.Dims[1];
        var wf = w.ToFloatArray();
        var x = TensorProtoData.Floats(RunWithTaps(original, new[] { input })[input].AsTensor());
        var xt = TensorProtoData.Floats(RunWithTaps(model, new[] { input })[input].AsTensor());
        double[] Stored()
        {
            if (last.Rank == 0) return model.Graph.Initializers.First(v => v.Name == last.Weight).Initializer!.ToFloatArray().Select(f => (double)f).ToArray();
            var l = model.Graph.Initializers.First(v => v.Name.StartsWith(last.Weight + ".lowrank_L", StringComparison.Ordinal)).Initializer!.ToFloatArray();
            var r = model.Graph.Initializers.First(v => v.Name.StartsWith(last.Weight + ".lowrank_R", StringComparison.Ordinal)).Initializer!.ToFloatArray();
            var p = new double[outF * inF];
            for (int i = 0; i < outF; i++) for (int k = 0; k < last.Rank; k++) for (int j = 0; j < inF; j++) p[i * inF + j] += l[i * last.Rank + k] * r[k * inF + j];
            return p;
        }
        var m = Stored();
        int rows = x.Length / inF;
        double err = 0, norm = 0;
        for (int i = 0; i < rows; i++)
            for (int o = 0; o < outF; o++)
            {
                double a = 0, e = 0;
                for (int j = 0; j < inF; j++) { a += xt[i * inF + j] * m[o * inF + j]; e += x[i * inF + j] * wf[o * inF + j]; }
                err += (a - e) * (a - e);
                norm += e * e;
            }
        TestContext.Out.WriteLine($"{last.Weight} rank {last.Rank}: reported {last.ErrorBefore:G4} → {last.ErrorAfter:G4}, measured {Math.Sqrt(err / norm):G4}");
        Assert.That(last.ErrorAfter, Is.GreaterThan(1e-2), "a layer whose error is above the moments' noise");
        Assert.That(Math.Sqrt(err / norm), Is.EqualTo(last.ErrorAfter).Within(1e-4));
    }

    [Test]
    public void RefitLowersTheOutputErrorOnTheCalibrationData()
    {
        var (plain, _) = Factor(RefitScope.None);
        var (factored, _) = Factor(RefitScope.Factored, ridge: 1e-3);
        var (all, _) = Factor(RefitScope.All, ridge: 1e-3);
        double e0 = RelativeOutputError(plain), e1 = RelativeOutputError(factored), e2 = RelativeOutputError(all);
        TestContext.Out.WriteLine($"85 % of the parameters, relative output error on the calibration data: activation-aware {e0:G4}, refit factored {e1:G4}, refit all {e2:G4}");
        Assert.That(e1, Is.LessThan(e0));
        Assert.That(e2, Is.LessThan(e1));
    }
}
