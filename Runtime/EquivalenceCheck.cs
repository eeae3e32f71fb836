using OnnxRev.Ir;
using OnnxRev.Passes;
using OnnxRev.Serialization;

namespace OnnxRev.Runtime;

/// <summary>Settings of <see cref="EquivalenceCheck"/>.</summary>
public sealed record EquivalenceOptions
{
    /// <summary>Relative tolerance.</summary>
    public double Rtol { get; init; } = 1e-4;

    /// <summary>Absolute tolerance.</summary>
    public double Atol { get; init; } = 1e-5;

    /// <summary>Seed of the random inputs used when <see cref="Inputs"/> is null.</summary>
    public int Seed { get; init; }

    /// <summary>Inputs to run with; null for seeded random ones.</summary>
    public IReadOnlyDictionary<string, DataValue>? Inputs { get; init; }

    /// <summary>Values for symbolic dimensions of random inputs (default 2, so a batch dimension is exercised).</summary>
    public IReadOnlyDictionary<string, long>? DimValues { get; init; }

    /// <summary>Session options: ONNX Runtime's own graph optimizations are off by default, so ORT cannot mask or cause a difference.</summary>
    public RunnerOptions Runner { get; init; } = new() { OptimizationLevel = OptimizationLevel.None };
}

/// <summary>One comparison made by the check: after which pass, and what it found.</summary>
public sealed record EquivalenceStep(string Pass, bool Ran, ComparisonResult? Comparison);

/// <summary>
/// A pass instrument that runs the model in ONNX Runtime before the first pass and after every pass
/// that changed it, compares the outputs with the original ones, and stops the pipeline at the first
/// pass whose outputs moved beyond tolerance (<see cref="EquivalenceFailedException"/> names it).
/// </summary>
public sealed class EquivalenceCheck : IPassInstrument, IDisposable
{
    private readonly EquivalenceOptions _options;
    private readonly string _dir;
    private IReadOnlyDictionary<string, DataValue>? _inputs;
    private IReadOnlyDictionary<string, DataValue>? _reference;
    private int _runs;

    /// <summary>Creates the check; it keeps temporary model files in a private folder until disposed.</summary>
    public EquivalenceCheck(EquivalenceOptions? options = null)
    {
        _options = options ?? new EquivalenceOptions();
        _dir = Path.Combine(Path.GetTempPath(), "onnxrev-equivalence-" + Guid.NewGuid().ToString("N")[..12]);
        Directory.CreateDirectory(_dir);
    }

    /// <summary>Comparisons made, one per pass.</summary>
    public List<EquivalenceStep> Steps { get; } = new();

    /// <summary>The inputs actually used.</summary>
    public IReadOnlyDictionary<string, DataValue>? Inputs => _inputs;

    /// <inheritdoc/>
    public void BeforeAll(Model model)
    {
        using var runner = Open(model);
        _inputs = _options.Inputs ?? RandomInputs.For(runner, _options.Seed, _options.DimValues ?? DefaultDims(runner));
        _reference = runner.Run(_inputs);
    }

    /// <inheritdoc/>
    public void AfterPass(PassRecord record, Model model)
    {
        if (_reference is null || _inputs is null) throw new InvalidOperationException("BeforeAll was not called");
        if (!record.Modified)
        {
            Steps.Add(new EquivalenceStep(record.Name, false, null));
            return;
        }
        ComparisonResult cmp;
        using (var runner = Open(model))
        {
            var actual = runner.Run(_inputs);
            cmp = OutputComparison.Compare(actual, _reference, _options.Rtol, _options.Atol);
        }
        Steps.Add(new EquivalenceStep(record.Name, true, cmp));
        if (!cmp.Ok)
            throw new EquivalenceFailedException(record.Name, cmp,
                $"pass '{record.Name}' changed the model's outputs beyond tolerance (rtol {_options.Rtol:G3}, atol {_options.Atol:G3}): {cmp.Reason}");
    }

    private OrtRunner Open(Model model)
    {
        int step = _runs++;
        string path = Path.Combine(_dir, $"step{step}.onnx");
        ModelWriter.Save(model, path, new WriteOptions(DataFileName: $"step{step}.data"));
        return new OrtRunner(path, _options.Runner);
    }

    private static Dictionary<string, long> DefaultDims(OrtRunner runner)
    {
        var dims = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (var i in runner.Inputs)
            foreach (var name in i.DimNames)
                if (name is not null) dims.TryAdd(name, 2);
        return dims;
    }

    /// <summary>Deletes the temporary files.</summary>
    public void Dispose()
    {
        try { Directory.Delete(_dir, recursive: true); } catch (IOException) { }
    }
}

/// <summary>Thrown by <see cref="EquivalenceCheck"/> when a pass changed the outputs; exit code 1.</summary>
public sealed class EquivalenceFailedException : CheckFailedException
{
    /// <summary>Creates the exception.</summary>
    public EquivalenceFailedException(string pass, ComparisonResult comparison, string message) : base(message)
    {
        Pass = pass;
        Comparison = comparison;
    }

    /// <summary>The first pass whose outputs moved.</summary>
    public string Pass { get; }

    /// <summary>What moved.</summary>
    public ComparisonResult Comparison { get; }
}
