namespace OnnxRev.Passes.Cleanup.Folding;

/// <summary>
/// ONNX <c>TensorProto.DataType</c> codes used by the folding evaluator, with the .NET element
/// type each one is held as in a <see cref="HostTensor"/>.
/// </summary>
public static class OnnxDataType
{
    /// <summary>float32, held as <see cref="float"/>.</summary>
    public const int Float = 1;
    /// <summary>uint8, held as <see cref="byte"/>.</summary>
    public const int UInt8 = 2;
    /// <summary>int8, held as <see cref="sbyte"/>.</summary>
    public const int Int8 = 3;
    /// <summary>uint16, held as <see cref="ushort"/>.</summary>
    public const int UInt16 = 4;
    /// <summary>int16, held as <see cref="short"/>.</summary>
    public const int Int16 = 5;
    /// <summary>int32, held as <see cref="int"/>.</summary>
    public const int Int32 = 6;
    /// <summary>int64, held as <see cref="long"/>.</summary>
    public const int Int64 = 7;
    /// <summary>string, held as <see cref="string"/> (UTF-8 in the proto).</summary>
    public const int String = 8;
    /// <summary>bool, held as <see cref="bool"/>.</summary>
    public const int Bool = 9;
    /// <summary>float16, held as <see cref="Half"/>.</summary>
    public const int Float16 = 10;
    /// <summary>float64, held as <see cref="double"/>.</summary>
    public const int Double = 11;
    /// <summary>uint32, held as <see cref="uint"/>.</summary>
    public const int UInt32 = 12;
    /// <summary>uint64, held as <see cref="ulong"/>.</summary>
    public const int UInt64 = 13;
    /// <summary>bfloat16, held as its raw bits in <see cref="ushort"/>; no operator computes on it.</summary>
    public const int BFloat16 = 16;

    private static readonly string[] Names =
    [
        "undefined", "float", "uint8", "int8", "uint16", "int16", "int32", "int64", "string", "bool",
        "float16", "double", "uint32", "uint64", "complex64", "complex128", "bfloat16",
        "float8e4m3fn", "float8e4m3fnuz", "float8e5m2", "float8e5m2fnuz", "uint4", "int4",
    ];

    /// <summary>The ONNX spelling of a data type code, e.g. <c>float16</c>.</summary>
    public static string Name(int dataType) =>
        dataType >= 0 && dataType < Names.Length ? Names[dataType] : $"data type {dataType}";

    /// <summary>The .NET element type a <see cref="HostTensor"/> of this type holds, or null when unsupported.</summary>
    public static Type? ElementType(int dataType) => dataType switch
    {
        Float => typeof(float),
        UInt8 => typeof(byte),
        Int8 => typeof(sbyte),
        UInt16 => typeof(ushort),
        Int16 => typeof(short),
        Int32 => typeof(int),
        Int64 => typeof(long),
        String => typeof(string),
        Bool => typeof(bool),
        Float16 => typeof(Half),
        Double => typeof(double),
        UInt32 => typeof(uint),
        UInt64 => typeof(ulong),
        BFloat16 => typeof(ushort),
        _ => null,
    };

    /// <summary>True for float16, float and double.</summary>
    public static bool IsFloating(int dataType) => dataType is Float or Float16 or Double;

    /// <summary>True for the signed and unsigned integer types (not bool).</summary>
    public static bool IsInteger(int dataType) =>
        dataType is UInt8 or Int8 or UInt16 or Int16 or Int32 or Int64 or UInt32 or UInt64;
}
