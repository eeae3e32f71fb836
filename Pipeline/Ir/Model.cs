using OnnxRev.Schema;

namespace OnnxRev.Ir;

/// <summary>
/// A model: the main graph plus everything else a ModelProto carries. Fields the IR does not
/// rewrite (producer, doc string, metadata, functions, training info, unknown fields) stay in
/// <see cref="Header"/>, a copy of the original ModelProto without its graph, and are written back as read.
/// </summary>
public sealed class Model
{
    /// <summary>Creates a model around a graph.</summary>
    public Model(Graph graph, ModelProto? header = null, string? baseDirectory = null)
    {
        Header = header ?? new ModelProto { IrVersion = 10 };
        Header.Graph = null;
        Graph = graph;
        BaseDirectory = baseDirectory;
        graph.Model = this;
        foreach (var g in graph.AllGraphs())
        {
            foreach (var v in g.Inputs) Names.Reserve(v.Name);
            foreach (var v in g.Initializers) Names.Reserve(v.Name);
            foreach (var n in g.Nodes)
            {
                Names.Reserve(n.Name);
                foreach (var o in n.Outputs) Names.Reserve(o.Name);
            }
        }
    }

    /// <summary>The ModelProto as read, minus its graph.</summary>
    public ModelProto Header { get; }

    /// <summary>The main graph.</summary>
    public Graph Graph { get; }

    /// <summary>The folder the model was read from; external data locations are relative to it.</summary>
    public string? BaseDirectory { get; internal set; }

    /// <summary>Unique-name source for values and nodes.</summary>
    public NameAuthority Names { get; } = new();

    /// <summary>IR version.</summary>
    public long IrVersion { get => Header.IrVersion; set => Header.IrVersion = value; }

    /// <summary>Operator set imports.</summary>
    public IList<OperatorSetIdProto> OpsetImports => Header.OpsetImport;

    /// <summary>Model-local functions, kept as read.</summary>
    public IList<FunctionProto> Functions => Header.Functions;

    /// <summary>The imported version of <paramref name="domain"/> ("" or "ai.onnx" for the standard domain), or null.</summary>
    public long? OpsetVersion(string domain = "")
    {
        foreach (var o in Header.OpsetImport)
        {
            bool standard = domain.Length == 0 || domain == "ai.onnx";
            if (standard ? (o.Domain.Length == 0 || o.Domain == "ai.onnx") : o.Domain == domain) return o.Version;
        }
        return null;
    }

    /// <summary>Sets (or adds) the imported version of a domain.</summary>
    public void SetOpsetVersion(string domain, long version)
    {
        foreach (var o in Header.OpsetImport)
            if (o.Domain == domain || (domain.Length == 0 && o.Domain == "ai.onnx")) { o.Version = version; return; }
        Header.OpsetImport.Add(new OperatorSetIdProto { Domain = domain, Version = version });
    }
}
