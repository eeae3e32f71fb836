using System.Text.Json.Nodes;
using OnnxRev.Passes;
using OnnxRev.Passes.Quantization;
using OnnxRev.Runtime.Quantization;
using OnnxRev.Serialization;

namespace OnnxRev.Runtime.Recipes.Steps;

/// <summary>
/// <c>{"step": "quantize", "mode": "static", "method": "percentile", "per_channel": true, "keep_float": ["Gemm"], "accuracy_floor": 0.97}</c>:
/// INT8 (dynamic, or static QDQ calibrated on the training data), or the int4 / fp16 passes.
/// </summary>
internal sealed class QuantizeStep : IRecipeStep
{
    public string Kind => "quantize";

    public string Help => "mode auto (static with labelled --data, else dynamic)|dynamic|static|int4|fp16; embeddings (default true: Gather tables int8); static: method minmax|percentile|entropy, calibration_samples (default 512 of --data); " +
                          "per_channel (default true), per_token (dynamic; default true when auto picks dynamic), token_scaled (dynamic: per-token steps on ORT's fused kernel by row normalization — faster; with per_token the rows are also centred), symmetric, keep_float, accuracy_floor (fewest layers kept float to reach it on the calibration data)";

    public StepOutcome Run(RecipeStep step, PipelineContext context)
    {
        var o = step.Options;
        string mode = o.GetChoice("mode", "auto", "auto", "dynamic", "static", "int4", "fp16");
        bool auto = mode == "auto";
        if (auto) mode = context.Settings.Train is null ? "dynamic" : "static";
        var model = ModelReader.Load(context.CurrentModel);
        string output = context.NewModelPath(step.Name);
        var details = new JsonObject { ["mode"] = mode };
        if (mode is "int4" or "fp16")
        {
            var info = PassRegistry.Find(mode);
            var given = o.Values.Where(kv => kv.Key != "mode").ToDictionary(kv => kv.Key.Replace('_', '-'), kv => kv.Value);
            if (PassRegistry.Unclaimed(new[] { info }, given.Keys) is { } unclaimed) throw new OnnxRevException($"option '{unclaimed}' does not apply to quantize mode {mode}");
            var r = info.Create(new PassOptions(given)).Run(model);
            ModelWriter.Save(r.Model, output);
            return new StepOutcome(output, details);
        }

        var options = new QuantizationOptions
        {
            PerChannel = o.Get("per_channel") is not "false",
            SymmetricActivations = o.Get("symmetric") is "true",
            ActivationType = o.Get("symmetric") is "true" ? QuantType.Int8 : QuantType.UInt8,
            KeepFloat = QuantizationOptions.ParseKeepFloat(o.Get("keep_float")),
            // Transformers need one activation scale per token (a per-tensor scale costs MiniLM tokens down to cosine 0.958):
            // on by default where auto picked dynamic for an unlabelled (text) evaluation set.
            PerTokenActivations = o.Get("per_token") is { } pt ? pt == "true" : auto && mode == "dynamic",
            // Per-token steps by row normalization, run on ORT's fused per-tensor kernel (faster than per_token).
            TokenScaledActivations = o.Get("token_scaled") is "true",
        };
        if (options.PerTokenActivations && mode != "dynamic") throw new OnnxRevException("per_token applies to quantize mode dynamic only");
        if (options.TokenScaledActivations && mode != "dynamic") throw new OnnxRevException("token_scaled applies to quantize mode dynamic only");
        var method = o.GetChoice("method", "minmax", "minmax", "percentile", "entropy") switch
        {
            "percentile" => CalibrationMethod.Percentile,
            "entropy" => CalibrationMethod.Entropy,
            _ => CalibrationMethod.MinMax,
        };
        int samples = o.GetInt("calibration_samples", 512, min: 1);
        var train = context.Settings.Train;
        bool isStatic = mode == "static";
        double? floor = o.Get("accuracy_floor") is null ? null : o.GetDouble("accuracy_floor", 0, min: 0, max: 1);
        if ((isStatic || floor is not null) && train is null)
            throw new OnnxRevException($"quantize {mode}{(floor is null ? "" : " with accuracy_floor")} needs labelled data (--data) to calibrate on");
        var calibration = train?.Take(samples);
        var quantizer = new Int8Quantizer(model, isStatic ? Int8Mode.Static : Int8Mode.Dynamic, options, isStatic ? calibration : null,
            new CalibrationOptions { Method = method });
        Int8Result result;
        if (floor is double f)
        {
            var aware = Sensitivity.AccuracyAware(quantizer, calibration!, f);
            result = aware.Result;
            details["kept_float"] = new JsonArray(aware.KeptFloat.Select(k => (JsonNode)k!).ToArray());
            details["calibration_accuracy"] = aware.Accuracy;
            context.Settings.Log($"  accuracy-aware: {aware.KeptFloat.Count} layer(s) kept float to reach {f:P1} on {calibration!.Count} calibration samples");
        }
        else result = quantizer.Quantize();
        if (o.Get("embeddings") is not "false")
        {
            var embeddings = new EmbeddingQuantization(options);
            embeddings.Run(result.Model);
            details["quantized_embeddings"] = embeddings.QuantizedTables.Count;
            if (embeddings.QuantizedTables.Count > 0) context.Settings.Log($"  {embeddings.QuantizedTables.Count} embedding table(s) stored int8");
        }
        ModelWriter.Save(result.Model, output);
        details["quantized_nodes"] = result.QuantizedNodes.Count;
        details["per_token"] = options.PerTokenActivations;
        if (options.TokenScaledActivations) details["token_scaled"] = true;
        if (isStatic) details["calibration"] = $"{method.ToString().ToLowerInvariant()} on {calibration!.Count} samples";
        context.Settings.Log($"  {result.QuantizedNodes.Count} node(s) quantized ({mode})");
        return new StepOutcome(output, details);
    }
}
