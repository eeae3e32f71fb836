using System.Diagnostics;

namespace OnnxRev.Tests.Support;

/// <summary>
/// Runs `onnxrev` as its own process (the assembly the test project references, started by the dotnet host), for the
/// checks that judge the whole process — peak resident set above all — which the test host would distort.
/// </summary>
public static class CliProcess
{
    /// <summary>Runs `onnxrev ARGS` and waits (at most <paramref name="timeout"/>).</summary>
    public static CliResult Run(TimeSpan timeout, params string[] args)
    {
        string dll = typeof(OnnxRev.Cli.Program).Assembly.Location;
        string host = Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } h && File.Exists(h) ? h : "dotnet";
        var start = new ProcessStartInfo(host) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        start.ArgumentList.Add(dll);
        foreach (var a in args) start.ArgumentList.Add(a);
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(timeout))
        {
            process.Kill(entireProcessTree: true);
            Assert.Fail($"onnxrev {string.Join(' ', args)} did not finish within {timeout}");
        }
        return new CliResult(process.ExitCode, stdout.Result, stderr.Result);
    }
}
