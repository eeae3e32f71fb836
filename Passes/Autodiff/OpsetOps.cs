using OnnxRev.Building;
using OnnxRev.Ir;
using OnnxRev.Schema;
using Attr = OnnxRev.Ir.Attribute;

namespace OnnxRev.Passes.Autodiff;

/// <summary>
/// Standard ONNX ops whose signature changed between opsets (axes as attribute or input), emitted
/// the way the model's opset expects, so backward graphs stay valid for old and new models.
/// </summary>
public sealed class OpsetOps
{
    private readonly GraphBuilder _b;
    private readonly int _opset;
    private readonly Func<long[], Value> _ints;

    internal OpsetOps(GraphBuilder builder, int opset, Func<long[], Value> int64s)
    {
        _b = builder;
        _opset = opset;
        _ints = int64s;
    }

    /// <summary>ReduceSum over <paramref name="axes"/> (axes as input from opset 13).</summary>
    public Value ReduceSum(Value x, long[] axes, bool keepDims) => Reduce("ReduceSum", 13, x, axes, keepDims);

    /// <summary>ReduceMean over <paramref name="axes"/> (axes as input from opset 18).</summary>
    public Value ReduceMean(Value x, long[] axes, bool keepDims) => Reduce("ReduceMean", 18, x, axes, keepDims);

    /// <summary>ReduceMax over <paramref name="axes"/> (axes as input from opset 18).</summary>
    public Value ReduceMax(Value x, long[] axes, bool keepDims) => Reduce("ReduceMax", 18, x, axes, keepDims);

    private Value Reduce(string op, int axesInputSince, Value x, long[] axes, bool keepDims)
    {
        var keep = Attr.FromInt("keepdims", keepDims ? 1 : 0);
        if (axes.Length == 0) return _b.Op(op, new[] { x }, new[] { keep });
        return _opset >= axesInputSince
            ? _b.Op(op, new[] { x, _ints(axes) }, new[] { keep })
            : _b.Op(op, new[] { x }, new[] { keep, Attr.FromInts("axes", axes) });
    }

    /// <summary>Unsqueeze (axes as input from opset 13).</summary>
    public Value Unsqueeze(Value x, params long[] axes) =>
        _opset >= 13 ? _b.Op("Unsqueeze", new[] { x, _ints(axes) }) : _b.Op("Unsqueeze", new[] { x }, new[] { Attr.FromInts("axes", axes) });

    /// <summary>Squeeze (axes as input from opset 13).</summary>
    public Value Squeeze(Value x, params long[] axes) =>
        _opset >= 13 ? _b.Op("Squeeze", new[] { x, _ints(axes) }) : _b.Op("Squeeze", new[] { x }, new[] { Attr.FromInts("axes", axes) });

    /// <summary>Slice (starts/ends/axes/steps as inputs from opset 10).</summary>
    public Value Slice(Value x, long[] starts, long[] ends, long[] axes, long[]? steps = null)
    {
        if (_opset >= 10)
        {
            var inputs = new List<Value?> { x, _ints(starts), _ints(ends), _ints(axes) };
            if (steps is not null) inputs.Add(_ints(steps));
            return _b.Op("Slice", inputs);
        }
        return _b.Op("Slice", new[] { x }, new[] { Attr.FromInts("starts", starts), Attr.FromInts("ends", ends), Attr.FromInts("axes", axes) });
    }

    /// <summary>Transpose with a permutation.</summary>
    public Value Transpose(Value x, long[] perm) => _b.Op("Transpose", new[] { x }, new[] { Attr.FromInts("perm", perm) });

    /// <summary>Shape of a value.</summary>
    public Value Shape(Value x) => _b.Op("Shape", new[] { x });

    /// <summary>Reshape to the runtime shape of <paramref name="like"/>.</summary>
    public Value ReshapeLike(Value x, Value like) => _b.Op("Reshape", new[] { x, Shape(like) });

    /// <summary>Cast to an element type.</summary>
    public Value Cast(Value x, int to) => _b.Op("Cast", new[] { x }, new[] { Attr.FromInt("to", to) });

    /// <summary>A tensor shaped like <paramref name="like"/> filled with <paramref name="value"/> of element type <paramref name="elemType"/>.</summary>
    public Value Fill(Value like, double value, int elemType)
    {
        var t = new TensorProto { DataType = elemType };
        t.Dims.Add(1);
        var raw = elemType switch
        {
            (int)TensorProto.Types.DataType.Double => BitConverter.GetBytes(value),
            (int)TensorProto.Types.DataType.Float16 => BitConverter.GetBytes((Half)value),
            _ => BitConverter.GetBytes((float)value),
        };
        t.RawData = Google.Protobuf.ByteString.CopyFrom(raw);
        return _b.Op("ConstantOfShape", new[] { Shape(like) }, new[] { Attr.FromTensor("value", t) });
    }
}
