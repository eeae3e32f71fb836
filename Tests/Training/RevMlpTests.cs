using Google.Protobuf;
using OnnxRev.Building;
using OnnxRev.Runtime;
using OnnxRev.Schema;
using OnnxRev.Serialization;
using OnnxRev.Tests.Support;

namespace OnnxRev.Tests.Training;

/// <summary>
/// <see cref="ModelZoo.RevMlp"/> is the module of models/fixtures/make_fixtures.py's RevMLP: with PyTorch's parameters
/// (models/fixtures/revmlp_d8_grads/params, matched by name) it computes the fixture's logits, and its nodes are
/// scoped and grouped per block like PyTorch's export.
/// </summary>
public class RevMlpTests
{
    [Test]
    public void WithPyTorchParameters_ComputesTheFixtureLogits()
    {
        var proto = ModelWriter.ToProto(ModelZoo.RevMlp(depth: 8, width: 64, inputs: 64, classes: 10, seed: 5));
        var torch = Directory.GetFiles(Path.Combine(RepoPaths.Fixtures, "revmlp_d8_grads", "params"), "*.pb")
            .Select(f => TensorProto.Parser.ParseFrom(File.ReadAllBytes(f))).ToDictionary(t => t.Name);
        var ours = proto.Graph.Initializer.Where(t => t.DataType == (int)TensorProto.Types.DataType.Float && t.Dims.Count > 0).ToList();
        Assert.That(ours.Select(t => t.Name), Is.EquivalentTo(torch.Keys), "one initializer per PyTorch parameter, named alike");
        foreach (var t in ours)
        {
            Assert.That(t.Dims, Is.EqualTo(torch[t.Name].Dims), t.Name);
            int i = proto.Graph.Initializer.IndexOf(t);
            proto.Graph.Initializer[i] = torch[t.Name].Clone();
        }

        var input = TensorProto.Parser.ParseFrom(File.ReadAllBytes(Path.Combine(RepoPaths.Fixtures, "revmlp_d8_data", "input_0.pb")));
        var expected = TensorProto.Parser.ParseFrom(File.ReadAllBytes(Path.Combine(RepoPaths.Fixtures, "revmlp_d8_data", "output_0.pb")));
        using var runner = new OrtRunner(proto.ToByteArray(), OrtCheck.NoOpt, "revmlp");
        var actual = runner.Run(new Dictionary<string, DataValue> { ["x"] = DataValue.Tensor(input) })["logits"].AsTensor();
        Assert.That(actual.Dims, Is.EqualTo(expected.Dims));
        var a = GradCheck.ToDoubles(actual);
        var e = GradCheck.ToDoubles(expected);
        double scale = e.Max(Math.Abs), err = a.Zip(e, (x, y) => Math.Abs(x - y)).Max();
        Assert.That(err, Is.LessThanOrEqualTo(1e-5 * scale), $"max abs error {err:G3} at scale {scale:G3}");
    }

    [Test]
    public void NodesCarryModuleScopes_AndEachBlockIsContiguous()
    {
        const int depth = 3;
        var model = ModelZoo.RevMlp(depth, width: 16);
        var nodes = model.Graph.Nodes.ToList();
        Assert.That(nodes.Select(n => n.Name), Does.Contain("/F.1/F.1.1/Gemm").And.Contain("/G.2/G.2.0/LayerNormalization").And.Contain("/inp/Gemm"));
        Assert.That(nodes.Select(n => n.Name).Distinct().Count(), Is.EqualTo(nodes.Count), "node names are unique");

        // Block i = the nodes from F.i's first to G.i's add: F.i's nodes, y1's Add, G.i's nodes, y2's Add.
        int Block(string name)
        {
            foreach (var prefix in new[] { "/F.", "/G." })
                if (name.StartsWith(prefix, StringComparison.Ordinal)) return int.Parse(name[3..name.IndexOf('/', 1)]);
            return -1;
        }
        var blockOf = nodes.Select(n => Block(n.Name)).ToList();
        for (int i = 0; i < depth; i++)
        {
            int first = blockOf.IndexOf(i), last = blockOf.LastIndexOf(i);
            Assert.That(blockOf.Skip(first).Take(last - first + 1).All(b => b == i || b == -1), Is.True, $"block {i} is contiguous");
            var between = nodes.Skip(first).Take(last - first + 1).Where(n => Block(n.Name) == -1).ToList();
            Assert.That(between.Select(n => n.OpType), Is.EqualTo(new[] { "Add" }), $"block {i}: only y1's Add lies between F.{i} and G.{i}");
            Assert.That(nodes[last + 1].OpType, Is.EqualTo("Add"), $"block {i} ends with y2's Add");
        }
        Assert.That(nodes.Where(n => n.Name.StartsWith("/F.0/", StringComparison.Ordinal)).Select(n => n.OpType),
            Is.EqualTo(new[] { "LayerNormalization", "Gemm", "Div", "Erf", "Add", "Mul", "Mul", "Gemm" }));
    }

    [Test]
    public void OddWidth_IsRefused() =>
        Assert.Throws<ArgumentOutOfRangeException>(() => ModelZoo.RevMlp(depth: 2, width: 15));
}
