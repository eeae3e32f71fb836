using System.Globalization;

namespace OnnxRev.Bench;

/// <summary>onnxrev-bench: benchmarks whose figures the README quotes.</summary>
internal static class Program
{
    private static int Main(string[] args)
    {
        if (args.Length == 0 || args[0] is "--help" or "-h")
        {
            Console.WriteLine("Usage: onnxrev-bench external-data [--gigabytes G (default 2.6)] [--dir DIR (default /tmp/onnxrev-bench)] [--keep]");
            Console.WriteLine("  Generates a model with G GB of external weights, converts it with `onnxrev optimize --passes cleanup`");
            Console.WriteLine("  in a child process and reports peak RSS / model bytes (goal <= 1.5) and whether every weight byte survived.");
            Console.WriteLine("Usage: onnxrev-bench train-step [--depth 8] [--width 256] [--batch 4096] [--threads 2] [--steps 20] [--warmup 3] [--rounds 3] [--peer PATH]");
            Console.WriteLine("  Median training-step time of the ORT training graph vs the TorchSharp peer (tools/peers/torchsharp/build.sh), alternating.");
            Console.WriteLine("Usage: onnxrev-bench finetune-resnet18 [--train N (2000)] [--test N (1000)] [--epochs E (20)] [--threads T (2)] [--seed S (0)] [-o MODEL] [--data DIR]");
            Console.WriteLine("  Fine-tunes a linear head on CNTK's pretrained ResNet18 (NuGet, frozen) on Fashion-MNIST; accuracy before/after;");
            Console.WriteLine("  writes preprocess + ResNet18 + head as one opset-8 model and checks it on 100 test images.");
            Console.WriteLine("Usage: onnxrev-bench vit-curves [--depth 4] [--width 64] [--heads 4] [--batch 64] [--train 4096] [--test 1000] [--epochs 1] [--lr 1e-3] [--seed 0] [--threads 2] [--tolerance 1e-4] [--plot FILE.png] [--data DIR]");
            Console.WriteLine("  Trains ModelZoo.VitTiny on Fashion-MNIST with store and recompute, and its coupling conversion with store and reversible,");
            Console.WriteLine("  each in a child process from the same seed; per-step losses, test accuracy, peak RSS; exit 1 when a pair's losses differ.");
            Console.WriteLine("Usage: onnxrev-bench quant-resnet18 [--calibration N (100)] [--test N (200)] [--method minmax|percentile|entropy (percentile)] [--percentile P (99.99)] [--per-tensor] [--keep-float OPS] [--sensitivity] [--threads T (2)] [--iterations N (20)] [-o MODEL]");
            Console.WriteLine("  Static INT8 (QDQ) of CNTK's ResNet18 calibrated on Fashion-MNIST train images (224×224), feature cosine vs fp32 on test images,");
            Console.WriteLine("  sizes, ORT's optimized-graph ops, p50 latency of both (alternating runs).");
            Console.WriteLine("Usage: onnxrev-bench quant-minilm [--threads T (2)] [--iterations N (50)] [--warmup N (5)] [--batch B (8)] [--per-tensor] [--per-tensor-activations] [--token-scaled] [--token-centered] [--per-token-nodes NODES] [--keep-float OPS] [--embeddings] [--sensitivity] [--smooth ALPHA] [--mixed-floor F --calibration-sentences N (128)] [--time-also MODELS] [--profile] [-o MODEL]");
            Console.WriteLine("  Dynamic INT8 of all-MiniLM-L6-v2: per-token cosine vs fp32 on the 256 bundled sentences, sizes, ORT ops, alternating p50.");
            Console.WriteLine(StructuredPruningBenchmark.Help);
            Console.WriteLine(StepRatioBenchmark.Help);
            return args.Length == 0 ? 2 : 0;
        }
        if (args[0] == "prune-channels") return StructuredPruningBenchmark.Run(args);
        if (args[0] == "train-step") return TrainStep(args);
        if (args[0] == "quant-resnet18") return QuantResNetBenchmark.Run(args);
        if (args[0] == "quant-minilm") return QuantMiniLmBenchmark.Run(args);
        if (args[0] == "vit-curves") return VitCurvesBenchmark.Run(args);
        if (args[0] == "step-ratio") return StepRatioBenchmark.Run(args);
        if (args[0] == "finetune-resnet18") return FineTuneBenchmark.Run(args);
        if (args[0] != "external-data") { Console.Error.WriteLine($"onnxrev-bench: unknown benchmark '{args[0]}'"); return 2; }
        double gb = 2.6;
        string dir = Path.Combine(Path.GetTempPath(), "onnxrev-bench");
        bool keep = false;
        for (int i = 1; i < args.Length; i++)
        {
            switch (args[i])
            {
                case "--gigabytes" when i + 1 < args.Length && double.TryParse(args[i + 1], NumberStyles.Float, CultureInfo.InvariantCulture, out gb) && gb > 0: i++; break;
                case "--dir" when i + 1 < args.Length: dir = args[++i]; break;
                case "--keep": keep = true; break;
                default: Console.Error.WriteLine($"onnxrev-bench: bad option '{args[i]}'"); return 2;
            }
        }
        return ExternalDataBenchmark.Run(gb, dir, keep);
    }

    private static int TrainStep(string[] args)
    {
        int Int(string name, int fallback)
        {
            int i = Array.IndexOf(args, name);
            return i >= 0 && i + 1 < args.Length && int.TryParse(args[i + 1], NumberStyles.Integer, CultureInfo.InvariantCulture, out int v) ? v : fallback;
        }
        int p = Array.IndexOf(args, "--peer");
        string? peer = p >= 0 && p + 1 < args.Length ? args[p + 1] : null;
        if (peer is not null && !File.Exists(peer)) { Console.Error.WriteLine($"onnxrev-bench: peer '{peer}' not found; build it with tools/peers/torchsharp/build.sh"); return 2; }
        return TrainStepBenchmark.Run(Int("--depth", 8), Int("--width", 256), Int("--batch", 4096), Int("--threads", 2), Int("--steps", 20), Int("--warmup", 3), Int("--rounds", 3), peer);
    }
}
