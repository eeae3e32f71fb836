using System.Text.Json.Nodes;
using OnnxRev.Runtime;
using OnnxRev.Runtime.Data;
using OnnxRev.Schema;
using OnnxRev.Tests.Support;

namespace OnnxRev.Tests.Training;

/// <summary>The artifacts of `make-training` drive a training loop written only against ONNX Runtime and the manifest.</summary>
public class MakeTrainingTests
{
    [Test]
    public void AnAppLoopWithOnlyTheManifestLearns()
    {
        string dir = Path.Combine(RepoPaths.NewTempDir(), "artifacts");
        try
        {
            var r = CliRunner.Run("make-training", Path.Combine(RepoPaths.Fixtures, "resmlp_d8.onnx"), "-o", dir, "--optimizer", "sgd", "--momentum", "0.9", "--json");
            Assert.That(r.ExitCode, Is.EqualTo(0), r.Stderr);
            var manifest = JsonNode.Parse(File.ReadAllText(Path.Combine(dir, "manifest.json")))!;
            var data = DatasetLoader.Load(Path.Combine(RepoPaths.Root, "models", "data", "digits.csv.gz"), new DataOptions { Scale = 1f / 16 }).Take(64);
            var x = GradCheck.Make("x", 1, new long[] { 64, 64 }, data.Features.Select(f => (double)f).ToArray());
            var y = GradCheck.Make("labels", 7, new long[] { 64 }, data.Labels.Select(l => (double)l).ToArray());

            var state = new Dictionary<string, TensorProto>();
            foreach (var p in manifest["parameters"]!.AsArray())
            {
                var init = TensorProto.Parser.ParseFrom(File.ReadAllBytes(Path.Combine(dir, (string)p!["initial"]!)));
                state[(string)p["name"]!] = init;
                foreach (var s in p["states"]!.AsArray())
                    state[(string)s!["input"]!] = GradCheck.Make("", 1, init.Dims.ToArray(), new double[init.Dims.Aggregate(1L, (a, b) => a * b)]);
            }
            using var step = new OrtRunner(Path.Combine(dir, "training_step.onnx"));
            var losses = new List<double>();
            for (int t = 1; t <= 20; t++)
            {
                var feeds = state.ToDictionary(kv => kv.Key, kv => DataValue.Tensor(kv.Value));
                feeds[(string)manifest["data_inputs"]![0]!] = DataValue.Tensor(x);
                feeds[(string)manifest["labels_input"]!] = DataValue.Tensor(y);
                feeds[(string)manifest["lr_input"]!] = DataValue.Tensor(GradCheck.Make("lr", 1, Array.Empty<long>(), new[] { 0.05 }));
                feeds[(string)manifest["step_input"]!] = DataValue.Tensor(GradCheck.Make("step", 1, Array.Empty<long>(), new[] { (double)t }));
                var outputs = step.Run(feeds);
                losses.Add(GradCheck.ToDoubles(outputs[(string)manifest["loss_output"]!].AsTensor())[0]);
                foreach (var p in manifest["parameters"]!.AsArray())
                {
                    state[(string)p!["name"]!] = outputs[(string)p["output"]!].AsTensor();
                    foreach (var s in p["states"]!.AsArray()) state[(string)s!["input"]!] = outputs[(string)s["output"]!].AsTensor();
                }
            }
            Assert.That(losses[^1], Is.LessThan(losses[0] * 0.5), $"loss {losses[0]:F4} → {losses[^1]:F4}");
            using var eval = new OrtRunner(Path.Combine(dir, "eval.onnx"));
            Assert.That(eval.Inputs.Select(i => i.Name), Does.Contain("inp.weight"), "eval reads the same parameters as inputs");
        }
        finally { Directory.Delete(Path.GetDirectoryName(dir)!, recursive: true); }
    }
}
