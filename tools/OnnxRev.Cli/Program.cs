using System.Reflection;
using System.Text.Json.Nodes;
using OnnxRev.Cli.Commands;
using OnnxRev.Passes;

namespace OnnxRev.Cli;

/// <summary>The `onnxrev` command: dispatch, help, and the exit-code contract (0 ok, 1 a check failed, 2 bad usage or input).</summary>
internal static class Program
{
    private static readonly ICommand[] Commands =
    {
        new InspectCommand(), new RunCommand(), new OptimizeCommand(), new GradCommand(), new TrainCommand(), new EvalCommand(), new MakeTrainingCommand(),
        new BenchMemoryCommand(), new QuantizeCommand(), new CompressCommand(), new PackCommand(), new UnpackCommand(), new BenchCommand(), new PackageCommand(),
        new PipelineCommand(), new DemoCommand(), new CompareTextCommand(), new DistillCommand(),
    };

    private static int Main(string[] argv) => Execute(argv);

    /// <summary>Runs the CLI in-process (the tests call this).</summary>
    internal static int Execute(IReadOnlyList<string> argv)
    {
        StandardPasses.Register();
        OnnxRev.Runtime.Compression.CompressionPasses.Register();
        if (argv.Count == 0) { Console.Error.Write(GeneralHelp()); return 2; }
        if (argv[0] is "--help" or "-h" or "help") { Console.Out.Write(argv.Count > 1 ? CommandHelp(Find(argv[1])) : GeneralHelp()); return 0; }
        if (argv[0] == "--version") { Console.Out.WriteLine(Version()); return 0; }

        bool json = argv.Contains("--json"), verbose = argv.Contains("--verbose") || argv.Contains("-v");
        var output = new Output(json, verbose);
        try
        {
            var command = Find(argv[0]);
            var args = Args.Parse(command.Name, argv.Skip(1).ToList(), command.Options);
            if (args.Has("help")) { Console.Out.Write(CommandHelp(command)); return 0; }
            return command.Run(args, output);
        }
        catch (OnnxRevException e)
        {
            return Fail(output, 2, e.Message, e);
        }
        catch (CheckFailedException e)
        {
            return Fail(output, 1, e.Message, e);
        }
        catch (Exception e)
        {
            return Fail(output, 3, $"internal error ({e.GetType().Name}: {e.Message}); this is a bug in onnxrev, please report it with --verbose output", e);
        }
    }

    private static int Fail(Output output, int code, string message, Exception e)
    {
        Console.Error.WriteLine($"onnxrev: {OneLine(message)}");
        if (output.Verbose) Console.Error.WriteLine(e.ToString());
        if (output.Json) Console.Out.WriteLine(new JsonObject { ["error"] = OneLine(message), ["exit_code"] = code }.ToJsonString());
        return code;
    }

    private static string OneLine(string s) => s.ReplaceLineEndings(" ");

    private static ICommand Find(string name) =>
        Commands.FirstOrDefault(c => c.Name == name)
        ?? throw new UsageException($"unknown command '{name}'; commands: {string.Join(", ", Commands.Select(c => c.Name))} (see 'onnxrev --help')");

    private static string Version() =>
        "onnxrev " + (typeof(Program).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "?");

    private static string GeneralHelp()
    {
        var lines = new List<string>
        {
            "onnxrev — fit ONNX models to the devices they run and learn on.",
            "",
            "Usage: onnxrev COMMAND [options]      onnxrev COMMAND --help for details",
            "",
            "Commands:",
        };
        lines.AddRange(Commands.Select(c => $"  {c.Name,-13} {c.Summary}"));
        lines.Add("");
        lines.Add("Every command accepts --json (one JSON object on stdout), --verbose and --help.");
        lines.Add("Exit codes: 0 success; 1 a check you asked for failed; 2 bad usage or bad input (one line on stderr, nothing written).");
        return string.Join(Environment.NewLine, lines) + Environment.NewLine;
    }

    private static string CommandHelp(ICommand c)
    {
        var lines = new List<string> { $"Usage: {c.Usage}", "", c.Description, "", "Options:" };
        foreach (var o in c.Options.Concat(Args.Common).Where(o => !o.Hidden))
        {
            string flag = (o.Alias is null ? "    " : $"-{o.Alias}, ") + $"--{o.Name}" + (o.TakesValue ? $" {o.ValueName}" : "");
            lines.Add($"  {flag,-30} {o.Help}");
        }
        lines.Add("");
        lines.Add("Examples:");
        lines.AddRange(c.Examples.Select(e => "  " + e));
        return string.Join(Environment.NewLine, lines) + Environment.NewLine;
    }
}
