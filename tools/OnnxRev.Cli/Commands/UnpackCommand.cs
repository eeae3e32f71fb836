using System.Text.Json.Nodes;
using OnnxRev.Passes.Compression.Coding;
using OnnxRev.Serialization;

namespace OnnxRev.Cli.Commands;

/// <summary>`onnxrev unpack`: a .onnxrev package back to a runnable ONNX model.</summary>
internal sealed class UnpackCommand : ICommand
{
    public string Name => "unpack";
    public string Summary => "turn a compressed .onnxrev package back into a runnable ONNX model";
    public string Usage => "onnxrev unpack PACKAGE -o OUT.onnx [--json]";
    public string Description =>
        "Checks the package's header (magic, format version, length, CRC-32), decodes its Huffman-coded weights\n" +
        "(codebook + indices, dense or as relative positions of the non-zeros) into the model, and writes the ONNX\n" +
        "model: byte for byte the model that was packed. A corrupt or truncated package is exit 2 and writes nothing.";
    public IReadOnlyList<string> Examples => new[] { "onnxrev unpack lenet.onnxrev -o lenet_clustered.onnx --json" };
    public IReadOnlyList<OptionSpec> Options => new OptionSpec[] { new("out", "output ONNX model", Alias: "o", ValueName: "OUT") };

    public int Run(Args args, Output output)
    {
        string path = args.RequirePositional("a PACKAGE file");
        string outPath = args.Require("out");
        PackageFiles.CheckOutput(outPath);
        var bytes = OnnxRevPackage.Unpack(PackageFiles.Read(path, "package"), $"'{path}'");
        var model = ModelReader.Load(bytes, path);   // must be a loadable model before anything is written
        PackageFiles.Write(outPath, bytes);
        output.Line($"{path}: {new FileInfo(path).Length:N0} bytes → {outPath}: {bytes.Length:N0} bytes, {model.Graph.Nodes.Count} nodes");
        output.Result(new JsonObject { ["package"] = path, ["output"] = outPath, ["bytes"] = bytes.Length, ["package_bytes"] = new FileInfo(path).Length });
        return 0;
    }
}
