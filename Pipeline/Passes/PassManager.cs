using System.Diagnostics;
using OnnxRev.Ir;
using OnnxRev.Serialization;

namespace OnnxRev.Passes;

/// <summary>What one pass did: name, whether it changed the model, how long it took, the size after it.</summary>
public sealed record PassRecord(string Name, bool Modified, double Seconds, int Nodes, long Bytes, int Iteration);

/// <summary>
/// Observes a pass pipeline; the equivalence check (in Runtime) is one. <see cref="AfterPass"/>
/// may throw to stop the pipeline.
/// </summary>
public interface IPassInstrument
{
    /// <summary>Called once before the first pass with the model as given.</summary>
    void BeforeAll(Model model);

    /// <summary>Called after each pass with its record and the model it returned.</summary>
    void AfterPass(PassRecord record, Model model);
}

/// <summary>Result of <see cref="PassManager.Run"/>.</summary>
public sealed record PassManagerResult(Model Model, bool Modified, IReadOnlyList<PassRecord> Records);

/// <summary>
/// Runs passes in order, timing each; optionally repeats the whole list until a fixed point.
/// Instruments see the model before the first pass and after every pass.
/// </summary>
public sealed class PassManager
{
    private readonly IReadOnlyList<IPass> _passes;

    /// <summary>Creates a pass manager.</summary>
    public PassManager(IReadOnlyList<IPass> passes, bool fixedPoint = false, int maxIterations = 10)
    {
        _passes = passes;
        FixedPoint = fixedPoint;
        MaxIterations = maxIterations;
    }

    /// <summary>Repeat the list until no pass changes anything.</summary>
    public bool FixedPoint { get; }

    /// <summary>Upper bound on repetitions in fixed-point mode.</summary>
    public int MaxIterations { get; }

    /// <summary>Observers (timing reports, equivalence checks).</summary>
    public List<IPassInstrument> Instruments { get; } = new();

    /// <summary>Runs the passes.</summary>
    public PassManagerResult Run(Model model)
    {
        foreach (var i in Instruments) i.BeforeAll(model);
        var records = new List<PassRecord>();
        bool any = false;
        for (int iteration = 0; iteration < (FixedPoint ? MaxIterations : 1); iteration++)
        {
            bool changed = false;
            foreach (var pass in _passes)
            {
                var sw = Stopwatch.StartNew();
                var result = pass.Run(model);
                sw.Stop();
                model = result.Model;
                changed |= result.Modified;
                var record = new PassRecord(pass.Name, result.Modified, sw.Elapsed.TotalSeconds,
                    model.Graph.AllNodes().Count(), ModelWriter.AllTensors(model).Sum(t => t.ByteSize), iteration);
                records.Add(record);
                foreach (var i in Instruments) i.AfterPass(record, model);
            }
            any |= changed;
            if (!changed) break;
        }
        return new PassManagerResult(model, any, records);
    }
}
