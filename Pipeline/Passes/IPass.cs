using OnnxRev.Ir;

namespace OnnxRev.Passes;

/// <summary>The outcome of a pass: the model (usually the same object, changed in place) and whether anything changed.</summary>
public readonly record struct PassResult(Model Model, bool Modified);

/// <summary>A graph rewrite. <see cref="PassResult.Modified"/> must be honest: false only when the model is unchanged.</summary>
public interface IPass
{
    /// <summary>The name used on the command line (e.g. "identity-elimination").</summary>
    string Name { get; }

    /// <summary>Runs the pass.</summary>
    PassResult Run(Model model);
}

/// <summary>Runs a list of passes as one pass, optionally until none of them changes anything.</summary>
public sealed class CompositePass : IPass
{
    private readonly IReadOnlyList<IPass> _passes;
    private readonly bool _fixedPoint;
    private readonly int _maxIterations;

    /// <summary>Creates a composite pass.</summary>
    public CompositePass(string name, IReadOnlyList<IPass> passes, bool fixedPoint = true, int maxIterations = 20)
    {
        Name = name;
        _passes = passes;
        _fixedPoint = fixedPoint;
        _maxIterations = maxIterations;
    }

    /// <inheritdoc/>
    public string Name { get; }

    /// <summary>The passes in order.</summary>
    public IReadOnlyList<IPass> Passes => _passes;

    /// <inheritdoc/>
    public PassResult Run(Model model)
    {
        bool any = false;
        for (int i = 0; i < _maxIterations; i++)
        {
            bool changed = false;
            foreach (var p in _passes)
            {
                var r = p.Run(model);
                model = r.Model;
                changed |= r.Modified;
            }
            any |= changed;
            if (!changed || !_fixedPoint) break;
        }
        return new PassResult(model, any);
    }
}
