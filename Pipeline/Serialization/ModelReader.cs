using Google.Protobuf;
using OnnxRev.Ir;
using OnnxRev.Schema;

namespace OnnxRev.Serialization;

/// <summary>
/// Reads ONNX files into the IR. Every failure a user can cause (missing file, truncated or
/// corrupt protobuf, a name used but never defined, a cycle, bad external data) becomes an
/// <see cref="OnnxRevException"/> naming the file and the part at fault.
/// </summary>
public static class ModelReader
{
    /// <summary>Reads a model file; external data is resolved against the file's folder and read lazily.</summary>
    public static Model Load(string path)
    {
        if (Directory.Exists(path)) throw new OnnxRevException($"'{path}' is a folder, not an ONNX model file");
        if (!File.Exists(path)) throw new OnnxRevException($"model file '{path}' does not exist");
        ModelProto proto;
        try
        {
            using var fs = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 20);
            if (fs.Length == 0) throw new OnnxRevException($"'{path}' is empty, not an ONNX model");
            if (fs.Length > int.MaxValue)
                throw new OnnxRevException($"'{path}' is {fs.Length} bytes; a protobuf file cannot exceed 2 GiB, so large weights must be stored as external data");
            proto = ParseModel(CodedInputStream.CreateWithLimits(fs, int.MaxValue, 512), path);
        }
        catch (IOException e) { throw new OnnxRevException($"cannot read '{path}': {e.Message}", e); }
        catch (UnauthorizedAccessException e) { throw new OnnxRevException($"cannot read '{path}': {e.Message}", e); }
        return FromProto(proto, Path.GetDirectoryName(Path.GetFullPath(path)), path);
    }

    /// <summary>Reads a model from bytes (external data is not available this way).</summary>
    public static Model Load(byte[] bytes, string sourceName = "<bytes>") =>
        FromProto(ParseModel(new CodedInputStream(bytes), sourceName), null, sourceName);

    private static ModelProto ParseModel(CodedInputStream input, string source)
    {
        var proto = new ModelProto();
        try
        {
            proto.MergeFrom(input);
        }
        catch (InvalidProtocolBufferException e) { throw new OnnxRevException($"'{source}' is not a valid ONNX model: the protobuf is corrupt or truncated ({FirstLine(e.Message)})", e); }
        if (proto.Graph is null) throw new OnnxRevException($"'{source}' is not an ONNX model: it has no graph");
        if (proto.IrVersion <= 0) throw new OnnxRevException($"'{source}' is not an ONNX model: it has no IR version");
        return proto;
    }

    /// <summary>Converts a parsed ModelProto into the IR.</summary>
    public static Model FromProto(ModelProto proto, string? baseDirectory, string sourceName)
    {
        var header = proto.Clone();
        header.Graph = null;
        var ctx = new Context(baseDirectory, sourceName);
        var graph = ReadGraph(proto.Graph, null, ctx);
        var model = new Model(graph, header, baseDirectory);
        GraphAlgorithms.SortTopologically(graph);
        return model;
    }

    private sealed record Context(string? BaseDirectory, string Source);

    /// <summary>Name → value lookup for one graph, falling back to enclosing graphs.</summary>
    private sealed class Scope(Scope? outer, Graph graph, Context ctx)
    {
        private readonly Dictionary<string, Value> _values = new(StringComparer.Ordinal);

        public Value Define(Value v)
        {
            if (v.Name.Length == 0) return v;
            if (!_values.TryAdd(v.Name, v))
                throw new OnnxRevException($"'{ctx.Source}': value '{v.Name}' is defined twice in graph '{graph.Name}'");
            return v;
        }

        public Value? Local(string name) => _values.GetValueOrDefault(name);

        public Value? Resolve(string name) => _values.GetValueOrDefault(name) ?? outer?.Resolve(name);
    }

    private static Graph ReadGraph(GraphProto gp, Scope? outer, Context ctx)
    {
        var graph = new Graph(gp.Name);
        var extras = gp.Clone();
        extras.Node.Clear(); extras.Initializer.Clear(); extras.SparseInitializer.Clear();
        extras.Input.Clear(); extras.Output.Clear(); extras.ValueInfo.Clear();
        graph.Extras = extras;
        var scope = new Scope(outer, graph, ctx);

        foreach (var vi in gp.Input)
        {
            var v = new Value(vi.Name) { Info = vi.Clone(), Graph = graph };
            graph.Inputs.Add(scope.Define(v));
        }
        foreach (var t in gp.Initializer)
        {
            var external = t.DataLocation == TensorProto.Types.DataLocation.External
                ? ExternalDataResolver.Resolve(t, ctx.BaseDirectory, ctx.Source) : null;
            var existing = scope.Local(t.Name);
            if (existing is not null && (existing.Initializer is not null || !existing.IsGraphInput))
                throw new OnnxRevException($"'{ctx.Source}': initializer '{t.Name}' is defined twice in graph '{graph.Name}'");
            var v = existing ?? scope.Define(new Value(t.Name) { Graph = graph });
            graph.AddInitializer(v, new Tensor(t.Clone(), external));
        }
        foreach (var s in gp.SparseInitializer)
        {
            string name = s.Values?.Name ?? "";
            var v = scope.Local(name) ?? scope.Define(new Value(name) { Graph = graph });
            graph.AddSparseInitializer(v, s.Clone());
        }

        // First define every node output, so nodes written out of order still resolve.
        var nodes = new List<(NodeProto proto, Node node)>(gp.Node.Count);
        foreach (var np in gp.Node)
        {
            var outputs = np.Output.Select(n => new Value(n)).ToList();
            var node = new Node(np.OpType, Array.Empty<Value?>(), outputs, np.Domain, np.Name) { Overload = np.Overload };
            var extrasNode = np.Clone();
            extrasNode.Input.Clear(); extrasNode.Output.Clear(); extrasNode.Attribute.Clear();
            node.Extras = extrasNode;
            graph.Append(node);
            foreach (var o in outputs) scope.Define(o);
            nodes.Add((np, node));
        }
        foreach (var (np, node) in nodes)
        {
            foreach (var name in np.Input)
            {
                if (name.Length == 0) { node.AddInput(null); continue; }
                var v = scope.Resolve(name)
                    ?? throw new OnnxRevException($"'{ctx.Source}': {node.Describe()} reads '{name}', which no node, graph input or initializer defines");
                node.AddInput(v);
            }
            foreach (var ap in np.Attribute) node.Attributes.Add(ReadAttribute(ap, node, scope, ctx));
        }

        foreach (var vi in gp.Output)
        {
            var v = scope.Resolve(vi.Name)
                ?? throw new OnnxRevException($"'{ctx.Source}': graph '{graph.Name}' output '{vi.Name}' is not defined by any node, input or initializer");
            if (ReferenceEquals(v.Graph, graph) && v.Info is null) v.Info = vi.Clone();
            graph.OutputDeclarations[vi.Name] = vi.Clone();
            graph.Outputs.Add(v);
        }
        foreach (var vi in gp.ValueInfo)
        {
            var v = scope.Local(vi.Name);
            if (v is not null && v.Info is null && !v.IsGraphInput) { v.Info = vi.Clone(); graph.ValueInfos.Add(v); }
            else graph.OrphanValueInfos.Add(vi.Clone());
        }
        return graph;
    }

    private static Ir.Attribute ReadAttribute(AttributeProto ap, Node node, Scope scope, Context ctx)
    {
        bool hasGraphs = ap.G is not null || ap.Graphs.Count > 0;
        if (!hasGraphs) return new Ir.Attribute(ap.Clone());
        var copy = ap.Clone();
        var graphs = new List<Graph>();
        if (ap.G is not null) graphs.Add(ReadGraph(ap.G, scope, ctx));
        foreach (var g in ap.Graphs) graphs.Add(ReadGraph(g, scope, ctx));
        copy.G = null;
        copy.Graphs.Clear();
        if (copy.Type == AttributeProto.Types.AttributeType.Undefined)
            copy.Type = ap.G is not null ? AttributeProto.Types.AttributeType.Graph : AttributeProto.Types.AttributeType.Graphs;
        foreach (var g in graphs) g.ParentNode = node;
        return new Ir.Attribute(copy, graphs);
    }

    private static string FirstLine(string s)
    {
        int i = s.IndexOf('\n');
        return (i < 0 ? s : s[..i]).TrimEnd('.', ' ');
    }
}
