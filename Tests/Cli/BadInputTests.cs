using Google.Protobuf;
using OnnxRev.Schema;
using OnnxRev.Serialization;
using OnnxRev.Tests.Support;

namespace OnnxRev.Tests.Cli;

/// <summary>
/// Bad input to every command: one clear line on stderr naming the problem, exit code 2, and no
/// output created or changed.
/// </summary>
public class BadInputTests
{
    private string _dir = "";

    [SetUp] public void SetUp() => _dir = RepoPaths.NewTempDir();
    [TearDown] public void TearDown() => Directory.Delete(_dir, recursive: true);

    private static string Fixture(string name) => Path.Combine(RepoPaths.Fixtures, name + ".onnx");

    private string WriteModel(string file, ModelProto proto)
    {
        string p = Path.Combine(_dir, file);
        File.WriteAllBytes(p, proto.ToByteArray());
        return p;
    }

    private ModelProto Resmlp() => ModelProto.Parser.ParseFrom(File.ReadAllBytes(Fixture("resmlp_d8")));

    /// <summary>Each bad model, and the words its error must contain.</summary>
    private string MakeBad(string kind, out string expected)
    {
        switch (kind)
        {
            case "truncated":
            {
                var bytes = File.ReadAllBytes(Fixture("resmlp_d8"));
                string p = Path.Combine(_dir, "truncated.onnx");
                File.WriteAllBytes(p, bytes[..(bytes.Length * 2 / 3)]);
                expected = "not a valid ONNX model";
                return p;
            }
            case "random":
            {
                var bytes = new byte[10000];
                new Random(7).NextBytes(bytes);
                string p = Path.Combine(_dir, "random.onnx");
                File.WriteAllBytes(p, bytes);
                expected = "random.onnx";
                return p;
            }
            case "missing":
                expected = "does not exist";
                return Path.Combine(_dir, "nope.onnx");
            case "missing-external":
            case "escaping-external":
            {
                var proto = Resmlp();
                var t = proto.Graph.Initializer[0];
                t.RawData = ByteString.Empty;
                t.DataLocation = TensorProto.Types.DataLocation.External;
                string location = kind == "missing-external" ? "weights.bin" : "../../etc/passwd";
                t.ExternalData.Add(new StringStringEntryProto { Key = "location", Value = location });
                expected = kind == "missing-external" ? "not found" : "escapes the model's folder";
                return WriteModel(kind + ".onnx", proto);
            }
            case "unknown-op":
            {
                var proto = Resmlp();
                proto.Graph.Node[3].OpType = "FrobnicateV2";
                expected = "FrobnicateV2";
                return WriteModel("unknown.onnx", proto);
            }
            case "cycle":
            {
                var proto = Resmlp();
                var last = proto.Graph.Node[^1];
                proto.Graph.Node[0].Input[0] = last.Output[0];
                expected = "cycle";
                return WriteModel("cycle.onnx", proto);
            }
            default: throw new ArgumentException(kind);
        }
    }

    private static readonly string[] Kinds = { "truncated", "random", "missing", "missing-external", "escaping-external", "unknown-op", "cycle" };

    [Test]
    public void EveryCommandRefusesEveryBadModel([ValueSource(nameof(Kinds))] string kind, [Values("inspect", "run", "optimize")] string command)
    {
        string bad = MakeBad(kind, out string expected);
        string output = Path.Combine(_dir, "out.onnx");
        File.WriteAllText(output, "existing file");
        var args = command switch
        {
            "inspect" => new[] { "inspect", bad },
            "run" => new[] { "run", bad, "--inputs", Path.Combine(RepoPaths.Fixtures, "resmlp_d8_data"), "-o", Path.Combine(_dir, "outdir") },
            _ => new[] { "optimize", bad, "-o", output, "--passes", "cleanup", "--check-equivalence" },
        };
        var r = CliRunner.Run(args);
        Assert.That(r.ExitCode, Is.EqualTo(2), r.Stderr);
        var lines = r.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.That(lines, Has.Length.EqualTo(1), "exactly one line on stderr");
        Assert.That(lines[0], Does.StartWith("onnxrev: ").And.Contain(expected));
        Assert.That(lines[0], Does.Not.Contain("   at "), "no stack trace");
        Assert.That(File.ReadAllText(output), Is.EqualTo("existing file"), "existing output untouched");
        Assert.That(Directory.Exists(Path.Combine(_dir, "outdir")), Is.False, "no output folder created");
        Assert.That(Directory.GetFileSystemEntries(_dir).Where(f => Path.GetFileName(f).StartsWith('.')), Is.Empty, "no temporary files left");
    }

    [TestCase("optimize", "--passes", "cleanup,warp-drive", "unknown pass 'warp-drive'")]
    [TestCase("optimize", "--passes", "cleanup", "--rtol", "abc", "option '--rtol' must be a number")]
    [TestCase("optimize", "--passes", "cleanup", "--frobnicate", "unknown option '--frobnicate'")]
    [TestCase("optimize", "--passes", "cleanup", "--external-data", "sometimes", "option '--external-data' must be one of")]
    [TestCase("optimize", "--passes", "cleanup", "--coupling-rank", "4", "option '--coupling-rank' belongs to pass coupling, which --passes does not name")]
    [TestCase("optimize", "--passes", "coupling", "--coupling-variant", "triples", "option '--coupling-variant' must be one of pairs, meft")]
    [TestCase("optimize", "--passes", "coupling", "--coupling-variant", "meft", "--coupling-lambda", "0", "λ and β must be nonzero")]
    [TestCase("run", "--inputs", "/no/such/folder", "does not exist")]
    [TestCase("run", "--inputs", ".", "--device", "tpu", "option '--device' must be one of")]
    public void BadOptionsExit2(params string[] args)
    {
        string expected = args[^1];
        var argv = new List<string> { args[0], Fixture("resmlp_d8") };
        if (args[0] == "optimize") argv.AddRange(new[] { "-o", Path.Combine(_dir, "out.onnx") });
        argv.AddRange(args[1..^1]);
        var r = CliRunner.Run(argv.ToArray());
        Assert.That(r.ExitCode, Is.EqualTo(2), r.Stderr);
        Assert.That(r.Stderr.Trim(), Does.Contain(expected));
        Assert.That(File.Exists(Path.Combine(_dir, "out.onnx")), Is.False);
    }

    [Test]
    public void CudaOnTheCpuPackageIsAClearError()
    {
        string data = Path.Combine(RepoPaths.Fixtures, "resmlp_d8_data");
        var r = CliRunner.Run("run", Fixture("resmlp_d8"), "--inputs", data, "--device", "cuda");
        Assert.That(r.ExitCode, Is.EqualTo(2));
        Assert.That(r.Stderr, Does.Contain("CUDA"));
    }

    [Test]
    public void MismatchedOutputsExit1AndNameTheWorstElement()
    {
        string data = Path.Combine(RepoPaths.Fixtures, "resmlp_d8_data");
        // Expected outputs of another model with the same output shape: a real mismatch.
        var expected = Path.Combine(_dir, "expected");
        Directory.CreateDirectory(expected);
        File.Copy(Path.Combine(RepoPaths.Fixtures, "revmlp_d8_data", "output_0.pb"), Path.Combine(expected, "output_0.pb"));
        var r = CliRunner.Run("run", Fixture("resmlp_d8"), "--inputs", data, "--compare", expected, "--json", "-o", Path.Combine(_dir, "o"));
        Assert.That(r.ExitCode, Is.EqualTo(1), r.Stderr);
        Assert.That((bool)r.Json["ok"]!, Is.False);
        Assert.That(r.Json["worst"]!["index"], Is.Not.Null);
        Assert.That(Directory.Exists(Path.Combine(_dir, "o")), Is.False, "no outputs written for a failed check");
    }

    [Test]
    public void JsonErrorsAreJsonToo()
    {
        var r = CliRunner.Run("inspect", Path.Combine(_dir, "nope.onnx"), "--json");
        Assert.That(r.ExitCode, Is.EqualTo(2));
        Assert.That((int)r.Json["exit_code"]!, Is.EqualTo(2));
        Assert.That(r.Json["error"]!.GetValue<string>(), Does.Contain("does not exist"));
    }

    [Test]
    public void HelpTeaches()
    {
        var r = CliRunner.Run("optimize", "--help");
        Assert.That(r.ExitCode, Is.EqualTo(0));
        Assert.That(r.Stdout, Does.Contain("--check-equivalence").And.Contain("cleanup").And.Contain("Examples:"));
        var general = CliRunner.Run("--help");
        Assert.That(general.Stdout, Does.Contain("inspect").And.Contain("run").And.Contain("optimize").And.Contain("Exit codes"));
    }
}
