using OnnxRev.Building;
using OnnxRev.Passes.Autodiff;
using OnnxRev.Runtime;
using OnnxRev.Runtime.Data;
using OnnxRev.Runtime.Training;
using OnnxRev.Serialization;
using OnnxRev.Tests.Support;

namespace OnnxRev.Tests.Training;

/// <summary>LoRA adapters: only the adapters train, the start is the original function, and export merges them exactly.</summary>
public class LoraTests
{
    [Test]
    public void AdaptersTrainMergeAndKeepTheStructure()
    {
        var all = DatasetLoader.Load(Path.Combine(RepoPaths.Root, "models", "data", "digits.csv.gz"), new DataOptions { Scale = 1f / 16 });
        var (train, val) = all.Split(0.2, seed: 4);
        var forward = ModelZoo.ResidualMlp(depth: 2, width: 32, seed: 9);
        var options = new TrainingOptions(new LossOptions(LossKind.CrossEntropy), new OptimizerOptions(), new TrainableSpec("regex:weight$"), LoraRank: 4);
        var artifacts = TrainingGraphBuilder.Build(forward, options);
        Assert.That(artifacts.Lora, Is.Not.Null);
        Assert.That(artifacts.Parameters.Select(p => p.Name), Is.All.Contains(".lora_"), "only adapters train");
        Assert.That(artifacts.Lora!.Count, Is.EqualTo(6), "one adapter per Gemm weight: input, 2 × 2 in the blocks, output");

        using var trainer = new Trainer(artifacts, new TrainerOptions { Epochs = 15, BatchSize = 32, LearningRate = 3e-3, Seed = 2, Runner = new RunnerOptions { IntraOpThreads = 1 } });
        using (var original = new OrtRunner(ModelWriter.ToBytes(forward)))
            Assert.That(trainer.Evaluate(val).Accuracy, Is.EqualTo(Evaluation.Classify(original, val).Accuracy).Within(1e-12), "B = 0: the adapted model starts as the original");
        double before = trainer.Evaluate(val).Accuracy;
        trainer.Fit(train);
        double after = trainer.Evaluate(val).Accuracy;
        Assert.That(after, Is.GreaterThan(before + 0.3), $"LoRA training: {before:P1} → {after:P1}");

        var merged = trainer.Export(forward);
        Assert.That(merged.Graph.Nodes.Select(n => n.OpType), Is.EqualTo(forward.Graph.Nodes.Select(n => n.OpType)), "merged model has the original structure");
        Assert.That(merged.Graph.Initializers.Select(v => v.Name), Is.EqualTo(forward.Graph.Initializers.Select(v => v.Name)));
        using var runner = new OrtRunner(ModelWriter.ToBytes(merged));
        Assert.That(Evaluation.Classify(runner, val).Accuracy, Is.EqualTo(after).Within(1.0 / val.Count), "merging W + (α/r)·A·B reproduces the adapted model");
    }
}
