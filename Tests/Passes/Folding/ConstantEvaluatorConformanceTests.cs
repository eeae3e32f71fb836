using OnnxRev.Passes.Cleanup.Folding;

namespace OnnxRev.Tests.Passes.Folding;

/// <summary>
/// Runs <see cref="ConstantEvaluator"/> on the ONNX project's own single-node backend test cases
/// (.cache/libonnx-testdata/node, fetched by tools/fetch-testdata.sh) for every op the evaluator supports.
/// Integer, bool and string outputs must match exactly; floating-point outputs (float16, float, double)
/// must match within a relative tolerance of 1e-6 (<see cref="RelativeTolerance"/>), NaN matching NaN.
/// A decline fails the case unless the case is listed in <see cref="KnownDeclines"/> with its reason.
/// </summary>
[TestFixture]
public sealed class ConstantEvaluatorConformanceTests
{
    /// <summary>Relative tolerance for floating-point outputs: |actual - expected| &lt;= 1e-6 * max(|actual|, |expected|).</summary>
    public const double RelativeTolerance = 1e-6;

    /// <summary>The fewest cases the suite must find, so it cannot pass by running nothing.</summary>
    public const int MinimumCases = 150;

    /// <summary>Cases the evaluator is expected to decline, each with the reason it does.</summary>
    private static readonly Dictionary<string, string> KnownDeclines = new(StringComparer.Ordinal)
    {
        // bfloat16 is not computed on (HostTensor holds only its bits); the evaluator declines it as input or Cast target.
        ["test_cast_BFLOAT16_to_FLOAT"] = "bfloat16 input is unsupported",
        ["test_castlike_BFLOAT16_to_FLOAT_expanded"] = "bfloat16 input is unsupported",
        ["test_cast_FLOAT_to_BFLOAT16"] = "Cast to bfloat16 is unsupported",
        ["test_castlike_FLOAT_to_BFLOAT16_expanded"] = "Cast to bfloat16 is unsupported",
        // String casts depend on ONNX Runtime's number formatting and parsing rules, which we do not replicate.
        ["test_cast_FLOAT_to_STRING"] = "Cast to string is unsupported",
        ["test_castlike_FLOAT_to_STRING_expanded"] = "Cast to string is unsupported",
        ["test_cast_STRING_to_FLOAT"] = "Cast from string is unsupported",
        ["test_castlike_STRING_to_FLOAT_expanded"] = "Cast from string is unsupported",
    };

    private static readonly Lazy<IReadOnlyList<NodeConformanceCase>> AllCases = new(NodeConformanceCase.Discover);

    public static IEnumerable<TestCaseData> Cases() =>
        AllCases.Value.Select(c => new TestCaseData(c).SetName($"Conformance({c.Name})"));

    [Test]
    public void FindsEnoughCases()
    {
        Assert.That(NodeConformanceCase.DataRoot(), Is.Not.Null,
            "ONNX test data missing: run tools/fetch-testdata.sh to fill .cache/libonnx-testdata");
        Assert.That(AllCases.Value, Has.Count.GreaterThanOrEqualTo(MinimumCases));
        TestContext.Out.WriteLine($"{AllCases.Value.Count} conformance cases, {KnownDeclines.Count} known declines");
    }

    [Test]
    public void KnownDeclinesAreRealCases()
    {
        var names = AllCases.Value.Select(c => c.Name).ToHashSet();
        Assert.That(KnownDeclines.Keys.Where(k => !names.Contains(k)), Is.Empty, "stale entries in KnownDeclines");
    }

    [TestCaseSource(nameof(Cases))]
    public void Conformance(NodeConformanceCase c)
    {
        int sets = 0;
        foreach (string set in c.DataSets())
        {
            sets++;
            HostTensor?[] inputs = c.Inputs(set);
            bool ok = ConstantEvaluator.TryEvaluate(c.Node.OpType, c.Node.Domain, c.Opset, inputs, c.Node.Attribute,
                c.Node.Output.Count, out HostTensor[] outputs, out string reason);
            if (KnownDeclines.TryGetValue(c.Name, out string? why))
            {
                Assert.That(ok, Is.False, $"{c.Name} is listed as a known decline ({why}) but was folded; remove it from the list");
                TestContext.Out.WriteLine($"declined as expected: {reason}");
                return;
            }
            Assert.That(ok, Is.True, $"{c.Name} (opset {c.Opset}) declined: {reason}");
            HostTensor?[] expected = c.ExpectedOutputs(set);
            for (int i = 0; i < expected.Length; i++)
            {
                if (expected[i] is not HostTensor want) continue;
                AssertTensor(outputs[i], want, $"{c.Name}/{Path.GetFileName(set)} output {i}");
            }
        }
        Assert.That(sets, Is.GreaterThan(0), $"{c.Name} has no test_data_set_*");
    }

    internal static void AssertTensor(HostTensor actual, HostTensor expected, string where)
    {
        Assert.That(OnnxDataType.Name(actual.DataType), Is.EqualTo(OnnxDataType.Name(expected.DataType)), $"{where}: type");
        Assert.That(actual.Dims, Is.EqualTo(expected.Dims), $"{where}: shape");
        if (!OnnxDataType.IsFloating(expected.DataType))
        {
            Assert.That(actual.Data, Is.EqualTo(expected.Data).AsCollection, $"{where}: values");
            return;
        }
        double[] a = ToDoubles(actual.Data), e = ToDoubles(expected.Data);
        for (int i = 0; i < e.Length; i++)
        {
            bool same = a[i].Equals(e[i]) || Math.Abs(a[i] - e[i]) <= RelativeTolerance * Math.Max(Math.Abs(a[i]), Math.Abs(e[i]));
            if (!same) Assert.Fail($"{where}: element {i} is {a[i]:R}, expected {e[i]:R} (relative tolerance {RelativeTolerance})");
        }
    }

    private static double[] ToDoubles(Array data) => data switch
    {
        float[] f => f.Select(v => (double)v).ToArray(),
        double[] d => d,
        Half[] h => h.Select(v => (double)v).ToArray(),
        _ => throw new ArgumentException(data.GetType().Name),
    };
}
