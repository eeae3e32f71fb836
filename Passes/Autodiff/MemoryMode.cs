namespace OnnxRev.Passes.Autodiff;

/// <summary>How a training graph keeps the activations its backward pass needs.</summary>
public enum MemoryMode
{
    /// <summary>Keep every forward activation the backward reads (fastest, memory grows with depth).</summary>
    Store,
    /// <summary>Residual blocks keep only their input; the backward recomputes each block's interior from it.</summary>
    Recompute,
    /// <summary>Coupling blocks keep nothing: the backward reconstructs each block's inputs from its outputs and recomputes F and G locally.</summary>
    Reversible,
}
