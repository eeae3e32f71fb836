using Google.Protobuf;
using OnnxRev.Schema;
using AttrType = OnnxRev.Schema.AttributeProto.Types.AttributeType;

namespace OnnxRev.Ir;

/// <summary>
/// A node attribute. Scalar, list and tensor attributes are kept as their AttributeProto;
/// graph-valued attributes (If/Loop/Scan bodies) hold IR graphs in <see cref="Graph"/> /
/// <see cref="Graphs"/> and the proto's own graph fields stay empty.
/// </summary>
public sealed class Attribute
{
    private readonly List<Graph> _graphs = new();

    /// <summary>Wraps an attribute proto (must not carry graphs; use <see cref="Attribute(AttributeProto, IEnumerable{Graph})"/>).</summary>
    public Attribute(AttributeProto proto) => Proto = proto;

    /// <summary>Wraps a graph-valued attribute.</summary>
    public Attribute(AttributeProto proto, IEnumerable<Graph> graphs)
    {
        Proto = proto;
        _graphs.AddRange(graphs);
    }

    /// <summary>The attribute as read, minus its graphs.</summary>
    public AttributeProto Proto { get; }

    /// <summary>Attribute name.</summary>
    public string Name => Proto.Name;

    /// <summary>Attribute type.</summary>
    public AttrType Type => Proto.Type;

    /// <summary>The graph of a GRAPH attribute.</summary>
    public Graph? Graph => Type == AttrType.Graph && _graphs.Count > 0 ? _graphs[0] : null;

    /// <summary>The graphs of a GRAPHS attribute.</summary>
    public IReadOnlyList<Graph> Graphs => Type == AttrType.Graphs ? _graphs : Array.Empty<Graph>();

    /// <summary>Every graph this attribute holds.</summary>
    public IReadOnlyList<Graph> AllGraphs => _graphs;

    /// <summary>INT value.</summary>
    public long Int => Proto.I;

    /// <summary>FLOAT value.</summary>
    public float Float => Proto.F;

    /// <summary>STRING value as UTF-8.</summary>
    public string String => Proto.S.ToStringUtf8();

    /// <summary>INTS value.</summary>
    public IReadOnlyList<long> Ints => Proto.Ints;

    /// <summary>FLOATS value.</summary>
    public IReadOnlyList<float> Floats => Proto.Floats;

    /// <summary>TENSOR value.</summary>
    public TensorProto? TensorValue => Proto.T;

    /// <summary>An INT attribute.</summary>
    public static Attribute FromInt(string name, long v) => new(new AttributeProto { Name = name, Type = AttrType.Int, I = v });

    /// <summary>A FLOAT attribute.</summary>
    public static Attribute FromFloat(string name, float v) => new(new AttributeProto { Name = name, Type = AttrType.Float, F = v });

    /// <summary>A STRING attribute.</summary>
    public static Attribute FromString(string name, string v) => new(new AttributeProto { Name = name, Type = AttrType.String, S = ByteString.CopyFromUtf8(v) });

    /// <summary>An INTS attribute.</summary>
    public static Attribute FromInts(string name, IEnumerable<long> v)
    {
        var p = new AttributeProto { Name = name, Type = AttrType.Ints };
        p.Ints.AddRange(v);
        return new Attribute(p);
    }

    /// <summary>A FLOATS attribute.</summary>
    public static Attribute FromFloats(string name, IEnumerable<float> v)
    {
        var p = new AttributeProto { Name = name, Type = AttrType.Floats };
        p.Floats.AddRange(v);
        return new Attribute(p);
    }

    /// <summary>A TENSOR attribute.</summary>
    public static Attribute FromTensor(string name, TensorProto t) => new(new AttributeProto { Name = name, Type = AttrType.Tensor, T = t });

    /// <summary>A GRAPH attribute.</summary>
    public static Attribute FromGraph(string name, Graph g) => new(new AttributeProto { Name = name, Type = AttrType.Graph }, new[] { g });
}

/// <summary>A node's attributes in file order, with lookup by name.</summary>
public sealed class AttributeList : List<Attribute>
{
    /// <summary>The attribute called <paramref name="name"/>, or null.</summary>
    public Attribute? Find(string name)
    {
        foreach (var a in this) if (a.Name == name) return a;
        return null;
    }

    /// <summary>INT attribute or a default.</summary>
    public long GetInt(string name, long fallback) => Find(name)?.Int ?? fallback;

    /// <summary>FLOAT attribute or a default.</summary>
    public float GetFloat(string name, float fallback) => Find(name)?.Float ?? fallback;

    /// <summary>STRING attribute or a default.</summary>
    public string GetString(string name, string fallback) => Find(name)?.String ?? fallback;

    /// <summary>INTS attribute or null.</summary>
    public IReadOnlyList<long>? GetInts(string name) => Find(name)?.Ints;

    /// <summary>Adds or replaces an attribute of the same name, keeping its position.</summary>
    public void Set(Attribute attribute)
    {
        int i = FindIndex(a => a.Name == attribute.Name);
        if (i >= 0) this[i] = attribute; else Add(attribute);
    }

    /// <summary>Removes the attribute called <paramref name="name"/> if present.</summary>
    public bool Remove(string name) => RemoveAll(a => a.Name == name) > 0;
}
