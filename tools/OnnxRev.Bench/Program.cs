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
            return args.Length == 0 ? 2 : 0;
        }
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
}
