using System.Buffers.Binary;
using Google.Protobuf;
using OnnxRev.Schema;
using DT = OnnxRev.Schema.TensorProto.Types.DataType;

namespace OnnxRev.Runtime.Data;

/// <summary>
/// Reads an ONNX test-data folder as a dataset: <c>input_0.pb</c> holds the features as one TensorProto of
/// shape [N, …] (float, double, float16 or an integer type), and the labels are the integer TensorProto
/// of N class indices (shape [N] or [N,1]) in <c>labels.pb</c>, or else in <c>output_0.pb</c>.
/// </summary>
internal static class TestDataReader
{
    public static RawData Read(string folder, float scale, int? maxSamples)
    {
        string inputFile = Path.Combine(folder, "input_0.pb");
        string labelsFile = Path.Combine(folder, "labels.pb");
        if (!File.Exists(labelsFile)) labelsFile = Path.Combine(folder, "output_0.pb");
        if (!File.Exists(labelsFile))
            throw new OnnxRevException($"Test-data folder '{folder}' has input_0.pb but no labels: expected labels.pb or output_0.pb.");

        var input = ReadTensor(inputFile);
        var labelTensor = ReadTensor(labelsFile);
        if (input.Dims.Count < 1 || input.Dims.Any(d => d <= 0))
            throw new OnnxRevException($"Test-data file '{inputFile}' has shape [{string.Join(",", input.Dims)}]; features need a batch dimension and no empty dimension.");
        long samples = input.Dims[0];
        bool labelShapeOk = labelTensor.Dims.Count == 1 && labelTensor.Dims[0] == samples
            || labelTensor.Dims.Count == 2 && labelTensor.Dims[0] == samples && labelTensor.Dims[1] == 1;
        if (!labelShapeOk)
            throw new OnnxRevException(
                $"Labels '{labelsFile}' have shape [{string.Join(",", labelTensor.Dims)}]; expected [{samples}] class indices, one per sample of '{inputFile}'.");

        int count = (int)Math.Min(samples, maxSamples ?? int.MaxValue);
        int[] shape = input.Dims.Count == 1 ? [1] : input.Dims.Skip(1).Select(d => checked((int)d)).ToArray();
        float[] all = ToFloats(input, inputFile, scale);
        long perSample = all.Length / samples;
        float[] features = count == samples ? all : all[..(int)(count * perSample)];
        long[] labels = ToLabels(labelTensor, labelsFile)[..count];
        return new RawData(features, labels, shape, folder, i => $"sample {i} of '{labelsFile}'");
    }

    private static TensorProto ReadTensor(string file)
    {
        try
        {
            return TensorProto.Parser.ParseFrom(File.ReadAllBytes(file));
        }
        catch (InvalidProtocolBufferException e)
        {
            throw new OnnxRevException($"Test-data file '{file}' is not a valid serialized tensor ({e.Message.TrimEnd('.')}).", e);
        }
        catch (IOException e)
        {
            throw new OnnxRevException($"Test-data file '{file}' cannot be read ({e.Message.TrimEnd('.')}).", e);
        }
    }

    private static float[] ToFloats(TensorProto t, string file, float scale)
    {
        if (t.DataType == (int)DT.String) throw new OnnxRevException($"Test-data file '{file}' holds strings, not numeric features.");
        byte[] b = TensorProtoData.GetBytes(t);
        int size = t.DataType switch
        {
            (int)DT.Float or (int)DT.Int32 or (int)DT.Uint32 => 4,
            (int)DT.Double or (int)DT.Int64 => 8,
            (int)DT.Float16 or (int)DT.Int16 or (int)DT.Uint16 => 2,
            (int)DT.Uint8 or (int)DT.Int8 or (int)DT.Bool => 1,
            _ => throw new OnnxRevException(
                $"Test-data file '{file}' holds {ElementTypes.Name(t.DataType)} features; expected a float or integer tensor."),
        };
        var result = new float[b.Length / size];
        var s = b.AsSpan();
        for (int i = 0; i < result.Length; i++)
        {
            var e = s[(i * size)..];
            float v = (DT)t.DataType switch
            {
                DT.Float => BinaryPrimitives.ReadSingleLittleEndian(e),
                DT.Double => (float)BinaryPrimitives.ReadDoubleLittleEndian(e),
                DT.Float16 => (float)BinaryPrimitives.ReadHalfLittleEndian(e),
                DT.Int32 => BinaryPrimitives.ReadInt32LittleEndian(e),
                DT.Uint32 => BinaryPrimitives.ReadUInt32LittleEndian(e),
                DT.Int64 => BinaryPrimitives.ReadInt64LittleEndian(e),
                DT.Int16 => BinaryPrimitives.ReadInt16LittleEndian(e),
                DT.Uint16 => BinaryPrimitives.ReadUInt16LittleEndian(e),
                DT.Int8 => (sbyte)e[0],
                _ => e[0],
            };
            if (!float.IsFinite(v)) throw new OnnxRevException($"Test-data file '{file}' has a non-finite feature at element {i}.");
            result[i] = v * scale;
        }
        return result;
    }

    private static long[] ToLabels(TensorProto t, string file)
    {
        int size = t.DataType switch
        {
            (int)DT.Int64 => 8,
            (int)DT.Int32 or (int)DT.Uint32 => 4,
            (int)DT.Int16 or (int)DT.Uint16 => 2,
            (int)DT.Int8 or (int)DT.Uint8 => 1,
            _ => throw new OnnxRevException(
                $"Labels '{file}' are {ElementTypes.Name(t.DataType)}; class labels must be an integer tensor (int64, int32, …)."),
        };
        byte[] b = TensorProtoData.GetBytes(t);
        var labels = new long[b.Length / size];
        var s = b.AsSpan();
        for (int i = 0; i < labels.Length; i++)
        {
            var e = s[(i * size)..];
            labels[i] = (DT)t.DataType switch
            {
                DT.Int64 => BinaryPrimitives.ReadInt64LittleEndian(e),
                DT.Int32 => BinaryPrimitives.ReadInt32LittleEndian(e),
                DT.Uint32 => BinaryPrimitives.ReadUInt32LittleEndian(e),
                DT.Int16 => BinaryPrimitives.ReadInt16LittleEndian(e),
                DT.Uint16 => BinaryPrimitives.ReadUInt16LittleEndian(e),
                DT.Int8 => (sbyte)e[0],
                _ => e[0],
            };
        }
        return labels;
    }
}
