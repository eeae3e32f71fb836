using System.Globalization;

namespace OnnxRev.Runtime.Data;

/// <summary>
/// Reads a <c>.csv</c> / <c>.csv.gz</c> file: one sample per row, comma-separated numbers, the features then
/// the integer class label last. The first non-blank line is skipped as a header when any of its fields is
/// not a number (scikit-learn's iris/wine files start with <c>150,4,setosa,versicolor,virginica</c>;
/// its digits.csv.gz has no header). Blank lines are ignored. Every row must have as many fields as the first.
/// </summary>
internal static class CsvDataReader
{
    public static RawData Read(string file, float scale, int? maxSamples) =>
        DatasetLoader.Guard(file, () =>
        {
            using var stream = DatasetLoader.OpenMaybeGzip(file);
            using var reader = new StreamReader(stream);
            return Parse(reader, file, scale, maxSamples);
        });

    private static RawData Parse(TextReader reader, string file, float scale, int? maxSamples)
    {
        var features = new List<float>();
        var labels = new List<long>();
        var lines = new List<int>();
        int fieldCount = -1;
        int lineNumber = 0;
        bool sawFirstLine = false;
        int max = maxSamples ?? int.MaxValue;
        string? line;
        while (labels.Count < max && (line = reader.ReadLine()) is not null)
        {
            lineNumber++;
            if (string.IsNullOrWhiteSpace(line)) continue;
            if (!sawFirstLine)
            {
                sawFirstLine = true;
                if (IsHeader(line)) continue;
            }
            int fields = CountFields(line);
            if (fieldCount < 0)
            {
                if (fields < 2)
                    throw new OnnxRevException($"Line {lineNumber} of '{file}' has {fields} field; a row needs at least one feature and the label.");
                fieldCount = fields;
            }
            else if (fields != fieldCount)
            {
                throw new OnnxRevException(
                    $"Line {lineNumber} of '{file}' has {fields} fields, but earlier rows have {fieldCount} ({fieldCount - 1} features and the label).");
            }
            ParseRow(line, file, lineNumber, scale, features, labels);
            lines.Add(lineNumber);
        }
        if (labels.Count == 0 && maxSamples != 0) throw new OnnxRevException($"Data file '{file}' holds no data rows.");
        var lineArray = lines.ToArray();
        return new RawData(features.ToArray(), labels.ToArray(), [Math.Max(fieldCount - 1, 1)], file,
            i => $"line {lineArray[i]} of '{file}'");
    }

    private static void ParseRow(string line, string file, int lineNumber, float scale, List<float> features, List<long> labels)
    {
        var span = line.AsSpan();
        int column = 0;
        while (true)
        {
            column++;
            int comma = span.IndexOf(',');
            var field = (comma < 0 ? span : span[..comma]).Trim();
            if (comma < 0)
            {
                labels.Add(ParseLabel(field, file, lineNumber));
                return;
            }
            if (!float.TryParse(field, NumberStyles.Float, CultureInfo.InvariantCulture, out float value) || !float.IsFinite(value))
                throw new OnnxRevException($"Line {lineNumber} of '{file}': field {column} ('{Shorten(field)}') is not a finite number.");
            features.Add(value * scale);
            span = span[(comma + 1)..];
        }
    }

    private static long ParseLabel(ReadOnlySpan<char> field, string file, int lineNumber)
    {
        if (long.TryParse(field, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out long label)) return label;
        // Integral values written as floats ("3.0") are accepted; anything else is not a class index.
        if (double.TryParse(field, NumberStyles.Float, CultureInfo.InvariantCulture, out double d)
            && Math.Abs(d) < 1e15 && d == Math.Floor(d))
            return (long)d;
        throw new OnnxRevException($"Line {lineNumber} of '{file}': the label (last field, '{Shorten(field)}') is not an integer class index.");
    }

    private static bool IsHeader(string line)
    {
        var span = line.AsSpan();
        while (true)
        {
            int comma = span.IndexOf(',');
            var field = (comma < 0 ? span : span[..comma]).Trim();
            if (!double.TryParse(field, NumberStyles.Float, CultureInfo.InvariantCulture, out _)) return true;
            if (comma < 0) return false;
            span = span[(comma + 1)..];
        }
    }

    private static int CountFields(string line) => line.AsSpan().Count(',') + 1;

    private static string Shorten(ReadOnlySpan<char> field) => field.Length <= 20 ? field.ToString() : field[..20].ToString() + "…";
}
