using System.Text.Json.Nodes;
using OnnxRev.Passes.Compression.Coding;

namespace OnnxRev.Runtime.Recipes.Steps;

/// <summary>
/// <c>{"step": "code", "bits": 8}</c>: stores the current model as a Huffman-coded .onnxrev package (<see cref="OnnxRevPackage"/>);
/// the package is what the step's size counts, the runnable model is unchanged (the package unpacks to it byte for byte,
/// checked here).
/// </summary>
internal sealed class CodeStep : IRecipeStep
{
    public string Kind => "code";

    public string Help => "Huffman-codes shared weights into a .onnxrev package (the stored size; `onnxrev unpack` restores the model): bits (largest index width, default 8)";

    public StepOutcome Run(RecipeStep step, PipelineContext context)
    {
        var modelBytes = File.ReadAllBytes(context.CurrentModel);
        var packed = OnnxRevPackage.Pack(modelBytes, step.Options.GetInt("bits", 8, 1, 16));
        if (!OnnxRevPackage.Unpack(packed.Bytes).AsSpan().SequenceEqual(modelBytes))
            throw new InvalidOperationException("the package does not unpack to the model byte for byte");
        string path = context.NewModelPath(step.Name, ".onnxrev");
        File.WriteAllBytes(path, packed.Bytes);
        context.Settings.Log($"  {packed.Tensors.Count} tensors coded: {modelBytes.Length:N0} → {packed.Bytes.Length:N0} bytes");
        return new StepOutcome(null, new JsonObject
        {
            ["package"] = path, ["bytes"] = packed.Bytes.Length, ["coded_tensors"] = packed.Tensors.Count, ["model_section_bytes"] = packed.ModelSectionBytes,
        }, StoredPath: path);
    }
}
