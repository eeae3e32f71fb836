using System.Buffers.Binary;
using Google.Protobuf;
using OnnxRev.Schema;
using DT = OnnxRev.Schema.TensorProto.Types.DataType;

namespace OnnxRev.Runtime;

/// <summary>
/// Seeded random values for a model's inputs: floating-point types from a standard normal distribution,
/// integers in [0, 10), random booleans, short random lowercase strings. The same seed, inputs and
/// dimension values always give the same values.
/// </summary>
public static class RandomInputs
{
    /// <summary>Random values for every input of <paramref name="runner"/>.</summary>
    /// <param name="runner">The model whose inputs to fill.</param>
    /// <param name="seed">Seed of the random generator.</param>
    /// <param name="dimValues">Sizes for symbolic dimensions by name; a missing name (or an unnamed unknown dimension) gets 1.</param>
    /// <param name="sequenceLength">Number of elements in each generated sequence.</param>
    public static OrderedDictionary<string, DataValue> For(OrtRunner runner, int seed,
        IReadOnlyDictionary<string, long>? dimValues = null, int sequenceLength = 2)
    {
        ArgumentNullException.ThrowIfNull(runner);
        return For(runner.Inputs, seed, dimValues, sequenceLength);
    }

    /// <summary>Random values for the described inputs (see the other overload).</summary>
    public static OrderedDictionary<string, DataValue> For(IReadOnlyList<IoInfo> inputs, int seed,
        IReadOnlyDictionary<string, long>? dimValues = null, int sequenceLength = 2)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        ArgumentOutOfRangeException.ThrowIfLessThan(sequenceLength, 1);
        var random = new Random(seed);
        var result = new OrderedDictionary<string, DataValue>();
        foreach (var input in inputs) result[input.Name] = Make(input, random, dimValues, sequenceLength);
        return result;
    }

    /// <summary>A random tensor of the given type and fixed shape, drawn from <paramref name="random"/>.</summary>
    public static TensorProto Tensor(string name, int elementType, IReadOnlyList<long> shape, Random random)
    {
        ArgumentNullException.ThrowIfNull(random);
        var t = new TensorProto { Name = name, DataType = elementType };
        t.Dims.AddRange(shape);
        long count = TensorProtoData.ElementCount(t);
        if (elementType == (int)DT.String)
        {
            for (long i = 0; i < count; i++)
            {
                var chars = new char[random.Next(1, 6)];
                for (int c = 0; c < chars.Length; c++) chars[c] = (char)('a' + random.Next(26));
                t.StringData.Add(ByteString.CopyFromUtf8(new string(chars)));
            }
            return t;
        }
        int size = ElementTypes.SizeOf(elementType);
        var bytes = new byte[checked(count * size)];
        for (int i = 0; i < count; i++) Write(elementType, bytes.AsSpan(i * size, size), random);
        t.RawData = ByteString.CopyFrom(bytes);
        return t;
    }

    private static DataValue Make(IoInfo info, Random random, IReadOnlyDictionary<string, long>? dimValues, int sequenceLength)
    {
        switch (info.Kind)
        {
            case ValueKind.Tensor:
                var shape = info.Shape.Select((d, i) => d ?? LookUp(info.DimNames[i], dimValues)).ToArray();
                return DataValue.Tensor(Tensor(info.Name, info.ElementType, shape, random));
            case ValueKind.Sequence:
                var element = info.Element ?? throw new OnnxRevException($"Input '{info.Name}' is a sequence of unknown element type.");
                return DataValue.Sequence(Enumerable.Range(0, sequenceLength).Select(_ => Make(element, random, dimValues, sequenceLength)).ToArray());
            case ValueKind.Optional:
                var inner = info.Element ?? throw new OnnxRevException($"Input '{info.Name}' is an optional of unknown element type.");
                return DataValue.Optional(Make(inner, random, dimValues, sequenceLength));
            default:
                throw new OnnxRevException($"Input '{info.Name}' is a map, for which OnnxRev cannot make random values.");
        }
    }

    private static long LookUp(string? dimName, IReadOnlyDictionary<string, long>? dimValues) =>
        dimName is not null && dimValues is not null && dimValues.TryGetValue(dimName, out long v) ? v : 1;

    private static void Write(int dt, Span<byte> e, Random random)
    {
        switch (dt)
        {
            case (int)DT.Float: BinaryPrimitives.WriteSingleLittleEndian(e, (float)Normal(random)); break;
            case (int)DT.Double: BinaryPrimitives.WriteDoubleLittleEndian(e, Normal(random)); break;
            case (int)DT.Float16: BinaryPrimitives.WriteHalfLittleEndian(e, (Half)Normal(random)); break;
            case (int)DT.Bfloat16: BinaryPrimitives.WriteUInt16LittleEndian(e, ToBFloat16((float)Normal(random))); break;
            case (int)DT.Bool: e[0] = (byte)random.Next(2); break;
            default:
                // Integers: small non-negative values, valid for every integer type.
                long v = random.Next(10);
                for (int b = 0; b < e.Length; b++) e[b] = (byte)(v >> (8 * b));
                break;
        }
    }

    /// <summary>Standard normal via Box-Muller.</summary>
    private static double Normal(Random random)
    {
        double u1 = 1.0 - random.NextDouble(); // (0, 1]
        double u2 = random.NextDouble();
        return Math.Sqrt(-2.0 * Math.Log(u1)) * Math.Cos(2.0 * Math.PI * u2);
    }

    /// <summary>Rounds a float to bfloat16 (round to nearest even).</summary>
    internal static ushort ToBFloat16(float f)
    {
        uint bits = BitConverter.SingleToUInt32Bits(f);
        if (float.IsNaN(f)) return 0x7FC0;
        uint rounding = 0x7FFF + ((bits >> 16) & 1);
        return (ushort)((bits + rounding) >> 16);
    }
}
