namespace OnnxRev.Passes.Cleanup.Folding;

/// <summary>Thrown inside a kernel when it will not compute a node; <see cref="ConstantEvaluator"/>
/// turns it into a false return with <see cref="Exception.Message"/> as the reason. Never escapes the evaluator.</summary>
internal sealed class FoldDeclinedException(string reason) : Exception(reason);
