using OnnxRev.Building;
using OnnxRev.Ir;

namespace OnnxRev.Patterns;

/// <summary>Whether a rule matched, and if not, why.</summary>
public readonly record struct MatchResult(bool Success, string? Reason)
{
    /// <summary>A successful match.</summary>
    public static MatchResult Ok => new(true, null);

    /// <summary>A failed match with its reason.</summary>
    public static MatchResult Fail(string reason) => new(false, reason);
}

/// <summary>
/// The nodes and values a rule matched, starting at <see cref="Root"/>. Rules record every node of
/// the pattern in <see cref="Nodes"/>; the rewrite engine removes those left unused afterwards.
/// </summary>
public sealed class Match
{
    /// <summary>Creates a match rooted at <paramref name="root"/>.</summary>
    public Match(Node root)
    {
        Root = root;
        Nodes.Add(root);
    }

    /// <summary>The node the pattern starts from (its outputs are replaced).</summary>
    public Node Root { get; }

    /// <summary>Every node of the pattern, root first.</summary>
    public List<Node> Nodes { get; } = new();

    /// <summary>Values the rule captured, by role name.</summary>
    public Dictionary<string, Value> Values { get; } = new();
}

/// <summary>
/// A rewrite rule in three parts, as MLIR and the onnxscript rewriter have them: a declared root
/// operator, a match that inspects the graph without changing it and says why it failed, and a
/// rewrite that builds replacement values for the root's outputs.
/// </summary>
public abstract class RewriteRule
{
    /// <summary>A name for logs and failure reports.</summary>
    public virtual string Name => GetType().Name;

    /// <summary>The operator a match starts from.</summary>
    public abstract OpKey Root { get; }

    /// <summary>Tries to match at <paramref name="root"/>. Must not change the graph.</summary>
    public abstract MatchResult Match(Node root, out Match? match);

    /// <summary>Builds the replacement for each output of <c>match.Root</c> (in order) with <paramref name="builder"/>.</summary>
    public abstract IReadOnlyList<Value> Rewrite(Match match, GraphBuilder builder);
}
