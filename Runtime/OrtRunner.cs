using Microsoft.ML.OnnxRuntime;

namespace OnnxRev.Runtime;

/// <summary>
/// An ONNX Runtime inference session over one model, fed and read through <see cref="DataValue"/>s.
/// Not thread-safe; dispose it to free the native session.
/// </summary>
public sealed class OrtRunner : IDisposable
{
    private const string CudaProvider = "CUDAExecutionProvider";
    private readonly InferenceSession _session;
    private bool _disposed;

    /// <summary>Loads the model at <paramref name="modelPath"/>.</summary>
    /// <exception cref="OnnxRevException">The file is missing or ONNX Runtime rejects the model or options.</exception>
    public OrtRunner(string modelPath, RunnerOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(modelPath);
        ModelName = Path.GetFileName(modelPath);
        if (!File.Exists(modelPath)) throw new OnnxRevException($"Model file '{modelPath}' does not exist.");
        _session = CreateSession(options ?? new RunnerOptions(), so => new InferenceSession(modelPath, so));
        (Inputs, Outputs) = ReadIo();
    }

    /// <summary>Loads a serialized model; <paramref name="modelName"/> is used in error messages.</summary>
    /// <exception cref="OnnxRevException">ONNX Runtime rejects the model or options.</exception>
    public OrtRunner(byte[] model, RunnerOptions? options = null, string modelName = "<in-memory model>")
    {
        ArgumentNullException.ThrowIfNull(model);
        ModelName = modelName;
        _session = CreateSession(options ?? new RunnerOptions(), so => new InferenceSession(model, so));
        (Inputs, Outputs) = ReadIo();
    }

    /// <summary>The model's file name (or the name given for an in-memory model).</summary>
    public string ModelName { get; }

    /// <summary>The model inputs ONNX Runtime expects, in graph order (initializers excluded).</summary>
    public IReadOnlyList<IoInfo> Inputs { get; }

    /// <summary>The model outputs, in graph order.</summary>
    public IReadOnlyList<IoInfo> Outputs { get; }

    /// <summary>The underlying session (for allocator statistics and the like).</summary>
    internal InferenceSession Session => _disposed ? throw new ObjectDisposedException(nameof(OrtRunner)) : _session;

    /// <summary>
    /// Runs the model. Every model input must be given (an optional input may be <see cref="DataValue.None"/>);
    /// returns the requested outputs (all when <paramref name="outputNames"/> is null) in the requested order.
    /// </summary>
    /// <exception cref="OnnxRevException">An input is missing or unknown, or ONNX Runtime rejects the inputs.</exception>
    public OrderedDictionary<string, DataValue> Run(IReadOnlyDictionary<string, DataValue> inputs, IReadOnlyList<string>? outputNames = null)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        var session = Session;
        foreach (string name in inputs.Keys)
        {
            if (!Inputs.Any(i => i.Name == name))
                throw new OnnxRevException($"Input '{name}' is not an input of model '{ModelName}' (its inputs: {NameList(Inputs)}).");
        }
        var wanted = outputNames ?? Outputs.Select(o => o.Name).ToArray();
        var outputInfos = wanted.Select(n => Outputs.FirstOrDefault(o => o.Name == n)
            ?? throw new OnnxRevException($"Output '{n}' is not an output of model '{ModelName}' (its outputs: {NameList(Outputs)}).")).ToArray();
        if (outputInfos.FirstOrDefault(o => o.Kind == ValueKind.Optional) is { } optional)
        {
            // ONNX Runtime 1.31's GetValueType dereferences null for an optional output holding None, and the
            // managed Run calls it on every output, which kills the process; refuse rather than crash.
            throw new OnnxRevException($"Output '{optional.Name}' of model '{ModelName}' is an optional, which OnnxRev cannot fetch " +
                "because ONNX Runtime crashes when such an output is None; request the other outputs by name.");
        }

        var feedNames = new List<string>();
        var feeds = new List<OrtValue>();
        try
        {
            foreach (var input in Inputs)
            {
                if (!inputs.TryGetValue(input.Name, out var value))
                    throw new OnnxRevException($"Input '{input.Name}' of model '{ModelName}' was not given a value.");
                if (!value.HasValue) continue; // None: leave the optional input unfed.
                feeds.Add(TensorConversion.ToOrtValue(value, input.Name));
                feedNames.Add(input.Name);
            }

            using var runOptions = new RunOptions();
            using var results = RunSession(session, runOptions, feedNames, feeds, wanted);
            var outputs = new OrderedDictionary<string, DataValue>();
            int k = 0;
            foreach (var result in results)
            {
                var info = outputInfos[k++];
                outputs[info.Name] = ToOutput(result, info);
            }
            return outputs;
        }
        finally
        {
            foreach (var f in feeds) f.Dispose();
        }
    }

    /// <summary>Frees the native session.</summary>
    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        _session.Dispose();
    }

    private IDisposableReadOnlyCollection<OrtValue> RunSession(InferenceSession session, RunOptions runOptions,
        List<string> feedNames, List<OrtValue> feeds, IReadOnlyList<string> wanted)
    {
        try
        {
            return session.Run(runOptions, feedNames, feeds, wanted.ToArray());
        }
        catch (OnnxRuntimeException e)
        {
            throw OrtErrors.RunFailed(ModelName, e);
        }
    }

    private static DataValue ToOutput(OrtValue value, IoInfo info) => TensorConversion.ToDataValue(value, info.Name);

    private InferenceSession CreateSession(RunnerOptions options, Func<SessionOptions, InferenceSession> create)
    {
        using var so = new SessionOptions();
        so.LogSeverityLevel = OrtLoggingLevel.ORT_LOGGING_LEVEL_ERROR;
        so.GraphOptimizationLevel = options.OptimizationLevel switch
        {
            OptimizationLevel.None => GraphOptimizationLevel.ORT_DISABLE_ALL,
            OptimizationLevel.Basic => GraphOptimizationLevel.ORT_ENABLE_BASIC,
            OptimizationLevel.Extended => GraphOptimizationLevel.ORT_ENABLE_EXTENDED,
            _ => GraphOptimizationLevel.ORT_ENABLE_ALL,
        };
        if (options.IntraOpThreads is int threads)
        {
            if (threads < 0) throw new OnnxRevException($"The intra-op thread count must be 0 (default) or positive, not {threads}.");
            so.IntraOpNumThreads = threads;
        }
        if (options.DisabledOptimizers.Count > 0)
            so.AddSessionConfigEntry("optimization.disable_specified_optimizers", string.Join(",", options.DisabledOptimizers));
        foreach (var (key, value) in options.ConfigEntries) so.AddSessionConfigEntry(key, value);
        if (options.OptimizedModelPath is not null) so.OptimizedModelFilePath = options.OptimizedModelPath;
        so.EnableMemoryPattern = options.EnableMemoryPattern;
        if (options.Device == ExecutionDevice.Cuda) AppendCuda(so);

        try
        {
            return create(so);
        }
        catch (OnnxRuntimeException e)
        {
            throw OrtErrors.LoadFailed(ModelName, e);
        }
    }

    private static void AppendCuda(SessionOptions so)
    {
        string[] available = OrtEnv.Instance().GetAvailableProviders();
        if (!available.Contains(CudaProvider))
            throw new OnnxRevException("CUDA was requested but this build of ONNX Runtime has no CUDA execution provider " +
                $"(available: {string.Join(", ", available)}; use the Microsoft.ML.OnnxRuntime.Gpu package).");
        try
        {
            so.AppendExecutionProvider_CUDA(0);
        }
        catch (Exception e) when (e is OnnxRuntimeException or EntryPointNotFoundException or DllNotFoundException)
        {
            throw new OnnxRevException($"CUDA was requested but the CUDA execution provider could not be started ({OrtErrors.FirstLine(e)}).", e);
        }
    }

    private (IReadOnlyList<IoInfo>, IReadOnlyList<IoInfo>) ReadIo()
    {
        try
        {
            return (IoInfoReader.Read(_session.InputNames, _session.InputMetadata),
                    IoInfoReader.Read(_session.OutputNames, _session.OutputMetadata));
        }
        catch
        {
            _session.Dispose();
            throw;
        }
    }

    private static string NameList(IReadOnlyList<IoInfo> infos) =>
        infos.Count == 0 ? "none" : string.Join(", ", infos.Select(i => $"'{i.Name}'"));
}
