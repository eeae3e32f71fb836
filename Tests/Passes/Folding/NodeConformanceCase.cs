using OnnxRev.Passes.Cleanup.Folding;
using OnnxRev.Schema;

namespace OnnxRev.Tests.Passes.Folding;

/// <summary>
/// One single-node case folder of the ONNX backend test data (.cache/libonnx-testdata/node/test_*):
/// the node, its opset and every test_data_set_* with inputs and expected outputs.
/// </summary>
public sealed class NodeConformanceCase
{
    private NodeConformanceCase(string name, string folder, NodeProto node, int opset, ModelProto model)
    {
        Name = name;
        Folder = folder;
        Node = node;
        Opset = opset;
        Model = model;
    }

    /// <summary>The folder name, e.g. test_add_bcast.</summary>
    public string Name { get; }

    public string Folder { get; }

    public NodeProto Node { get; }

    public int Opset { get; }

    public ModelProto Model { get; }

    public override string ToString() => Name;

    /// <summary>The node test data folder, or null when tools/fetch-testdata.sh has not been run.</summary>
    public static string? DataRoot()
    {
        string? dir = TestContext.CurrentContext.TestDirectory;
        while (dir is not null && !File.Exists(Path.Combine(dir, "OnnxRev.sln"))) dir = Path.GetDirectoryName(dir);
        if (dir is null) return null;
        string node = Path.Combine(dir, ".cache", "libonnx-testdata", "node");
        return Directory.Exists(node) ? node : null;
    }

    /// <summary>Every case whose model is one node of an op the evaluator lists as supported, with only tensor
    /// inputs and outputs.</summary>
    public static IReadOnlyList<NodeConformanceCase> Discover()
    {
        string? root = DataRoot();
        if (root is null) return [];
        var cases = new List<NodeConformanceCase>();
        foreach (string folder in Directory.GetDirectories(root).Order(StringComparer.Ordinal))
        {
            string modelPath = Path.Combine(folder, "model.onnx");
            if (!File.Exists(modelPath)) continue;
            ModelProto model = ModelProto.Parser.ParseFrom(File.ReadAllBytes(modelPath));
            GraphProto g = model.Graph;
            if (g is null || g.Node.Count != 1) continue;
            NodeProto node = g.Node[0];
            if (!ConstantEvaluator.Supports(node.OpType, node.Domain)) continue;
            bool allTensors = g.Input.Concat(g.Output).All(v => v.Type?.ValueCase == TypeProto.ValueOneofCase.TensorType);
            if (!allTensors) continue;
            int opset = (int)model.OpsetImport.Where(o => o.Domain is "" or "ai.onnx").Select(o => o.Version).DefaultIfEmpty(1).Max();
            cases.Add(new NodeConformanceCase(Path.GetFileName(folder), folder, node, opset, model));
        }
        return cases;
    }

    /// <summary>The test_data_set_* folders.</summary>
    public IEnumerable<string> DataSets() =>
        Directory.GetDirectories(Folder, "test_data_set_*").Order(StringComparer.Ordinal);

    /// <summary>The node's inputs for one data set: graph inputs come from input_N.pb in graph-input order,
    /// initializers from the model; an empty node input name is an omitted optional input.</summary>
    public HostTensor?[] Inputs(string dataSet)
    {
        var byName = new Dictionary<string, HostTensor>(StringComparer.Ordinal);
        foreach (TensorProto init in Model.Graph.Initializer) byName[init.Name] = HostTensor.FromProto(init);
        var graphInputs = Model.Graph.Input.Where(v => !Model.Graph.Initializer.Any(i => i.Name == v.Name)).ToList();
        for (int i = 0; i < graphInputs.Count; i++)
        {
            string path = Path.Combine(dataSet, $"input_{i}.pb");
            if (File.Exists(path)) byName[graphInputs[i].Name] = ReadTensor(path, graphInputs[i]);
        }
        return Node.Input.Select(n => n.Length == 0 ? null
            : byName.TryGetValue(n, out HostTensor? t) ? t
            : throw new InvalidOperationException($"{Name}: no data for node input '{n}'")).ToArray();
    }

    /// <summary>Expected outputs for one data set, in node output order (null where the data set has none).</summary>
    public HostTensor?[] ExpectedOutputs(string dataSet)
    {
        var result = new HostTensor?[Node.Output.Count];
        for (int i = 0; i < Model.Graph.Output.Count; i++)
        {
            string path = Path.Combine(dataSet, $"output_{i}.pb");
            int slot = Node.Output.IndexOf(Model.Graph.Output[i].Name);
            if (slot >= 0 && File.Exists(path)) result[slot] = ReadTensor(path, Model.Graph.Output[i]);
        }
        return result;
    }

    /// <summary>Reads a data file. ONNX 1.12's generator stored bfloat16 data as uint16 (numpy has no bfloat16);
    /// such tensors are relabelled with the type the model declares.</summary>
    private static HostTensor ReadTensor(string path, ValueInfoProto declared)
    {
        HostTensor t = HostTensor.FromProto(TensorProto.Parser.ParseFrom(File.ReadAllBytes(path)));
        bool bf16 = declared.Type.TensorType.ElemType == OnnxDataType.BFloat16 && t.DataType == OnnxDataType.UInt16;
        return bf16 ? new HostTensor(OnnxDataType.BFloat16, t.Dims, t.Data) : t;
    }
}
