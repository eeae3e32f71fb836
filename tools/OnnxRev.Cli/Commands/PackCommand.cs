using System.Text.Json.Nodes;
using OnnxRev.Passes.Compression.Coding;

namespace OnnxRev.Cli.Commands;

/// <summary>`onnxrev pack`: an ONNX model with shared (clustered) weights into a Huffman-coded .onnxrev package.</summary>
internal sealed class PackCommand : ICommand
{
    public string Name => "pack";
    public string Summary => "store a model with shared weights (e.g. after --passes prune-magnitude,cluster) as a Huffman-coded .onnxrev package";
    public string Usage => "onnxrev pack MODEL -o OUT.onnxrev [--bits B] [--json]";
    public string Description =>
        "Every float initializer with at most 2^B - 1 distinct non-zero values is stored as its codebook and Huffman-coded\n" +
        "indices (all of them, or only the non-zeros with relative positions, whichever is smaller); the rest of the model\n" +
        "is stored as its protobuf (Brotli-compressed when smaller). `onnxrev unpack` gives back MODEL byte for byte.";
    public IReadOnlyList<string> Examples => new[] { "onnxrev optimize lenet.onnx -o c.onnx --passes prune-magnitude,cluster --sparsity 0.92 --cluster-bits 5 && onnxrev pack c.onnx -o c.onnxrev --bits 5" };
    public IReadOnlyList<OptionSpec> Options => new OptionSpec[]
    {
        new("out", "output package", Alias: "o", ValueName: "OUT"),
        new("bits", "largest index width coded (default 8: up to 255 values + zero)", ValueName: "B"),
    };

    public int Run(Args args, Output output)
    {
        string path = args.RequirePositional("a MODEL file");
        string outPath = args.Require("out");
        int bits = args.GetInt("bits", 8, min: 1);
        PackageFiles.CheckOutput(outPath);
        ModelFacts.LoadChecked(path);
        var modelBytes = PackageFiles.Read(path, "model");
        var packed = OnnxRevPackage.Pack(modelBytes, bits);
        PackageFiles.Write(outPath, packed.Bytes);
        foreach (var t in packed.Tensors)
            output.Detail($"  {t.Name}: {t.Elements:N0} elements, {t.Centroids} values, {t.Mode}{(t.GapBits > 0 ? $" ({t.GapBits}-bit gaps)" : "")}: {t.Bytes:N0} bytes");
        output.Line($"{path}: {modelBytes.Length:N0} bytes → {outPath}: {packed.Bytes.Length:N0} bytes ({(double)modelBytes.Length / packed.Bytes.Length:F1}×), {packed.Tensors.Count} tensors coded");
        output.Result(new JsonObject
        {
            ["model"] = path, ["output"] = outPath, ["bytes"] = packed.Bytes.Length, ["bytes_before"] = modelBytes.Length,
            ["coded_tensors"] = packed.Tensors.Count, ["model_section_bytes"] = packed.ModelSectionBytes,
        });
        return 0;
    }
}
