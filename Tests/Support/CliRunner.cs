using System.Text.Json.Nodes;

namespace OnnxRev.Tests.Support;

/// <summary>What one in-process `onnxrev` invocation returned and printed.</summary>
public sealed record CliResult(int ExitCode, string Stdout, string Stderr)
{
    /// <summary>stdout parsed as the command's JSON object.</summary>
    public JsonObject Json => JsonNode.Parse(Stdout)!.AsObject();
}

/// <summary>Runs the CLI's entry point in-process with stdout and stderr captured.</summary>
public static class CliRunner
{
    private static readonly object Gate = new();

    /// <summary>Runs `onnxrev ARGS`.</summary>
    public static CliResult Run(params string[] args)
    {
        lock (Gate)
        {
            var (oldOut, oldErr) = (Console.Out, Console.Error);
            var (stdout, stderr) = (new StringWriter(), new StringWriter());
            Console.SetOut(stdout);
            Console.SetError(stderr);
            try
            {
                int code = OnnxRev.Cli.Program.Execute(args);
                return new CliResult(code, stdout.ToString(), stderr.ToString());
            }
            finally
            {
                Console.SetOut(oldOut);
                Console.SetError(oldErr);
            }
        }
    }
}
