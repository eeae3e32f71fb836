using OnnxRev.Ir;
using DT = OnnxRev.Schema.TensorProto.Types.DataType;

namespace OnnxRev.Passes.Cleanup.Shapes;

/// <summary>A node under inference: typed access to what is known about its inputs, and setters for its outputs.</summary>
internal sealed class NodeContext
{
    private readonly ShapeInfo _info;

    public NodeContext(Node node, ShapeInfo info, long opset, int maxDataElements)
    {
        Node = node;
        _info = info;
        Opset = opset;
        MaxDataElements = maxDataElements;
    }

    /// <summary>The node.</summary>
    public Node Node { get; }

    /// <summary>The standard-domain opset the model imports.</summary>
    public long Opset { get; }

    /// <summary>Largest tensor whose element values are tracked.</summary>
    public int MaxDataElements { get; }

    /// <summary>Number of inputs (omitted optional inputs included).</summary>
    public int InputCount => Node.Inputs.Count;

    /// <summary>True when input <paramref name="i"/> is present.</summary>
    public bool Has(int i) => i < Node.Inputs.Count && Node.Inputs[i] is not null;

    /// <summary>Element type of input <paramref name="i"/>, 0 when unknown or absent.</summary>
    public int Type(int i) => Has(i) ? _info.ElemType(Node.Inputs[i]!) : 0;

    /// <summary>Shape of input <paramref name="i"/>, null when unknown or absent.</summary>
    public Dim[]? Shape(int i) => Has(i) ? _info.Shape(Node.Inputs[i]!) : null;

    /// <summary>Rank of input <paramref name="i"/>, or -1.</summary>
    public int Rank(int i) => Shape(i)?.Length ?? -1;

    /// <summary>Tracked element values of input <paramref name="i"/>, or null.</summary>
    public Dim[]? Data(int i) => Has(i) ? _info.Data(Node.Inputs[i]!) : null;

    /// <summary>Element values of input <paramref name="i"/> when every one is known, else null.</summary>
    public long[]? Ints(int i) => Data(i) is { } d ? Dim.Values(d) : null;

    /// <summary>INT attribute or default.</summary>
    public long Int(string name, long fallback) => Node.Attributes.GetInt(name, fallback);

    /// <summary>INTS attribute or null.</summary>
    public IReadOnlyList<long>? IntList(string name) => Node.Attributes.GetInts(name);

    /// <summary>
    /// A list of integers given as attribute <paramref name="attr"/> (older opsets) or as input
    /// <paramref name="input"/> (newer ones). <paramref name="present"/> is false when neither is given,
    /// and the result is null when the input is given but its values are not known.
    /// </summary>
    public long[]? AttrOrInput(string attr, int input, out bool present)
    {
        if (Node.Attributes.Find(attr) is { } a) { present = true; return a.Ints.ToArray(); }
        present = Has(input);
        return present ? Ints(input) : null;
    }

    /// <summary>Records the type and shape of output <paramref name="i"/>.</summary>
    public void SetOutput(int i, int elemType, Dim[]? dims)
    {
        if (i >= Node.Outputs.Count || Node.Outputs[i].Name.Length == 0) return;
        _info.Set(Node.Outputs[i], elemType, dims);
    }

    /// <summary>Records output <paramref name="i"/>'s element values (and its shape when given); dropped when too large, of an untracked type, or inconsistent with the shape.</summary>
    public void SetData(int i, Dim[] data, Dim[]? shape = null)
    {
        if (i >= Node.Outputs.Count || data.Length > MaxDataElements) return;
        var v = Node.Outputs[i];
        if (v.Name.Length == 0 || !IsTrackedType(_info.ElemType(v))) return;
        if (shape is not null)
        {
            if (Dim.Product(shape) != data.Length) return;
            _info.Set(v, 0, shape);
        }
        var known = _info.Shape(v);
        if (known is null || Dim.Product(known) != data.Length) return;
        _info.SetData(v, data);
    }

    /// <summary>Element types whose values are tracked: int64, int32 and bool (as 0/1).</summary>
    public static bool IsTrackedType(int elemType) =>
        elemType is (int)DT.Int64 or (int)DT.Int32 or (int)DT.Bool;

    /// <summary>Normalizes axis <paramref name="axis"/> into [0, rank); -1 when out of range.</summary>
    public static int Axis(long axis, int rank)
    {
        long a = axis < 0 ? axis + rank : axis;
        return a >= 0 && a < rank ? (int)a : -1;
    }
}
