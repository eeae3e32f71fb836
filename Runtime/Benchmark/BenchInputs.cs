namespace OnnxRev.Runtime.Benchmark;

/// <summary>Inputs for timing a model: seeded random values with the batch and symbolic dimensions chosen by the user.</summary>
public static class BenchInputs
{
    /// <summary>
    /// Random inputs for every input of <paramref name="runner"/>: a symbolic first dimension gets <paramref name="batch"/>,
    /// other symbolic dimensions the size <paramref name="dims"/> gives their name, else 1 (listed in <paramref name="defaulted"/>).
    /// Integer inputs get small non-negative values (valid token ids and indices); integer inputs named like an attention mask
    /// get ones and those named like token types or segments zeros.
    /// </summary>
    public static OrderedDictionary<string, DataValue> Random(OrtRunner runner, int batch, IReadOnlyDictionary<string, long> dims, int seed, out IReadOnlyList<string> defaulted)
    {
        var missing = new SortedSet<string>(StringComparer.Ordinal);
        var infos = runner.Inputs.Select(i => i.Kind != ValueKind.Tensor ? i : i with
        {
            Shape = i.Shape.Select((d, k) => d is > 0 ? d : k == 0 ? batch : i.DimNames[k] is { } n && dims.TryGetValue(n, out long v) ? v : Note(missing, i, k)).ToArray(),
        }).ToList();
        foreach (var name in dims.Keys)
            if (!runner.Inputs.Any(i => i.DimNames.Contains(name)))
                throw new OnnxRevException($"option '--dim': no input of '{runner.ModelName}' has a dimension named '{name}' (its inputs: {string.Join(", ", runner.Inputs.Select(i => i.Name + " " + i.TypeString))})");
        defaulted = missing.ToList();
        var values = RandomInputs.For(infos, seed);
        foreach (var info in infos.Where(i => i.Kind == ValueKind.Tensor && IsInteger(i.ElementType)))
        {
            string lower = info.Name.ToLowerInvariant();
            long? fill = lower.Contains("mask") ? 1 : lower.Contains("token_type") || lower.Contains("segment") ? 0 : null;
            if (fill is long f) values[info.Name] = DataValue.Tensor(Filled(info, f));
        }
        return values;
    }

    private static bool IsInteger(int elementType) => elementType is (int)Schema.TensorProto.Types.DataType.Int64 or (int)Schema.TensorProto.Types.DataType.Int32;

    /// <summary>Attention masks of ones and token types of zeros: what a text encoder sees for one unpadded sentence.</summary>
    private static Schema.TensorProto Filled(IoInfo info, long value)
    {
        var t = new Schema.TensorProto { Name = info.Name, DataType = info.ElementType };
        t.Dims.AddRange(info.Shape.Select(d => d!.Value));
        int size = ElementTypes.SizeOf(info.ElementType);
        var bytes = new byte[TensorProtoData.ElementCount(t) * size];
        for (int i = 0; i < bytes.Length; i += size) bytes[i] = (byte)value;
        t.RawData = Google.Protobuf.ByteString.CopyFrom(bytes);
        return t;
    }

    private static long? Note(SortedSet<string> missing, IoInfo input, int axis)
    {
        missing.Add(input.DimNames[axis] ?? $"{input.Name}[{axis}]");
        return 1;
    }

    /// <summary>Parses "name=size,name=size".</summary>
    public static Dictionary<string, long> ParseDims(string? spec)
    {
        var result = new Dictionary<string, long>(StringComparer.Ordinal);
        if (string.IsNullOrWhiteSpace(spec)) return result;
        foreach (var part in spec.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            int eq = part.IndexOf('=');
            if (eq <= 0 || !long.TryParse(part[(eq + 1)..], System.Globalization.NumberStyles.Integer, System.Globalization.CultureInfo.InvariantCulture, out long v) || v < 1)
                throw new OnnxRevException($"option '--dim' wants NAME=SIZE with SIZE ≥ 1, got '{part}'");
            result[part[..eq]] = v;
        }
        return result;
    }
}
