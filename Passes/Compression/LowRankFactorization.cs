using System.Globalization;
using OnnxRev.Ir;
using DT = OnnxRev.Schema.TensorProto.Types.DataType;

namespace OnnxRev.Passes.Compression;

/// <summary>What the pass did to one weight.</summary>
/// <param name="Weight">The weight's name.</param>
/// <param name="Shape">Its shape.</param>
/// <param name="Ops">The ops reading it.</param>
/// <param name="Rank">The rank (r_o for kernels); 0 when left whole.</param>
/// <param name="InRank">r_i for kernels.</param>
/// <param name="ParametersBefore">Elements before.</param>
/// <param name="ParametersAfter">Elements after.</param>
/// <param name="RelativeError">√(‖W − Ŵ‖²/‖W‖²) in the norm used (on calibration activations when <paramref name="Weighted"/>).</param>
/// <param name="Weighted">True when measured on calibration activations.</param>
public sealed record LowRankEntry(string Weight, IReadOnlyList<long> Shape, string Ops, int Rank, int InRank, long ParametersBefore, long ParametersAfter, double RelativeError, bool Weighted);

/// <summary>The pass's report.</summary>
/// <param name="ModelParametersBefore">Floating-point elements of every initializer and Constant in the model, before.</param>
/// <param name="ModelParametersAfter">The same after.</param>
/// <param name="Entries">One entry per factorable weight.</param>
public sealed record LowRankReport(long ModelParametersBefore, long ModelParametersAfter, IReadOnlyList<LowRankEntry> Entries)
{
    /// <summary>What <c>--refit</c> did, layer by layer in graph order (empty without it).</summary>
    public IReadOnlyList<LowRankRefitResult> Refits { get; init; } = Array.Empty<LowRankRefitResult>();

    /// <summary>Before / after.</summary>
    public double Reduction => ModelParametersAfter == 0 ? double.PositiveInfinity : (double)ModelParametersBefore / ModelParametersAfter;

    /// <summary>One line per factored weight and a total.</summary>
    public IEnumerable<string> Lines()
    {
        foreach (var e in Entries.Where(e => e.Rank > 0))
            yield return string.Create(CultureInfo.InvariantCulture,
                $"{e.Weight} [{string.Join("×", e.Shape)}] {e.Ops}: rank {(e.InRank > 0 ? $"{e.Rank}/{e.InRank}" : e.Rank)}, {e.ParametersBefore:N0} → {e.ParametersAfter:N0}, rel. error {e.RelativeError:G3}{(e.Weighted ? " (calibration)" : "")}");
        if (Refits.Count > 0)
            yield return string.Create(CultureInfo.InvariantCulture,
                $"refit {Refits.Count} layers: relative layer output error on the compressed model's inputs, mean {Refits.Average(r => r.ErrorBefore):G3} → {Refits.Average(r => r.ErrorAfter):G3}, largest {Refits.Max(r => r.ErrorBefore):G3} → {Refits.Max(r => r.ErrorAfter):G3}");
        yield return string.Create(CultureInfo.InvariantCulture,
            $"model parameters {ModelParametersBefore:N0} → {ModelParametersAfter:N0} ({Reduction:F3}× fewer), {Entries.Count(e => e.Rank > 0)} of {Entries.Count} factorable weights factored");
    }
}

/// <summary>
/// <c>low-rank</c>: replaces constant weights of MatMul, Gemm, 1×1 Conv and embedding Gather by two thinner factors
/// (truncated SVD through the Gram matrix of the smaller side, <see cref="LowRankBasis"/>) and k×k Conv kernels
/// (group 1) by Tucker-2 (1×1, k×k core, 1×1; <see cref="TuckerTwo"/>), only where the rank saves parameters and
/// FLOPs (r·(m + n) &lt; m·n; for Gather only the bytes count, since the lookup had no multiplies). The rank comes
/// from an energy share, a fixed rank, a parameter budget for the whole model, or an error budget on calibration
/// data. With calibration data (installed by the Runtime side), matrices are factored activation-aware: the
/// rank-r factors minimize ‖X(W − Ŵ)‖ on the calibration activations X (embedding rows weighted by how often they
/// are looked up), and <c>--sensitivity</c> weighs each weight's error by its measured effect on the output.
/// </summary>
public sealed class LowRankFactorization : IPass
{
    private readonly LowRankOptions _o;

    /// <summary>Creates the pass.</summary>
    public LowRankFactorization(LowRankOptions options) => _o = options;

    /// <inheritdoc/>
    public string Name => "low-rank";

    /// <summary>What the last run did.</summary>
    public LowRankReport? Report { get; private set; }

    /// <summary>Receives the report's lines after each run (the CLI prints them).</summary>
    public static Action<string>? Log { get; set; }

    /// <inheritdoc/>
    public PassResult Run(Model model)
    {
        long before = ModelParameters(model);
        var sites = LowRankSite.Find(model, _o.Uses).Where(s => s.Parameters >= _o.MinParameters).ToList();
        ILowRankStatistics? stats = null;
        ILowRankCalibrator? calibrator = null;
        if (_o.Calibration is not null && sites.Count > 0)
        {
            calibrator = LowRankCalibration.Calibrator
                ?? throw new OnnxRevException("option '--calibration' needs ONNX Runtime to run the model; this host did not install a calibrator (OnnxRev.Runtime.Compression.CompressionPasses.Register)");
            stats = calibrator.Collect(model, sites, _o);
        }
        var plans = sites.Select(s => Plan(s, stats)).ToList();
        Choose(plans, before);
        bool modified = false;
        var entries = new List<LowRankEntry>();
        var original = _o.Refit != RefitScope.None && calibrator is not null ? Serialization.ModelReader.FromProto(Serialization.ModelWriter.ToProto(model), model.BaseDirectory, "original") : null;
        var factors = new Dictionary<LowRankPlan, (Value Left, Value Right)>();
        var eligible = original is not null ? LowRankRefitTargets.Eligible(model, plans) : new();
        foreach (var p in plans)
        {
            var c = p.Chosen;
            entries.Add(new LowRankEntry(p.Site.Weight.Name, p.Site.Tensor.Dims.ToArray(), string.Join(",", p.Site.Users.Select(u => u.Node.OpType).Distinct()),
                c?.Rank ?? 0, c?.InRank ?? 0, p.Site.Parameters, c?.Parameters ?? p.Site.Parameters, c is null ? 0 : Math.Sqrt(c.Error), p.Weighted));
            if (c is null) continue;
            if (Apply(model, p, c) is { } f) factors[p] = f;
            modified = true;
        }
        IReadOnlyList<LowRankRefitResult> refits = Array.Empty<LowRankRefitResult>();
        if (original is not null && modified)
        {
            refits = calibrator!.Refit(original, model, LowRankRefitTargets.From(eligible, factors, _o.Refit), _o);
        }
        Report = new LowRankReport(before, ModelParameters(model), entries) { Refits = refits };
        if (Log is { } log) foreach (var line in Report.Lines()) log(line);
        return new PassResult(model, modified);
    }

    private LowRankPlan Plan(LowRankSite site, ILowRankStatistics? stats)
    {
        double sensitivity = stats?.Sensitivity(site) ?? 1;
        if (site.IsKernel)
        {
            var t = new TuckerTwo(site.Tensor.ToFloatArray(), site.Rows, site.Cols, site.Spatial);
            var choices = new List<RankChoice>();
            var pairs = new HashSet<(int, int)>();
            for (int q = 1; q <= 32; q++) pairs.Add(((int)Math.Ceiling(q * t.Out / 32.0), (int)Math.Ceiling(q * t.In / 32.0)));
            foreach (var e in new[] { 0.5, 0.8, 0.9, 0.95, 0.99, 0.999, 1 }) pairs.Add((TuckerTwo.RankForEnergy(t.OutSpectrum, e), TuckerTwo.RankForEnergy(t.InSpectrum, e)));
            if (_o.Rule == RankRule.Energy) pairs.Add((TuckerTwo.RankForEnergy(t.OutSpectrum, _o.Energy), TuckerTwo.RankForEnergy(t.InSpectrum, _o.Energy)));
            if (_o.Rule == RankRule.Fixed) pairs.Add((Math.Min(_o.Rank, t.Out), Math.Min(_o.Rank, t.In)));
            long stride = site.Users.Max(u => (u.Node.Attributes.GetInts("strides") ?? Array.Empty<long>()).Aggregate(1L, (a, b) => a * b));
            foreach (var (ro, ri) in pairs.OrderBy(x => x.Item1 * (long)x.Item2))
            {
                long parameters = (long)ri * t.In + (long)ro * ri * t.Spatial + (long)t.Out * ro;
                long flops = (long)ri * t.In * stride + (long)ro * ri * t.Spatial + (long)t.Out * ro;
                long original = (long)t.Out * t.In * t.Spatial;
                if (!_o.FactorAll && (parameters >= original || flops >= original)) continue;
                double err = t.Total <= 0 ? 0 : t.Factors(ro, ri).SquaredError / t.Total;
                choices.Add(new RankChoice(ro, ri, parameters, err));
            }
            return new LowRankPlan(site, null, t, choices, sensitivity, weighted: false);
        }
        var weighting = site.Side is { } side ? stats?.InputWeighting(site) : null;
        var basis = new LowRankBasis(site.Tensor.ToFloatArray(), site.Rows, site.Cols,
            site.Side == InputSide.Rows ? weighting : null, site.Side == InputSide.Cols ? weighting : null);
        var list = new List<RankChoice>();
        long m = site.Rows, n = site.Cols;
        for (int r = 1; r <= basis.Spectrum.Length; r++)
        {
            long parameters = r * (m + n);
            if (!_o.FactorAll && parameters >= m * n) break;
            list.Add(new RankChoice(r, 0, parameters, basis.Total <= 0 ? 0 : basis.Discarded(r) / basis.Total));
        }
        return new LowRankPlan(site, basis, null, list, sensitivity, weighting is not null);
    }

    private void Choose(List<LowRankPlan> plans, long modelParameters)
    {
        switch (_o.Rule)
        {
            case RankRule.Energy:
                foreach (var p in plans)
                {
                    if (p.Basis is { } b) p.Chosen = p.Choices.FirstOrDefault(c => c.Rank == b.RankForEnergy(_o.Energy));
                    else if (p.Tucker is { } t)
                        p.Chosen = p.Choices.FirstOrDefault(c => c.Rank == TuckerTwo.RankForEnergy(t.OutSpectrum, _o.Energy) && c.InRank == TuckerTwo.RankForEnergy(t.InSpectrum, _o.Energy));
                }
                break;
            case RankRule.Fixed:
                foreach (var p in plans)
                    p.Chosen = p.Basis is not null
                        ? p.Choices.FirstOrDefault(c => c.Rank == Math.Min(_o.Rank, p.Basis.Spectrum.Length))
                        : p.Choices.FirstOrDefault(c => c.Rank == Math.Min(_o.Rank, p.Tucker!.Out) && c.InRank == Math.Min(_o.Rank, p.Tucker.In));
                break;
            case RankRule.ErrorBudget:
                double limit = _o.ErrorBudget * _o.ErrorBudget;
                foreach (var p in plans) p.Chosen = p.Choices.Where(c => c.Error <= limit).OrderBy(c => c.Parameters).FirstOrDefault();
                break;
            case RankRule.TargetParameters:
                long fixedPart = modelParameters - plans.Sum(p => p.Site.Parameters);
                long budget = (long)Math.Floor(_o.TargetParameters * modelParameters) - fixedPart;
                if (!LowRankAllocation.Allocate(plans, budget))
                {
                    long reachable = fixedPart + plans.Sum(p => p.Chosen?.Parameters ?? p.Site.Parameters);
                    throw new OnnxRevException(string.Create(CultureInfo.InvariantCulture,
                        $"--target-parameters {_o.TargetParameters:G4} cannot be reached: even rank 1 everywhere leaves {reachable:N0} of {modelParameters:N0} parameters ({(double)reachable / modelParameters:P1}); {plans.Count} weights are factorable"));
                }
                break;
        }
    }

    private (Value Left, Value Right)? Apply(Model model, LowRankPlan p, RankChoice c)
    {
        var site = p.Site;
        var graph = site.Weight.Graph ?? model.Graph;
        string name = site.Weight.Name;
        Value Add(string suffix, long[] dims, float[] data)
        {
            string fresh = model.Names.Fresh(name + suffix);
            return graph.AddInitializer(new Value(fresh), Tensor.FromFloats(fresh, dims, data));
        }
        if (p.Tucker is { } t)
        {
            var f = t.Factors(c.Rank, c.InRank, _o.TuckerIterations);
            var dims = site.Tensor.Dims;
            var inW = Add(".tucker_in", new long[] { f.InRank, t.In, 1, 1 }, f.InFactor);
            var core = Add(".tucker_core", new long[] { f.OutRank, f.InRank, dims[2], dims[3] }, f.Core);
            var outW = Add(".tucker_out", new long[] { t.Out, f.OutRank, 1, 1 }, f.OutFactor);
            LowRankRewrite.Kernel(site, inW, core, outW);
            RemoveIfUnused(site);
            return null;
        }
        else
        {
            var (l, r) = p.Basis!.Factors(c.Rank);
            bool conv = site.Users[0].Use == LowRankUse.Conv1x1;
            var left = Add(".lowrank_L", conv ? new long[] { site.Rows, c.Rank, 1, 1 } : new long[] { site.Rows, c.Rank }, l);
            var right = Add(".lowrank_R", conv ? new long[] { c.Rank, site.Cols, 1, 1 } : new long[] { c.Rank, site.Cols }, r);
            LowRankRewrite.Matrix(site, left, right);
            RemoveIfUnused(site);
            return (left, right);
        }
    }

    private static void RemoveIfUnused(LowRankSite site)
    {
        if (site.Weight.Uses.Count != 0) return;
        if (site.ConstantNode is { } k) k.Graph!.Remove(k);
        else site.Weight.Graph!.RemoveInitializer(site.Weight);
    }

    /// <summary>Floating-point elements of every initializer (not graph inputs) and Constant node tensor, in all graphs: the model's parameters.</summary>
    public static long ModelParameters(Model model)
    {
        long total = 0;
        foreach (var g in model.Graph.AllGraphs())
        {
            foreach (var v in g.Initializers)
                if (v.Initializer is { } t && !v.IsGraphInput && IsFloating(t.DataType)) total += t.ElementCount;
            foreach (var n in g.Nodes)
                if (n.IsStandardDomain && n.OpType == "Constant" && n.Attributes.Count == 1 && n.Attributes[0].TensorValue is { } tv && n.Attributes[0].Name == "value" && IsFloating(tv.DataType))
                    total += tv.Dims.Aggregate(1L, (a, b) => a * b);
        }
        return total;
    }

    private static bool IsFloating(int type) => type is (int)DT.Float or (int)DT.Double or (int)DT.Float16 or (int)DT.Bfloat16;
}
