using Google.Protobuf;
using OnnxRev.Schema;

namespace OnnxRev.Runtime;

/// <summary>The inputs and expected outputs read from one ONNX test-data folder.</summary>
/// <param name="Folder">The folder read.</param>
/// <param name="Inputs">Input values by model input name, in file order.</param>
/// <param name="Outputs">Expected output values by model output name, in file order (may be empty).</param>
public sealed record TestDataSet(string Folder, OrderedDictionary<string, DataValue> Inputs, OrderedDictionary<string, DataValue> Outputs);

/// <summary>
/// Reads and writes ONNX test-data folders (<c>input_0.pb</c>, …, <c>output_0.pb</c>, …). Each file holds a
/// serialized TensorProto, or a SequenceProto / OptionalProto when the model input or output it belongs
/// to has that kind.
/// </summary>
public static class TestDataFolder
{
    /// <summary>Reads a folder for <paramref name="runner"/>'s model.</summary>
    public static TestDataSet Read(string folder, OrtRunner runner)
    {
        ArgumentNullException.ThrowIfNull(runner);
        return Read(folder, runner.Inputs, runner.Outputs);
    }

    /// <summary>
    /// Reads a folder: <c>input_N.pb</c> goes to the model input named in the file when that name is an
    /// input name, otherwise to the N-th input; likewise for <c>output_N.pb</c>.
    /// </summary>
    /// <exception cref="OnnxRevException">The folder or <c>input_0.pb</c> is missing, or a file cannot be read.</exception>
    public static TestDataSet Read(string folder, IReadOnlyList<IoInfo> inputs, IReadOnlyList<IoInfo> outputs)
    {
        ArgumentNullException.ThrowIfNull(folder);
        if (!Directory.Exists(folder)) throw new OnnxRevException($"Test-data folder '{folder}' does not exist.");
        if (inputs.Count > 0 && !File.Exists(Path.Combine(folder, "input_0.pb")))
            throw new OnnxRevException($"Test-data folder '{folder}' has no input_0.pb.");
        return new TestDataSet(folder, ReadAll(folder, "input", inputs), ReadAll(folder, "output", outputs));
    }

    /// <summary>Reads only the expected outputs (<c>output_N.pb</c>) of a folder; fails when there is none.</summary>
    public static OrderedDictionary<string, DataValue> ReadExpectedOutputs(string folder, IReadOnlyList<IoInfo> outputs)
    {
        ArgumentNullException.ThrowIfNull(folder);
        if (!Directory.Exists(folder)) throw new OnnxRevException($"Test-data folder '{folder}' does not exist.");
        var result = ReadAll(folder, "output", outputs);
        if (result.Count == 0) throw new OnnxRevException($"Test-data folder '{folder}' has no output_0.pb to compare with.");
        return result;
    }

    /// <summary>Writes values as <c>input_N.pb</c> files (in the dictionary's order), creating the folder.</summary>
    public static void WriteInputs(string folder, IEnumerable<KeyValuePair<string, DataValue>> inputs) => Write(folder, "input", inputs);

    /// <summary>Writes values as <c>output_N.pb</c> files (in the dictionary's order), creating the folder.</summary>
    public static void WriteOutputs(string folder, IEnumerable<KeyValuePair<string, DataValue>> outputs) => Write(folder, "output", outputs);

    private static OrderedDictionary<string, DataValue> ReadAll(string folder, string prefix, IReadOnlyList<IoInfo> infos)
    {
        var result = new OrderedDictionary<string, DataValue>();
        for (int index = 0; ; index++)
        {
            string file = Path.Combine(folder, $"{prefix}_{index}.pb");
            if (!File.Exists(file)) break;
            if (index >= infos.Count)
                throw new OnnxRevException($"Test-data file '{file}' has no matching model {prefix}: the model has {infos.Count} {prefix}s.");
            byte[] bytes = File.ReadAllBytes(file);
            var info = infos[index];
            var (value, storedName) = Parse(bytes, info, file);
            if (storedName.Length > 0 && storedName != info.Name && infos.FirstOrDefault(i => i.Name == storedName) is { } named)
            {
                // The file names another model input/output: it belongs there, so read it by that one's kind.
                info = named;
                (value, _) = Parse(bytes, info, file);
            }
            if (result.ContainsKey(info.Name))
                throw new OnnxRevException($"Test-data file '{file}' gives model {prefix} '{info.Name}' a second value.");
            result[info.Name] = value;
        }
        return result;
    }

    /// <summary>Parses a file as the container its input/output kind calls for; returns the value and the name stored in it.</summary>
    private static (DataValue Value, string Name) Parse(byte[] bytes, IoInfo info, string file)
    {
        try
        {
            switch (info.Kind)
            {
                case ValueKind.Tensor:
                    var tensor = TensorProto.Parser.ParseFrom(bytes);
                    return (DataValue.Tensor(tensor), tensor.Name);
                case ValueKind.Sequence:
                    var sequence = SequenceProto.Parser.ParseFrom(bytes);
                    return (DataValueProtos.FromSequence(sequence), sequence.Name);
                case ValueKind.Optional:
                    var optional = OptionalProto.Parser.ParseFrom(bytes);
                    return (DataValueProtos.FromOptional(optional), optional.Name);
                default:
                    throw new OnnxRevException($"Test-data file '{file}' is for map '{info.Name}', which OnnxRev does not support.");
            }
        }
        catch (InvalidProtocolBufferException e)
        {
            throw new OnnxRevException($"Test-data file '{file}' is not a valid serialized {info.Kind.ToString().ToLowerInvariant()} ({e.Message.TrimEnd('.')}).", e);
        }
    }

    private static void Write(string folder, string prefix, IEnumerable<KeyValuePair<string, DataValue>> values)
    {
        ArgumentNullException.ThrowIfNull(folder);
        ArgumentNullException.ThrowIfNull(values);
        Directory.CreateDirectory(folder);
        int index = 0;
        foreach (var (name, value) in values)
        {
            IMessage proto = value.Kind switch
            {
                DataValueKind.Tensor => WithName(value.TensorValue!, name),
                DataValueKind.Sequence => DataValueProtos.ToSequence(value, name),
                _ => DataValueProtos.ToOptional(value, name),
            };
            File.WriteAllBytes(Path.Combine(folder, $"{prefix}_{index++}.pb"), proto.ToByteArray());
        }
    }

    private static TensorProto WithName(TensorProto tensor, string name)
    {
        if (tensor.Name == name) return tensor;
        var copy = tensor.Clone();
        copy.Name = name;
        return copy;
    }
}
