using System.Globalization;

namespace OnnxRev.Runtime.Compression;

/// <summary>Lines of a sentence file, optionally a 1-based inclusive range of them ("129-256"), for calibration, distillation and evaluation splits.</summary>
public static class SentenceSet
{
    /// <summary>The non-empty lines of <paramref name="path"/> in <paramref name="range"/> (all when null).</summary>
    public static List<string> Read(string path, string? range)
    {
        if (!File.Exists(path)) throw new OnnxRevException($"sentence file '{path}' does not exist");
        var lines = File.ReadAllLines(path);
        int first = 1, last = lines.Length;
        if (range is not null)
        {
            var parts = range.Split('-');
            if (parts.Length != 2 || !int.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out first)
                || !int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out last) || first < 1 || last < first || last > lines.Length)
                throw new OnnxRevException($"option '--lines' must be FIRST-LAST within 1-{lines.Length} of '{path}', got '{range}'");
        }
        var result = lines.Skip(first - 1).Take(last - first + 1).Select(l => l.Trim()).Where(l => l.Length > 0).ToList();
        if (result.Count == 0) throw new OnnxRevException($"'{path}' has no sentences in lines {first}-{last}");
        return result;
    }

    /// <summary>The first <paramref name="limit"/> non-empty lines of a calibration file (trimmed); at least one.</summary>
    public static List<string> First(string path, int limit)
    {
        if (!File.Exists(path)) throw new OnnxRevException($"calibration file '{path}' does not exist");
        var sentences = File.ReadLines(path).Select(l => l.Trim()).Where(l => l.Length > 0).Take(limit).ToList();
        if (sentences.Count == 0) throw new OnnxRevException($"calibration file '{path}' has no sentences");
        return sentences;
    }
}
