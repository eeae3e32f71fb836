using OnnxRev.Ir;
using OnnxRev.Passes.Compression;
using OnnxRev.Runtime;
using OnnxRev.Runtime.Compression;
using OnnxRev.Serialization;
using OnnxRev.Tests.Support;

namespace OnnxRev.Tests.Runtime.Compression;

/// <summary>Activation-aware factorization with statistics gathered in ONNX Runtime, on resmlp_d8 fed real digits (its fixture input: 64 rows of scikit-learn digits).</summary>
public class LowRankCalibrationTests
{
    private static string Model => Path.Combine(RepoPaths.Fixtures, "resmlp_d8.onnx");
    private static string Data => Path.Combine(RepoPaths.Fixtures, "resmlp_d8_data");

    [OneTimeSetUp]
    public void Install() => CompressionPasses.Register();

    private static double RelativeOutputError(Model factored)
    {
        using var reference = new OrtRunner(Model, OrtCheck.NoOpt);
        var inputs = TestDataFolder.Read(Data, reference).Inputs;
        var e = TensorProtoData.Floats(reference.Run(inputs).Values.First().AsTensor());
        using var runner = new OrtRunner(ModelWriter.ToBytes(factored), OrtCheck.NoOpt);
        var a = TensorProtoData.Floats(runner.Run(inputs).Values.First().AsTensor());
        return Math.Sqrt(a.Zip(e, (x, y) => (double)(x - y) * (x - y)).Sum() / e.Sum(x => (double)x * x));
    }

    [Test]
    public void ActivationAwareFactorsLoseLessOnTheCalibrationData()
    {
        var plain = ModelReader.Load(Model);
        new LowRankFactorization(new LowRankOptions { Rule = RankRule.Fixed, Rank = 8 }).Run(plain);
        var aware = ModelReader.Load(Model);
        var pass = new LowRankFactorization(new LowRankOptions { Rule = RankRule.Fixed, Rank = 8, Calibration = Data, CalibrationRidge = 1e-4 });
        pass.Run(aware);
        Assert.That(pass.Report!.Entries.Where(x => x.Rank > 0).All(x => x.Weighted), Is.True, "every factored weight had calibration statistics");
        double ePlain = RelativeOutputError(plain), eAware = RelativeOutputError(aware);
        TestContext.Out.WriteLine($"rank 8: relative output error plain {ePlain:G4}, activation-aware {eAware:G4}");
        Assert.That(eAware, Is.LessThan(0.7 * ePlain));
    }

    /// <summary>The error budget is measured on the calibration activations: for each factored weight, ‖(W − Ŵ)X‖/‖WX‖ computed in ORT is within it.</summary>
    [Test]
    public void ErrorBudgetHoldsPerWeightOnTheCalibrationActivations()
    {
        var model = ModelReader.Load(Model);
        var pass = new LowRankFactorization(new LowRankOptions { Rule = RankRule.ErrorBudget, ErrorBudget = 0.05, Calibration = Data, CalibrationRidge = 0 });
        Assert.That(pass.Run(model).Modified, Is.True);
        var factored = pass.Report!.Entries.Where(e => e.Rank > 0).ToList();
        Assert.That(factored, Is.Not.Empty);
        Assert.That(factored.All(e => e.RelativeError <= 0.05 + 1e-9), Is.True);
        // Check one in ORT: the first factored Gemm, its input tapped from the original and the factored model.
        var original = ModelReader.Load(Model);
        var site = LowRankSite.Find(original, new HashSet<LowRankUse> { LowRankUse.Gemm }).First(s => s.Weight.Name == factored[0].Weight);
        var node = site.Users[0].Node;
        string input = node.Inputs[0]!.Name, output = node.Outputs[0].Name;
        foreach (var name in new[] { input, output })
            if (!original.Graph.Outputs.Any(o => o.Name == name) && original.Graph.Nodes.SelectMany(n => n.Outputs).FirstOrDefault(v => v.Name == name) is { } v)
                original.Graph.Outputs.Add(v);
        using var a = new OrtRunner(ModelWriter.ToBytes(original), OrtCheck.NoOpt);
        var inputs = TestDataFolder.Read(Data, a).Inputs;
        var ra = new Dictionary<string, DataValue>(a.Run(inputs));
        foreach (var (k, v) in inputs) ra.TryAdd(k, v);
        // Feed the factored layer the original layer's input: compare y = x·Wᵀ + b with x·Ŵᵀ + b, minus the bias.
        var bias = node.Inputs.Count > 2 ? original.Graph.Initializers.First(v => v.Name == node.Inputs[2]!.Name).Initializer!.ToFloatArray() : null;
        var x = TensorProtoData.Floats(ra[input].AsTensor());
        var y = TensorProtoData.Floats(ra[output].AsTensor());
        var (l, r) = (model.Graph.Initializers.First(v => v.Name.StartsWith(site.Weight.Name + ".lowrank_L", StringComparison.Ordinal)).Initializer!.ToFloatArray(),
                      model.Graph.Initializers.First(v => v.Name.StartsWith(site.Weight.Name + ".lowrank_R", StringComparison.Ordinal)).Initializer!.ToFloatArray());
        int rank = factored[0].Rank, outF = site.Rows, inF = site.Cols, rows = x.Length / inF;
        double err = 0, norm = 0;
        for (int i = 0; i < rows; i++)
            for (int o = 0; o < outF; o++)
            {
                double approx = 0;
                for (int k = 0; k < rank; k++)
                {
                    double t = 0;
                    for (int j = 0; j < inF; j++) t += x[i * inF + j] * r[k * inF + j];
                    approx += l[o * rank + k] * t;
                }
                double exact = y[i * outF + o] - (bias?[o] ?? 0);
                err += (approx - exact) * (approx - exact);
                norm += exact * exact;
            }
        Assert.That(Math.Sqrt(err / norm), Is.EqualTo(factored[0].RelativeError).Within(1e-3));
    }
}
