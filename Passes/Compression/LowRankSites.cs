using OnnxRev.Ir;
using OnnxRev.Passes.Cleanup;
using DT = OnnxRev.Schema.TensorProto.Types.DataType;

namespace OnnxRev.Passes.Compression;

/// <summary>How a node uses a factorable weight.</summary>
public enum LowRankUse
{
    /// <summary>MatMul(x, W) with W [K, N] (x may be batched, [..., K]).</summary>
    MatMul,
    /// <summary>Gemm(A, B, C?) with B constant (transA, transB, alpha, beta kept).</summary>
    Gemm,
    /// <summary>Conv with a 1×1 kernel, group 1: a matrix [O, I] over channels.</summary>
    Conv1x1,
    /// <summary>Conv with a k×k kernel, group 1: Tucker-2.</summary>
    ConvKxK,
    /// <summary>Gather(E, indices) on axis 0 of a 2-D table (embeddings).</summary>
    Gather,
}

/// <summary>Which side of the stored weight the data multiplies (for activation-aware factorization).</summary>
public enum InputSide
{
    /// <summary>x·S: the rows of S are input features (MatMul, Gemm transB=0, Gather rows).</summary>
    Rows,
    /// <summary>x·Sᵀ: the columns are input features (Gemm transB=1, 1×1 Conv).</summary>
    Cols,
}

/// <summary>
/// One constant weight that can be factored, with every node that reads it. The weight is a float
/// initializer or a Constant node's output; all its uses must be factorable (MatMul/Gemm/Gather of the same
/// 2-D matrix, or Conv of the same 4-D kernel), otherwise the original would have to stay and nothing is saved.
/// </summary>
public sealed class LowRankSite
{
    internal LowRankSite(Value weight, Tensor tensor, Node? constantNode, IReadOnlyList<(Node Node, LowRankUse Use)> users)
    {
        Weight = weight;
        Tensor = tensor;
        ConstantNode = constantNode;
        Users = users;
    }

    /// <summary>The weight value.</summary>
    public Value Weight { get; }

    /// <summary>Its data.</summary>
    public Tensor Tensor { get; }

    /// <summary>The Constant node producing it, when the exporter wrote it that way.</summary>
    public Node? ConstantNode { get; }

    /// <summary>Every node reading the weight and how.</summary>
    public IReadOnlyList<(Node Node, LowRankUse Use)> Users { get; }

    /// <summary>True for a k×k Conv kernel (Tucker-2); false for a matrix (SVD).</summary>
    public bool IsKernel => Users[0].Use == LowRankUse.ConvKxK;

    /// <summary>Rows of the stored matrix ([O] for kernels).</summary>
    public int Rows => (int)Tensor.Dims[0];

    /// <summary>Columns of the stored matrix ([I] for kernels).</summary>
    public int Cols => (int)Tensor.Dims[1];

    /// <summary>kh·kw for kernels (1 for matrices).</summary>
    public int Spatial => Tensor.Dims.Count == 4 ? (int)(Tensor.Dims[2] * Tensor.Dims[3]) : 1;

    /// <summary>Elements of the weight.</summary>
    public long Parameters => Tensor.ElementCount;

    /// <summary>True when only Gather reads it (factoring adds multiplies: only the bytes rule applies).</summary>
    public bool GatherOnly => Users.All(u => u.Use == LowRankUse.Gather);

    /// <summary>The side the data enters on, when every use agrees (null: mixed, no activation weighting).</summary>
    public InputSide? Side
    {
        get
        {
            var sides = Users.Select(u => SideOf(u.Node, u.Use)).Distinct().ToList();
            return sides.Count == 1 ? sides[0] : null;
        }
    }

    /// <summary>The value whose statistics weigh the factorization for one use: the data input.</summary>
    public static Value? DataInput(Node node, LowRankUse use) => use == LowRankUse.Gather ? node.Inputs[1] : node.Inputs[0];

    private static InputSide SideOf(Node node, LowRankUse use) => use switch
    {
        LowRankUse.Gemm => node.Attributes.GetInt("transB", 0) != 0 ? InputSide.Cols : InputSide.Rows,
        LowRankUse.Conv1x1 or LowRankUse.ConvKxK => InputSide.Cols,
        _ => InputSide.Rows,
    };

    /// <summary>A short description for reports: the weight, its shape and its users' ops.</summary>
    public string Describe() => $"{Weight.Name} [{string.Join("×", Tensor.Dims)}] ({string.Join(", ", Users.Select(u => u.Node.OpType).Distinct())})";

    /// <summary>Finds every factorable weight in the model (all graphs), in graph order, limited to the uses in <paramref name="allowed"/>.</summary>
    public static List<LowRankSite> Find(Model model, IReadOnlySet<LowRankUse> allowed)
    {
        var result = new List<LowRankSite>();
        var seen = new HashSet<Value>();
        foreach (var graph in model.Graph.AllGraphs())
            foreach (var node in graph.Nodes)
            {
                var (weight, use) = Classify(node);
                if (weight is null || !seen.Add(weight)) continue;
                var site = Build(weight, allowed);
                if (site is not null) result.Add(site);
            }
        return result;
    }

    private static LowRankSite? Build(Value weight, IReadOnlySet<LowRankUse> allowed)
    {
        if (weight.IsGraphOutput || weight.IsGraphInput) return null;
        Tensor? tensor;
        Node? constantNode = null;
        if (weight.IsConstant && weight.Initializer is not null) tensor = weight.Initializer;
        else if (weight.Producer is { OpType: "Constant" } p && p.IsStandardDomain)
        {
            tensor = ConstantsToInitializers.ToTensor(p);
            constantNode = p;
        }
        else return null;
        if (tensor is null || tensor.DataType != (int)DT.Float || tensor.ElementCount == 0) return null;
        var users = new List<(Node, LowRankUse)>();
        foreach (var use in weight.Uses)
        {
            var (w, kind) = Classify(use.Node);
            if (!ReferenceEquals(w, weight) || !allowed.Contains(kind)) return null;
            if (users.Any(u => ReferenceEquals(u.Item1, use.Node))) return null; // the same node reads it twice
            users.Add((use.Node, kind));
        }
        if (users.Count == 0) return null;
        bool kernel = users[0].Item2 is LowRankUse.ConvKxK or LowRankUse.Conv1x1;
        if (users.Any(u => (u.Item2 is LowRankUse.ConvKxK or LowRankUse.Conv1x1) != kernel)) return null;
        if (kernel ? tensor.Dims.Count != 4 : tensor.Dims.Count != 2) return null;
        if (tensor.Dims.Any(d => d <= 0 || d > int.MaxValue)) return null;
        return new LowRankSite(weight, tensor, constantNode, users);
    }

    /// <summary>The constant weight a node would have factored and how, or (null, _).</summary>
    private static (Value? Weight, LowRankUse Use) Classify(Node node)
    {
        if (!node.IsStandardDomain) return (null, default);
        switch (node.OpType)
        {
            case "MatMul" when node.Inputs.Count == 2 && node.Inputs[0] is not null && IsConstant(node.Inputs[1], 2):
                return (node.Inputs[1], LowRankUse.MatMul);
            case "Gemm" when node.Inputs.Count >= 2 && node.Inputs[0] is not null && IsConstant(node.Inputs[1], 2):
                return (node.Inputs[1], LowRankUse.Gemm);
            case "Gather" when node.Inputs.Count == 2 && node.Inputs[1] is not null && IsConstant(node.Inputs[0], 2)
                               && node.Attributes.GetInt("axis", 0) is 0 or -2:
                return (node.Inputs[0], LowRankUse.Gather);
            case "Conv" when node.Inputs.Count >= 2 && node.Inputs[0] is not null && IsConstant(node.Inputs[1], 4)
                             && node.Attributes.GetInt("group", 1) == 1:
                var dims = DimsOf(node.Inputs[1]!)!;
                return (node.Inputs[1], dims[2] == 1 && dims[3] == 1 ? LowRankUse.Conv1x1 : LowRankUse.ConvKxK);
            default:
                return (null, default);
        }
    }

    private static bool IsConstant(Value? v, int rank) => v is not null && DimsOf(v) is { } d && d.Count == rank;

    private static IReadOnlyList<long>? DimsOf(Value v)
    {
        if (v.IsConstant && v.Initializer is { } t) return t.Dims;
        if (v.Producer is { OpType: "Constant" } p && p.IsStandardDomain && p.Attributes.Count == 1 && p.Attributes[0].Name == "value") return p.Attributes[0].TensorValue!.Dims;
        return null;
    }
}
