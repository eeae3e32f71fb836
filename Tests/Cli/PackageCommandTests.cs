using OnnxRev.Building;
using OnnxRev.Passes.Compression;
using OnnxRev.Serialization;
using OnnxRev.Tests.Support;

namespace OnnxRev.Tests.Cli;

/// <summary>`onnxrev pack`, `onnxrev unpack` and `onnxrev compress`.</summary>
public class PackageCommandTests
{
    private string _dir = "";

    [SetUp] public void SetUp() => _dir = RepoPaths.NewTempDir();
    [TearDown] public void TearDown() => Directory.Delete(_dir, recursive: true);

    private string Clustered()
    {
        string path = Path.Combine(_dir, "clustered.onnx");
        var r = CliRunner.Run("optimize", Path.Combine(RepoPaths.Root, "models", "zoo", "lenet_300_100.onnx"), "-o", path, "--passes", "prune-magnitude,cluster",
            "--sparsity", "0.9", "--cluster-bits", "5", "--json");
        Assert.That(r.ExitCode, Is.EqualTo(0), r.Stderr);
        return path;
    }

    [Test]
    public void PackThenUnpack_GivesTheModelBackByteForByte()
    {
        string model = Clustered();
        string package = Path.Combine(_dir, "m.onnxrev"), back = Path.Combine(_dir, "back.onnx");
        var p = CliRunner.Run("pack", model, "-o", package, "--bits", "5", "--json");
        Assert.That(p.ExitCode, Is.EqualTo(0), p.Stderr);
        Assert.That((int)p.Json["coded_tensors"]!, Is.EqualTo(3));
        Assert.That((long)p.Json["bytes"]!, Is.EqualTo(new FileInfo(package).Length));
        var u = CliRunner.Run("unpack", package, "-o", back, "--json");
        Assert.That(u.ExitCode, Is.EqualTo(0), u.Stderr);
        Assert.That((long)u.Json["bytes"]!, Is.EqualTo(new FileInfo(back).Length));
        Assert.That(File.ReadAllBytes(back), Is.EqualTo(File.ReadAllBytes(model)));
        OrtCheck.Run(File.ReadAllBytes(back));
    }

    [Test]
    public void Train_WithKeepZeros_LeavesPrunedWeightsAtZero()
    {
        string pruned = Path.Combine(_dir, "pruned.onnx"), trained = Path.Combine(_dir, "trained.onnx");
        Assert.That(CliRunner.Run("optimize", Path.Combine(RepoPaths.Root, "models", "zoo", "lenet_300_100.onnx"), "-o", pruned, "--passes", "prune-magnitude", "--sparsity", "0.8").ExitCode, Is.EqualTo(0));
        var r = CliRunner.Run("train", pruned, "--data", TrainedModels.MnistFolder, "--max-samples", "512", "--epochs", "1", "--batch", "64", "--keep-zeros", "-o", trained, "--json");
        Assert.That(r.ExitCode, Is.EqualTo(0), r.Stderr);
        var before = WeightSite.Find(ModelReader.Load(pruned)).ToDictionary(s => s.Name, s => s.Read());
        foreach (var s in WeightSite.Find(ModelReader.Load(trained)))
        {
            var d = s.Read();
            Assert.That(Enumerable.Range(0, d.Length).Where(i => before[s.Name][i] == 0).All(i => BitConverter.SingleToInt32Bits(d[i]) == 0), Is.True, s.Name);
            Assert.That(d, Is.Not.EqualTo(before[s.Name]), $"{s.Name} did not train");
        }
    }

    [TestCase("flip")]
    [TestCase("truncate")]
    [TestCase("not-a-package")]
    public void BadPackages_Exit2_OneLine_NoOutput(string damage)
    {
        string package = Path.Combine(_dir, "m.onnxrev"), back = Path.Combine(_dir, "back.onnx");
        Assert.That(CliRunner.Run("pack", Clustered(), "-o", package).ExitCode, Is.EqualTo(0));
        var bytes = File.ReadAllBytes(package);
        if (damage == "flip") bytes[bytes.Length - 100] ^= 0x01;
        else if (damage == "truncate") bytes = bytes[..(bytes.Length / 2)];
        else bytes = File.ReadAllBytes(Clustered());
        File.WriteAllBytes(package, bytes);
        var u = CliRunner.Run("unpack", package, "-o", back);
        Assert.That(u.ExitCode, Is.EqualTo(2));
        Assert.That(u.Stderr.Trim().Split('\n'), Has.Length.EqualTo(1));
        Assert.That(u.Stderr, Does.Contain("not a valid .onnxrev package"));
        Assert.That(File.Exists(back), Is.False);
    }

    [Test]
    public void Compress_RunsTheDeepCompressionSteps_AndItsPackageUnpacks()
    {
        string package = Path.Combine(_dir, "c.onnxrev"), clustered = Path.Combine(_dir, "c.onnx"), back = Path.Combine(_dir, "b.onnx");
        var r = CliRunner.Run("compress", Path.Combine(RepoPaths.Root, "models", "zoo", "lenet_300_100.onnx"), "--data", TrainedModels.MnistFolder, "--max-samples", "1000",
            "--validation-split", "0.2", "-o", package, "--clustered", clustered, "--prune-epochs", "1", "--codebook-epochs", "1", "--json");
        Assert.That(r.ExitCode, Is.EqualTo(0), r.Stderr);
        Assert.That(r.Json["steps"]!.AsArray().Select(s => s!["name"]!.GetValue<string>()), Is.EqualTo(new[] { "original", "prune", "fine-tune", "cluster", "fine-tune-codebooks", "code" }));
        Assert.That((long)r.Json["bytes"]!, Is.EqualTo(new FileInfo(package).Length));
        Assert.That(CliRunner.Run("unpack", package, "-o", back).ExitCode, Is.EqualTo(0));
        Assert.That(File.ReadAllBytes(back), Is.EqualTo(File.ReadAllBytes(clustered)));
        var miss = CliRunner.Run("compress", Path.Combine(RepoPaths.Root, "models", "zoo", "lenet_300_100.onnx"), "--data", TrainedModels.MnistFolder, "--max-samples", "500",
            "--validation-split", "0.2", "-o", package, "--prune-epochs", "0", "--codebook-epochs", "0", "--min-ratio", "1000", "--json");
        Assert.That(miss.ExitCode, Is.EqualTo(1));
        Assert.That((bool)miss.Json["goals_met"]!, Is.False);
    }

    [Test]
    public void Compress_WithoutHeldOutData_IsExit2() =>
        Assert.That(CliRunner.Run("compress", Path.Combine(RepoPaths.Root, "models", "zoo", "lenet_300_100.onnx"), "--data", TrainedModels.MnistFolder, "-o", Path.Combine(_dir, "x.onnxrev")).ExitCode, Is.EqualTo(2));
}
