using OnnxRev.Ir;
using OnnxRev.Passes.Autodiff.Memory;
using OnnxRev.Serialization;
using Attr = OnnxRev.Ir.Attribute;
using DT = OnnxRev.Schema.TensorProto.Types.DataType;

namespace OnnxRev.Passes.Reversible;

/// <summary>
/// Runs the F and G branches of every additive coupling block in float16 while the two streams stay float32:
/// <code>
/// y1 = x1 + Cast32(F16(Cast16(x2)));   y2 = x2 + Cast32(G16(Cast16(y1)))
/// </code>
/// Inside a branch every float value becomes float16; the branch's float32 weights stay the stored (and, in
/// training, the updated "master") values and are read through a Cast to float16. The streams x1, x2, y1, y2 are
/// never rounded to 16 bits, so the reversible backward still rebuilds x2 = y2 − G(y1) and x1 = y1 − F(x2) with
/// float32 subtractions: F and G recomputed on the same inputs give bit-identical float16 results, and the rebuilt
/// streams are as exact as with float32 branches. The function changes by the branches' float16 rounding.
/// A branch holding an op whose type cannot simply change (subgraphs, random ops, Cast to a non-float type from a
/// float, type-carrying attributes such as ConstantOfShape) is left in float32 and counted as skipped.
/// </summary>
public sealed class CouplingHalfBranches : IPass
{
    /// <inheritdoc/>
    public string Name => "coupling-fp16";

    /// <summary>Branches converted (two per block) by the last run.</summary>
    public int ConvertedBranches { get; private set; }

    /// <summary>Branches left in float32 by the last run, with the reason.</summary>
    public IReadOnlyList<string> Skipped { get; private set; } = Array.Empty<string>();

    /// <inheritdoc/>
    public PassResult Run(Model model)
    {
        var g = model.Graph;
        var blocks = BlockFinder.Coupling(g);
        if (blocks.Count == 0)
            throw new OnnxRevException("coupling-fp16 found no additive coupling blocks (y1 = x1 + F(x2); y2 = x2 + G(y1)); convert residual blocks with the 'coupling' pass first");
        _types = Cleanup.Shapes.ShapeInference.Infer(model);
        int converted = 0;
        var skipped = new List<string>();
        var halfOf = new Dictionary<Value, Value>();
        foreach (var c in blocks)
        {
            foreach (var (branch, add, label) in new[] { (c.F, c.AddF, "F"), (c.G, c.AddG, "G") })
            {
                if (Obstacle(branch) is { } why) { skipped.Add($"{label} of the block at {add.Describe()}: {why}"); continue; }
                Convert(model, branch, add, halfOf);
                converted++;
            }
        }
        ConvertedBranches = converted;
        Skipped = skipped;
        return new PassResult(model, converted > 0);
    }

    private Cleanup.Shapes.ShapeInfo? _types;

    private string? Obstacle(Branch branch)
    {
        foreach (var n in branch.Nodes)
        {
            if (n.Subgraphs.Any()) return $"{n.Describe()} has subgraphs";
            if (!n.IsStandardDomain) return $"{n.Describe()} is not a standard ONNX op";
            if (n.OpType.StartsWith("Random", StringComparison.Ordinal) || n.OpType is "Bernoulli" or "Multinomial" or "Dropout") return $"{n.Describe()} draws random numbers";
            if (n.OpType is "ConstantOfShape" or "EyeLike" or "Constant" or "Range") return $"{n.Describe()} carries its own element type";
            if (n.OpType == "Cast" && !IsFloat(n.Inputs[0]!) && n.Attributes.GetInt("to", 0) == (int)DT.Float) return $"{n.Describe()} casts a non-float value to float";
            if (n.Inputs.FirstOrDefault(v => v is not null && IsFloatLike(v) && !IsFloat(v)) is { } other)
                return $"{n.Describe()} reads a {TensorEncoding.TypeName(TypeOf(other))} value";
        }
        if (!IsFloat(branch.Output)) return "the branch output is not float32";
        return null;
    }

    private void Convert(Model model, Branch branch, Node add, Dictionary<Value, Value> halfOf)
    {
        var g = model.Graph;
        var inside = branch.Nodes.ToHashSet();
        var first = branch.Nodes[0];
        Value Half(Value v, Node before)
        {
            if (halfOf.TryGetValue(v, out var h) && !ReferenceEquals(v, branch.Leaf)) return h;
            var o = new Value(model.Names.Fresh(v.Name + "_fp16"), HalfType(v.Type));
            var cast = new Node("Cast", new[] { v }, new[] { o }, name: model.Names.Fresh(v.Name + "_to_fp16"));
            cast.Attributes.Set(Attr.FromInt("to", (int)DT.Float16));
            g.InsertBefore(before, cast);
            if (!ReferenceEquals(v, branch.Leaf)) halfOf[v] = o;
            return o;
        }
        var leafHalf = Half(branch.Leaf, first);
        foreach (var n in branch.Nodes)
        {
            for (int i = 0; i < n.Inputs.Count; i++)
            {
                var v = n.Inputs[i];
                if (v is null || !IsFloat(v)) continue;
                if (ReferenceEquals(v, branch.Leaf)) n.SetInput(i, leafHalf);
                else if (v.Producer is null || !inside.Contains(v.Producer)) n.SetInput(i, Half(v, first));   // weights, constants
            }
            foreach (var o in n.Outputs)
                if (IsFloat(o)) o.Type = HalfType(o.Type);
            if (n.OpType == "Cast" && n.Attributes.GetInt("to", 0) == (int)DT.Float) n.Attributes.Set(Attr.FromInt("to", (int)DT.Float16));
        }
        // Back to float32 where the branch meets its stream.
        var output = branch.Output;
        var back = new Value(model.Names.Fresh(output.Name + "_fp32"), FloatType(output.Type));
        var toFloat = new Node("Cast", new[] { output }, new[] { back }, name: model.Names.Fresh(output.Name + "_to_fp32"));
        toFloat.Attributes.Set(Attr.FromInt("to", (int)DT.Float));
        g.InsertBefore(add, toFloat);
        for (int i = 0; i < add.Inputs.Count; i++)
            if (ReferenceEquals(add.Inputs[i], output)) add.SetInput(i, back);
    }

    /// <summary>The element type: declared, else inferred (0 when unknown).</summary>
    private int TypeOf(Value v) => v.ElementType != 0 ? v.ElementType : _types is not null && _types.TryGetType(v, out int t, out _) ? t : 0;

    private bool IsFloat(Value v) => TypeOf(v) == (int)DT.Float;

    private bool IsFloatLike(Value v) => TypeOf(v) is (int)DT.Float or (int)DT.Float16 or (int)DT.Double or (int)DT.Bfloat16;

    private static Schema.TypeProto HalfType(Schema.TypeProto? t) => WithElement(t, DT.Float16);

    private static Schema.TypeProto FloatType(Schema.TypeProto? t) => WithElement(t, DT.Float);

    private static Schema.TypeProto WithElement(Schema.TypeProto? t, DT element)
    {
        var copy = t?.TensorType is not null ? t.Clone() : new Schema.TypeProto { TensorType = new Schema.TypeProto.Types.Tensor() };
        copy.TensorType.ElemType = (int)element;
        return copy;
    }
}
