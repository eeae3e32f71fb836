using OnnxRev.Building;
using OnnxRev.Ir;

namespace OnnxRev.Passes.Compression;

/// <summary>
/// Block-diagonal decomposition of Gemm/MatMul weights W [K, N] (after arXiv 2601.15871, "Why Inference in Large Models
/// Becomes Decomposable After Training"): inputs and outputs are the two sides of a bipartite graph with an edge where
/// a weight is supported; its connected components are groups of neurons that interact only among themselves. A layer
/// with two or more groups becomes Gather(X, inputs of g) → MatMul(·, W_g) per group → Concat → Gather (back to the
/// output order) [+ bias]; inputs with no supported weight are dropped. Support: |w| &gt; <see cref="Threshold"/>
/// (0: only exact zeros are unsupported, which keeps the function), and, when <see cref="Alpha"/> &gt; 0, the paper's
/// statistical criterion: a weight is unsupported when it is statistically indistinguishable from its initialization
/// distribution at level α — |w| ≤ z₁₋α/₂·σ₀, with σ₀ = 1/√(3K) the standard deviation of the usual initialization
/// U(±1/√K) of a layer with K inputs (PyTorch's Linear default). Unsupported weights are dropped (their connections
/// cut, which changes the function) only in layers that then split.
/// </summary>
public sealed class BlockDiagonal(double threshold = 0, double alpha = 0, int minGroups = 2) : IPass
{
    /// <inheritdoc/>
    public string Name => "block-diagonal";

    /// <summary>Magnitude at or below which a weight is no edge.</summary>
    public double Threshold { get; } = threshold >= 0 ? threshold : throw new OnnxRevException($"--block-threshold must be ≥ 0, got {threshold}");

    /// <summary>Significance level of the support test (0: off).</summary>
    public double Alpha { get; } = alpha is >= 0 and < 1 ? alpha : throw new OnnxRevException($"--block-alpha must be in [0, 1), got {alpha}");

    /// <summary>Layer → group sizes (inputs × outputs) of the last run.</summary>
    public IReadOnlyDictionary<string, IReadOnlyList<(int Inputs, int Outputs)>> Groups => _groups;

    private readonly Dictionary<string, IReadOnlyList<(int, int)>> _groups = new(StringComparer.Ordinal);

    /// <inheritdoc/>
    public PassResult Run(Model model)
    {
        _groups.Clear();
        bool modified = false;
        foreach (var site in WeightSite.Find(model))
        {
            if (site.Uses.Count != 1 || site.Dims.Length != 2) continue;
            var node = site.Uses[0].Node;
            if (node.OpType == "Gemm" && (node.Attributes.GetInt("transA", 0) != 0 || node.Attributes.GetFloat("alpha", 1) != 1 || node.Attributes.GetFloat("beta", 1) != 1)) continue;
            if (node.OpType is not ("Gemm" or "MatMul") || node.Outputs[0].IsGraphOutput) continue;
            var x = node.Inputs[0]!;
            int? rank = node.OpType == "Gemm" ? 2 : x.Shape?.Length;
            long opset = model.OpsetVersion("") ?? 1;
            if (rank is null && opset < 11) continue;
            int axis = rank is int r ? r - 1 : -1;
            var groups = Decompose(site, out float[] weight, out int k, out int n);
            if (groups is null) continue;
            Rewrite(model, site, node, x, axis, groups, weight, k, n);
            _groups[node.Name.Length > 0 ? node.Name : site.Name] = groups.Select(g => (g.Inputs.Length, g.Outputs.Length)).ToList();
            modified = true;
        }
        return new PassResult(model, modified);
    }

    private sealed record Group(int[] Inputs, int[] Outputs);

    /// <summary>The groups of a layer (in [K, N] orientation), or null when it does not split.</summary>
    private List<Group>? Decompose(WeightSite site, out float[] w, out int k, out int n)
    {
        var raw = site.Read();
        var dims = site.Dims;
        bool kFirst = site.InAxis == 0;
        k = (int)dims[site.InAxis];
        n = (int)dims[site.OutAxis];
        w = new float[raw.Length];
        for (int i = 0; i < k; i++)
            for (int j = 0; j < n; j++) w[i * n + j] = kFirst ? raw[i * n + j] : raw[j * k + i];
        double cut = Threshold;
        if (Alpha > 0)
        {
            double sigma = 1 / Math.Sqrt(3.0 * k);
            cut = Math.Max(cut, NormalQuantile(1 - Alpha / 2) * sigma);
        }
        // Union-find over inputs 0…k−1 and outputs k…k+n−1.
        var parent = Enumerable.Range(0, k + n).ToArray();
        int Find(int a) { while (parent[a] != a) a = parent[a] = parent[parent[a]]; return a; }
        var connected = new bool[k];
        for (int i = 0; i < k; i++)
            for (int j = 0; j < n; j++)
                if (Math.Abs(w[i * n + j]) > cut || cut == 0 && w[i * n + j] != 0 && double.IsNaN(w[i * n + j]))
                {
                    connected[i] = true;
                    int a = Find(i), b = Find(k + j);
                    if (a != b) parent[a] = b;
                }
        var byRoot = new Dictionary<int, (List<int> In, List<int> Out)>();
        for (int j = 0; j < n; j++)
        {
            int root = Find(k + j);
            if (!byRoot.TryGetValue(root, out var g)) byRoot[root] = g = (new List<int>(), new List<int>());
            g.Out.Add(j);
        }
        for (int i = 0; i < k; i++)
            if (connected[i]) byRoot[Find(i)].In.Add(i);
        var real = byRoot.Values.Where(g => g.In.Count > 0).OrderBy(g => g.Out[0]).ToList();
        var lonely = byRoot.Values.Where(g => g.In.Count == 0).SelectMany(g => g.Out).ToList();
        if (real.Count == 0) return null;
        // Outputs with no supported weight join the largest group (their weights there are unsupported: zero or dropped).
        if (lonely.Count > 0) real.OrderByDescending(g => g.In.Count * g.Out.Count).First().Out.AddRange(lonely);
        if (real.Count < minGroups) return null;
        var groups = real.Select(g => new Group(g.In.Order().ToArray(), g.Out.Order().ToArray())).ToList();
        return groups;
    }

    private static void Rewrite(Model model, WeightSite site, Node node, Value x, int axis, List<Group> groups, float[] w, int k, int n)
    {
        var g = model.Graph;
        var b = new GraphBuilder(g, node);
        var y = node.Outputs[0];
        string stem = site.Name;
        var parts = new List<Value>();
        foreach (var (grp, gi) in groups.Select((grp, gi) => (grp, gi)))
        {
            var idx = b.Initializer(Tensor.FromInt64s("", new long[] { grp.Inputs.Length }, grp.Inputs.Select(i => (long)i).ToArray()), $"{stem}.block{gi}.inputs");
            var xg = b.Op("Gather", new[] { x, idx }, new[] { Ir.Attribute.FromInt("axis", axis) }, hint: $"{stem}.block{gi}.x");
            var sub = new float[grp.Inputs.Length * grp.Outputs.Length];
            for (int a = 0; a < grp.Inputs.Length; a++)
                for (int c = 0; c < grp.Outputs.Length; c++) sub[a * grp.Outputs.Length + c] = w[grp.Inputs[a] * n + grp.Outputs[c]];
            var wg = b.Initializer(Tensor.FromFloats("", new long[] { grp.Inputs.Length, grp.Outputs.Length }, sub), $"{stem}.block{gi}");
            parts.Add(b.Op("MatMul", new[] { xg, wg }, hint: $"{stem}.block{gi}.y"));
        }
        var order = groups.SelectMany(grp => grp.Outputs).ToArray();
        var inverse = new long[n];
        for (int p = 0; p < order.Length; p++) inverse[order[p]] = p;
        var joined = b.Op("Concat", parts, new[] { Ir.Attribute.FromInt("axis", axis) }, hint: stem + ".blocks");
        var perm = b.Initializer(Tensor.FromInt64s("", new long[] { n }, inverse), stem + ".order");
        Value result = b.Op("Gather", new[] { joined, perm }, new[] { Ir.Attribute.FromInt("axis", axis) }, hint: stem + ".unpermuted");
        if (node.OpType == "Gemm" && node.Inputs.Count > 2 && node.Inputs[2] is { } bias) result = b.Op("Add", new[] { result, bias }, hint: stem + ".biased");
        y.ReplaceAllUsesWith(result);
        g.Remove(node);
        if (site.Value.Uses.Count == 0)
        {
            if (site.ConstantNode is not null) g.Remove(site.ConstantNode);
            else g.RemoveInitializer(site.Value);
        }
    }

    /// <summary>The standard normal quantile (Acklam's rational approximation, relative error below 1.2e-9).</summary>
    public static double NormalQuantile(double p)
    {
        if (p is <= 0 or >= 1) throw new ArgumentOutOfRangeException(nameof(p));
        double[] a = { -3.969683028665376e+01, 2.209460984245205e+02, -2.759285104469687e+02, 1.383577518672690e+02, -3.066479806614716e+01, 2.506628277459239e+00 };
        double[] bb = { -5.447609879822406e+01, 1.615858368580409e+02, -1.556989798598866e+02, 6.680131188771972e+01, -1.328068155288572e+01 };
        double[] c = { -7.784894002430293e-03, -3.223964580411365e-01, -2.400758277161838e+00, -2.549732539343734e+00, 4.374664141464968e+00, 2.938163982698783e+00 };
        double[] d = { 7.784695709041462e-03, 3.224671290700398e-01, 2.445134137142996e+00, 3.754408661907416e+00 };
        double q, r;
        if (p < 0.02425)
        {
            q = Math.Sqrt(-2 * Math.Log(p));
            return (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) / ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1);
        }
        if (p > 1 - 0.02425) return -NormalQuantile(1 - p);
        q = p - 0.5;
        r = q * q;
        return (((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q / (((((bb[0] * r + bb[1]) * r + bb[2]) * r + bb[3]) * r + bb[4]) * r + 1);
    }
}
