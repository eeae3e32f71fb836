using System.Globalization;

namespace OnnxRev.Cli;

/// <summary>A one-line progress bar on stderr: redrawn in place on a terminal, a line every few seconds when stderr is redirected.</summary>
internal sealed class ProgressLine
{
    private DateTime _last = DateTime.MinValue;
    private bool _drawn;

    /// <summary>Draws "<paramref name="label"/> [####....] 40 % <paramref name="detail"/>" unless one was drawn very recently (always at 100 %).</summary>
    public void Report(string label, double fraction, string detail = "")
    {
        bool done = fraction >= 1;
        bool tty = !Console.IsErrorRedirected;
        if (!done && (DateTime.UtcNow - _last).TotalSeconds < (tty ? 0.2 : 5)) return;
        _last = DateTime.UtcNow;
        fraction = Math.Clamp(fraction, 0, 1);
        int filled = (int)(fraction * 30);
        string line = string.Create(CultureInfo.InvariantCulture, $"{label} [{new string('#', filled)}{new string('.', 30 - filled)}] {fraction,4:P0} {detail}").TrimEnd();
        if (tty) Console.Error.Write("\r" + line.PadRight(100));
        else Console.Error.WriteLine(line);
        _drawn = true;
        if (done && tty) Finish();
    }

    /// <summary>Ends the in-place line so the next output starts on a fresh line.</summary>
    public void Finish()
    {
        if (_drawn && !Console.IsErrorRedirected) Console.Error.WriteLine();
        _drawn = false;
    }
}
