using System.Text.Json.Nodes;
using OnnxRev.Runtime.Data;

namespace OnnxRev.Runtime.Recipes;

/// <summary>One candidate a search step tried.</summary>
/// <param name="Label">e.g. "energy=0.95".</param>
/// <param name="Bytes">Stored size.</param>
/// <param name="Quality">Accuracy and cosine against the original.</param>
/// <param name="LatencyMs">p50 latency.</param>
/// <param name="Pareto">On the front: no other candidate is both smaller and better.</param>
/// <param name="Chosen">The one the step kept.</param>
public sealed record SearchCandidate(string Label, long Bytes, Quality Quality, double LatencyMs, bool Pareto, bool Chosen);

/// <summary>One activation-memory strategy measured by a memory step.</summary>
/// <param name="Strategy">store, recompute or reversible.</param>
/// <param name="ArenaPeakBytes">ONNX Runtime's arena high-water mark of the training step.</param>
/// <param name="StepSeconds">Mean time per training step.</param>
public sealed record MemoryPoint(string Strategy, long? ArenaPeakBytes, double StepSeconds);

/// <summary>What a step produced.</summary>
/// <param name="NewModel">The runnable model after the step (null: the model did not change).</param>
/// <param name="Details">Step-specific facts for the JSON and the report.</param>
/// <param name="StoredPath">The artifact whose size counts as the model's size when it differs from the runnable model (a package).</param>
/// <param name="LossCurve">Mean training loss per epoch, for fine-tuning steps.</param>
/// <param name="Candidates">Everything a search step tried.</param>
/// <param name="TrainingPeakBytes">Process peak resident set while training.</param>
/// <param name="Memory">Training memory per strategy, for memory steps.</param>
public sealed record StepOutcome(string? NewModel, JsonObject Details, string? StoredPath = null, IReadOnlyList<double>? LossCurve = null,
    IReadOnlyList<SearchCandidate>? Candidates = null, long? TrainingPeakBytes = null, IReadOnlyList<MemoryPoint>? Memory = null);

/// <summary>The measurements after one step.</summary>
/// <param name="Index">0 for the original model, then 1, 2, … per step.</param>
/// <param name="Name">The step's name.</param>
/// <param name="Kind">The step's kind.</param>
/// <param name="ModelPath">The runnable model after the step.</param>
/// <param name="StoredPath">The stored artifact (the model itself, or a package).</param>
/// <param name="Bytes">The stored artifact's size.</param>
/// <param name="Quality">Accuracy and cosine (null without evaluation data).</param>
/// <param name="LatencyMs">p50 latency of one run.</param>
/// <param name="Seconds">How long the step took.</param>
/// <param name="Outcome">What the step reported.</param>
public sealed record StepRecord(int Index, string Name, string Kind, string ModelPath, string StoredPath, long Bytes, Quality? Quality, double LatencyMs,
    double Seconds, StepOutcome Outcome);

/// <summary>Everything a step may use: the models so far, the data, the run-time settings, and where to write.</summary>
public sealed class PipelineContext
{
    /// <summary>Creates the context.</summary>
    public PipelineContext(string originalModel, string workDir, PipelineSettings settings)
    {
        OriginalModel = originalModel;
        CurrentModel = originalModel;
        WorkDir = workDir;
        Settings = settings;
    }

    /// <summary>The model the pipeline started from.</summary>
    public string OriginalModel { get; }

    /// <summary>The runnable model after the last step.</summary>
    public string CurrentModel { get; internal set; }

    /// <summary>Scratch folder for intermediate models.</summary>
    public string WorkDir { get; }

    /// <summary>Data and run-time settings.</summary>
    public PipelineSettings Settings { get; }

    /// <summary>The recipe being run.</summary>
    public Recipe? Recipe { get; internal set; }

    /// <summary>Measurements so far (index 0: the original).</summary>
    public List<StepRecord> Records { get; } = new();

    /// <summary>A fresh path in the work folder for a step's output model.</summary>
    public string NewModelPath(string stepName, string extension = ".onnx")
    {
        string safe = new(stepName.Select(c => char.IsLetterOrDigit(c) || c is '-' or '_' ? c : '-').ToArray());
        return Path.Combine(WorkDir, $"{Records.Count:D2}-{safe}{extension}");
    }

    /// <summary>Measures a model as the runner does after each step (quality against the original, p50 latency).</summary>
    public (Quality? Quality, double LatencyMs) Measure(string modelPath, int iterations)
    {
        var quality = Settings.Eval?.Measure(modelPath, Settings.Runner);
        var inputs = Settings.BenchInputs(modelPath);
        var r = Benchmark.LatencyBenchmark.Run(new[] { new Benchmark.BenchTarget(Path.GetFileName(modelPath), modelPath, inputs, Settings.BenchBatch) },
            new Benchmark.BenchOptions(Math.Min(5, iterations), iterations, Settings.Runner));
        return (quality, r[0].P50Ms);
    }
}

/// <summary>Data and run-time settings of a pipeline run.</summary>
public sealed class PipelineSettings
{
    /// <summary>Labelled training data (fine-tuning, calibration); null when none was given.</summary>
    public Dataset? Train { get; init; }

    /// <summary>What models are judged on; null when no data was given (then only size and speed are measured).</summary>
    public EvalSet? Eval { get; init; }

    /// <summary>Session options for evaluation and timing (threads, device).</summary>
    public RunnerOptions Runner { get; init; } = new();

    /// <summary>Batch of the timed runs.</summary>
    public int BenchBatch { get; init; } = 1;

    /// <summary>Sizes of symbolic dimensions other than the batch in timed runs.</summary>
    public IReadOnlyDictionary<string, long> BenchDims { get; init; } = new Dictionary<string, long>();

    /// <summary>Timed runs per measurement.</summary>
    public int BenchIterations { get; init; } = 50;

    /// <summary>Seed of everything random.</summary>
    public int Seed { get; init; }

    /// <summary>Progress and notes for people.</summary>
    public Action<string> Log { get; init; } = _ => { };

    /// <summary>Seeded random inputs shaped for <paramref name="modelPath"/> (same for every model with the same inputs).</summary>
    public IReadOnlyDictionary<string, DataValue> BenchInputs(string modelPath)
    {
        using var probe = new OrtRunner(modelPath, new RunnerOptions { OptimizationLevel = OptimizationLevel.None });
        return Benchmark.BenchInputs.Random(probe, BenchBatch, BenchDims, Seed, out _);
    }
}
