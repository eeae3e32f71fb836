using Google.Protobuf;
using OnnxRev.Ir;
using OnnxRev.Schema;

namespace OnnxRev.Serialization;

/// <summary>Where tensor data goes when a model is written.</summary>
public enum ExternalDataPolicy
{
    /// <summary>External tensors stay external (in the new model's data file), inline ones stay inline; models that would pass 2 GiB move large tensors out.</summary>
    Keep,
    /// <summary>Every tensor inline (fails for models over 2 GiB).</summary>
    Inline,
    /// <summary>Every tensor of at least <see cref="WriteOptions.ExternalThreshold"/> bytes external.</summary>
    Externalize,
}

/// <summary>Options for <see cref="ModelWriter.Save"/>.</summary>
/// <param name="ExternalData">Where tensor data goes.</param>
/// <param name="ExternalThreshold">Smallest tensor (bytes) that <see cref="ExternalDataPolicy.Externalize"/> moves out.</param>
/// <param name="DataFileName">Name of the data file beside the model; default "MODEL_FILE.data".</param>
public sealed record WriteOptions(ExternalDataPolicy ExternalData = ExternalDataPolicy.Keep, long ExternalThreshold = 1024, string? DataFileName = null);

/// <summary>
/// Writes the IR back to ONNX. Everything read is written back (doc strings, metadata, functions,
/// value_info, unknown fields). Files are written atomically: to a temporary file in the target
/// folder, renamed into place only when complete, so a failure never leaves a partial file or
/// changes an existing one. External data is streamed tensor by tensor.
/// </summary>
public static class ModelWriter
{
    private const long ProtobufLimit = int.MaxValue;
    private const long AutoExternalizeAbove = 1L << 30;

    /// <summary>The model as one self-contained ModelProto (external data loaded inline).</summary>
    public static ModelProto ToProto(Model model) => ProtoBuilder.Build(model, t => t.IsExternal ? t.ToInlineProto() : t.Proto);

    /// <summary>The model serialized to bytes, all data inline.</summary>
    public static byte[] ToBytes(Model model)
    {
        long inline = AllTensors(model).Sum(t => t.ByteSize);
        if (inline >= ProtobufLimit)
            throw new OnnxRevException($"the model holds {inline} bytes of weights, more than one protobuf message can (2 GiB); save it to a file with external data");
        using var ms = new MemoryStream();
        ToProto(model).WriteTo(ms);
        return ms.ToArray();
    }

    /// <summary>Writes the model to <paramref name="path"/> (and its data file, if any) atomically.</summary>
    public static void Save(Model model, string path, WriteOptions? options = null)
    {
        options ??= new WriteOptions();
        string full = Path.GetFullPath(path);
        string dir = Path.GetDirectoryName(full)!;
        if (!Directory.Exists(dir)) throw new OnnxRevException($"output folder '{dir}' does not exist");
        if (Directory.Exists(full)) throw new OnnxRevException($"output '{path}' is a folder; give a file name");
        string dataName = options.DataFileName ?? Path.GetFileName(full) + ".data";
        if (dataName.Contains('/') || dataName.Contains('\\') || dataName == "." || dataName == "..")
            throw new OnnxRevException($"data file name '{dataName}' must be a plain file name inside the model's folder");
        string dataPath = Path.Combine(dir, dataName);

        var policy = options.ExternalData;
        long threshold = options.ExternalThreshold;
        var tensors = AllTensors(model).ToList();
        if (policy == ExternalDataPolicy.Keep && tensors.Where(t => !t.IsExternal).Sum(t => t.ByteSize) > AutoExternalizeAbove)
            policy = ExternalDataPolicy.Externalize;
        if (policy == ExternalDataPolicy.Inline && tensors.Sum(t => t.ByteSize) >= ProtobufLimit)
            throw new OnnxRevException($"'{path}': the model's weights exceed 2 GiB and cannot be written inline; write them as external data");

        string tmpModel = Path.Combine(dir, $".{Path.GetFileName(full)}.{Guid.NewGuid():N}.tmp");
        string tmpData = Path.Combine(dir, $".{dataName}.{Guid.NewGuid():N}.tmp");
        FileStream? data = null;
        var rebinds = new List<(Tensor Tensor, TensorProto Header, ExternalDataLocation Location)>();
        try
        {
            TensorProto WriteTensor(Tensor t)
            {
                bool external = policy switch
                {
                    ExternalDataPolicy.Inline => false,
                    ExternalDataPolicy.Keep => t.IsExternal,
                    _ => t.ByteSize >= threshold && t.DataType != (int)TensorProto.Types.DataType.String,
                };
                if (!external) return t.IsExternal ? t.ToInlineProto() : t.Proto;
                data ??= new FileStream(tmpData, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 20);
                long align = t.ByteSize >= 65536 ? 4096 : 64;
                long pad = (align - data.Position % align) % align;
                if (pad > 0) data.Write(new byte[pad]);
                long offset = data.Position;
                t.CopyRawTo(data);
                long length = data.Position - offset;
                var header = t.Proto.Clone();
                header.RawData = ByteString.Empty;
                header.FloatData.Clear(); header.Int32Data.Clear(); header.Int64Data.Clear();
                header.DoubleData.Clear(); header.Uint64Data.Clear(); header.StringData.Clear();
                header.ExternalData.Clear();
                header.ExternalData.Add(new StringStringEntryProto { Key = "location", Value = dataName });
                header.ExternalData.Add(new StringStringEntryProto { Key = "offset", Value = offset.ToString(System.Globalization.CultureInfo.InvariantCulture) });
                header.ExternalData.Add(new StringStringEntryProto { Key = "length", Value = length.ToString(System.Globalization.CultureInfo.InvariantCulture) });
                header.DataLocation = TensorProto.Types.DataLocation.External;
                rebinds.Add((t, header, new ExternalDataLocation(dataPath, dataName, offset, length)));
                return header;
            }

            var proto = ProtoBuilder.Build(model, WriteTensor);
            using (var fs = new FileStream(tmpModel, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 20))
            {
                proto.WriteTo(fs);
                fs.Flush(flushToDisk: true);
            }
            if (data is not null)
            {
                data.Flush(flushToDisk: true);
                data.Dispose();
                data = null;
                File.Move(tmpData, dataPath, overwrite: true);
            }
            File.Move(tmpModel, full, overwrite: true);
        }
        catch (Exception e)
        {
            data?.Dispose();
            TryDelete(tmpData);
            TryDelete(tmpModel);
            if (e is IOException or UnauthorizedAccessException)
                throw new OnnxRevException($"cannot write '{path}': {e.Message}", e);
            throw;
        }
        // The model in memory now reads its external tensors from the file just written.
        foreach (var (t, header, loc) in rebinds) t.Rebind(header, loc);
        if (rebinds.Count > 0) model.BaseDirectory = dir;
    }

    /// <summary>Every dense initializer tensor of the model, subgraphs included.</summary>
    public static IEnumerable<Tensor> AllTensors(Model model) =>
        model.Graph.AllGraphs().SelectMany(g => g.Initializers).Where(v => v.Initializer is not null).Select(v => v.Initializer!);

    private static void TryDelete(string path)
    {
        try { if (File.Exists(path)) File.Delete(path); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }
}
