using OnnxRev.Ir;

namespace OnnxRev.Passes.Cleanup.Shapes;

/// <summary>
/// What <see cref="ShapeInference"/> found out about the values of a model: element types, shapes
/// (dimensions may be known, symbolic or unknown) and, for small integer tensors such as shape
/// tensors, their element values. Anything not recorded is unknown.
/// </summary>
public sealed class ShapeInfo
{
    private readonly Dictionary<Value, int> _types = new();
    private readonly Dictionary<Value, Dim[]> _shapes = new();
    private readonly Dictionary<Value, Dim[]> _data = new();

    /// <summary>
    /// The element type (TensorProto.DataType, 0 when unknown) and shape (null when even the rank is
    /// unknown) of <paramref name="value"/>. Returns false when neither is known.
    /// </summary>
    public bool TryGetType(Value value, out int elemType, out Dim[]? dims)
    {
        elemType = _types.GetValueOrDefault(value);
        dims = _shapes.TryGetValue(value, out var d) ? (Dim[])d.Clone() : null;
        return elemType != 0 || dims is not null;
    }

    /// <summary>
    /// The element values of a small integer tensor (row-major, one <see cref="Dim"/> per element;
    /// individual elements may be symbolic or unknown), or false when they are not tracked.
    /// </summary>
    public bool TryGetData(Value value, out Dim[] data)
    {
        if (_data.TryGetValue(value, out var d)) { data = (Dim[])d.Clone(); return true; }
        data = Array.Empty<Dim>();
        return false;
    }

    /// <summary>The shape as text ("[n,3,?]" or "&lt;unknown rank&gt;"), for messages and tests.</summary>
    public string Describe(Value value) => Dim.Format(_shapes.GetValueOrDefault(value));

    internal int ElemType(Value v) => _types.GetValueOrDefault(v);

    internal Dim[]? Shape(Value v) => _shapes.GetValueOrDefault(v);

    internal Dim[]? Data(Value v) => _data.GetValueOrDefault(v);

    internal void Set(Value v, int elemType, Dim[]? dims)
    {
        if (elemType != 0) _types[v] = elemType;
        if (dims is not null) _shapes[v] = dims;
    }

    internal void SetData(Value v, Dim[] data) => _data[v] = data;

    internal void RemoveData(Value v) => _data.Remove(v);
}
