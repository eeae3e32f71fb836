using System.Text.Json;
using System.Text.Json.Nodes;

namespace OnnxRev.Cli;

/// <summary>Where a command's words go: human text to stderr (or stdout without --json), one JSON object to stdout with --json.</summary>
internal sealed class Output(bool json, bool verbose)
{
    private static readonly JsonSerializerOptions Indented = new() { WriteIndented = true };

    /// <summary>--json was given.</summary>
    public bool Json { get; } = json;

    /// <summary>--verbose was given.</summary>
    public bool Verbose { get; } = verbose;

    /// <summary>A line for people: stdout normally, stderr under --json so stdout stays pure JSON.</summary>
    public void Line(string text)
    {
        if (Json) Console.Error.WriteLine(text); else Console.WriteLine(text);
    }

    /// <summary>A detail shown only with --verbose (on stderr).</summary>
    public void Detail(string text)
    {
        if (Verbose) Console.Error.WriteLine(text);
    }

    /// <summary>Prints the command's JSON result when --json was given.</summary>
    public void Result(JsonObject result)
    {
        if (Json) Console.Out.WriteLine(result.ToJsonString(Indented));
    }
}
