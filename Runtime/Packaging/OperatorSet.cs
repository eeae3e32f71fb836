using System.Text;
using OnnxRev.Ir;

namespace OnnxRev.Runtime.Packaging;

/// <summary>
/// The operators a model needs, by domain and opset: what a reduced-operator ONNX Runtime build must include.
/// Written in ONNX Runtime's reduced-build configuration format, one line per domain:
/// <c>domain;opset;Op1,Op2,...</c> (the default domain as <c>ai.onnx</c>).
/// </summary>
public sealed class OperatorSet
{
    private readonly SortedDictionary<string, (long Opset, SortedSet<string> Ops)> _byDomain = new(StringComparer.Ordinal);

    /// <summary>The operators of every node of <paramref name="model"/>, subgraphs included.</summary>
    public static OperatorSet Of(Model model)
    {
        var set = new OperatorSet();
        foreach (var node in model.Graph.AllNodes())
        {
            string domain = node.IsStandardDomain ? "ai.onnx" : node.Domain;
            long opset = model.OpsetImports.FirstOrDefault(o => (o.Domain is "" or "ai.onnx" ? "ai.onnx" : o.Domain) == domain)?.Version ?? 1;
            if (!set._byDomain.TryGetValue(domain, out var entry)) set._byDomain[domain] = entry = (opset, new SortedSet<string>(StringComparer.Ordinal));
            entry.Ops.Add(node.OpType);
        }
        return set;
    }

    /// <summary>Domain → (opset, sorted operator types).</summary>
    public IReadOnlyDictionary<string, (long Opset, SortedSet<string> Ops)> ByDomain => _byDomain;

    /// <summary>Number of distinct (domain, operator) pairs.</summary>
    public int Count => _byDomain.Values.Sum(e => e.Ops.Count);

    /// <summary>The configuration file's text.</summary>
    public string ToConfig(string source)
    {
        var sb = new StringBuilder();
        sb.Append("# Operators required by ").Append(source).Append(" (onnxrev package); format: domain;opset;op1,op2,...\n");
        foreach (var (domain, (opset, ops)) in _byDomain) sb.Append(domain).Append(';').Append(opset).Append(';').Append(string.Join(',', ops)).Append('\n');
        return sb.ToString();
    }
}
