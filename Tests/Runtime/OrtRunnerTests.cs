using Google.Protobuf;
using OnnxRev.Runtime;
using OnnxRev.Schema;
using static OnnxRev.Tests.Runtime.TestModels;
using DT = OnnxRev.Schema.TensorProto.Types.DataType;

namespace OnnxRev.Tests.Runtime;

public class OrtRunnerTests
{
    private static readonly RunnerOptions NoOpt = new() { OptimizationLevel = OptimizationLevel.None };

    [Test]
    public void Add_ComputesElementwiseSum_AndNamesTheRawOutput()
    {
        using var runner = new OrtRunner(AddModel(), NoOpt);
        var outputs = runner.Run(new Dictionary<string, DataValue>
        {
            ["X"] = DataValue.Tensor(Floats("X", [2, 3], 1, 2, 3, 4, 5, 6)),
            ["Y"] = DataValue.Tensor(Floats("Y", [2, 3], 0.5f, -2, 10, 0, 1e-3f, -6)),
        });

        Assert.That(outputs.Keys, Is.EqualTo(new[] { "Z" }));
        var z = outputs["Z"].AsTensor();
        Assert.That(z.Name, Is.EqualTo("Z"));
        Assert.That(z.Dims, Is.EqualTo(new long[] { 2, 3 }));
        Assert.That(z.FloatData, Is.Empty, "outputs use raw_data");
        Assert.That(z.RawData.Length, Is.EqualTo(6 * 4));
        Assert.That(ReadFloats(z), Is.EqualTo(new[] { 1.5f, 0f, 13f, 4f, 5.001f, 0f }));
    }

    [Test]
    public void Inputs_And_Outputs_DescribeKindTypeAndSymbolicDims()
    {
        using var runner = new OrtRunner(AddModel(), NoOpt);
        Assert.That(runner.Inputs.Select(i => i.Name), Is.EqualTo(new[] { "X", "Y" }));
        var x = runner.Inputs[0];
        Assert.That(x.Kind, Is.EqualTo(ValueKind.Tensor));
        Assert.That(x.ElementType, Is.EqualTo((int)DT.Float));
        Assert.That(x.Shape, Is.EqualTo(new long?[] { null, 3 }));
        Assert.That(x.DimNames, Is.EqualTo(new string?[] { "N", null }));
        Assert.That(runner.Outputs.Single().TypeString, Is.EqualTo("tensor(float)[N,3]"));
    }

    [Test]
    public void Relu_WithInitializer_And_OutputSelection()
    {
        var bias = Floats("B", [3], -1, 0, 1);
        var model = Model(
            [Node("Add", ["X", "B"], ["S"]), Node("Relu", ["S"], ["R"])],
            [Tensor("X", DT.Float, 3L)],
            [Tensor("S", DT.Float, 3L), Tensor("R", DT.Float, 3L)],
            initializers: [bias]);
        using var runner = new OrtRunner(model.ToByteArray());
        Assert.That(runner.Inputs.Select(i => i.Name), Is.EqualTo(new[] { "X" }), "initializers are not inputs");

        var outputs = runner.Run(new Dictionary<string, DataValue> { ["X"] = DataValue.Tensor(Floats("X", [3], 0.5f, -2, 3)) }, ["R"]);
        Assert.That(outputs.Keys, Is.EqualTo(new[] { "R" }));
        Assert.That(ReadFloats(outputs["R"].AsTensor()), Is.EqualTo(new[] { 0f, 0f, 4f }));
    }

    [Test]
    public void SequenceConstruct_Then_SequenceAt_And_SequenceOutput()
    {
        var model = Model(
            [Node("SequenceConstruct", ["A", "B"], ["Seq"]), Node("SequenceAt", ["Seq", "I"], ["Out"])],
            [Tensor("A", DT.Int64, 2L), Tensor("B", DT.Int64, 2L), Tensor("I", DT.Int64)],
            [Tensor("Out", DT.Int64, 2L), Value("Seq", SequenceType(TensorType(DT.Int64, 2L)))]);
        using var runner = new OrtRunner(model.ToByteArray(), NoOpt);
        Assert.That(runner.Outputs[1].Kind, Is.EqualTo(ValueKind.Sequence));
        Assert.That(runner.Outputs[1].ElementType, Is.EqualTo((int)DT.Int64));

        var outputs = runner.Run(new Dictionary<string, DataValue>
        {
            ["A"] = DataValue.Tensor(Int64s("A", [2], 1, 2)),
            ["B"] = DataValue.Tensor(Int64s("B", [2], 30, 40)),
            ["I"] = DataValue.Tensor(Int64s("I", [], -1)),
        });
        Assert.That(ReadInt64s(outputs["Out"].AsTensor()), Is.EqualTo(new long[] { 30, 40 }));
        var seq = outputs["Seq"].AsSequence();
        Assert.That(seq, Has.Count.EqualTo(2));
        Assert.That(ReadInt64s(seq[0].AsTensor()), Is.EqualTo(new long[] { 1, 2 }));
        Assert.That(ReadInt64s(seq[1].AsTensor()), Is.EqualTo(new long[] { 30, 40 }));
    }

    [Test]
    public void SequenceInput_IsPassedAsOrtSequence()
    {
        var model = Model(
            [Node("SequenceLength", ["S"], ["L"]), Node("ConcatFromSequence", ["S"], ["C"],
                new AttributeProto { Name = "axis", Type = AttributeProto.Types.AttributeType.Int, I = 0 })],
            [Value("S", SequenceType(TensorType(DT.Float, "K")))],
            [Tensor("L", DT.Int64), Tensor("C", DT.Float, "M")]);
        using var runner = new OrtRunner(model.ToByteArray(), NoOpt);
        Assert.That(runner.Inputs[0].Kind, Is.EqualTo(ValueKind.Sequence));

        var outputs = runner.Run(new Dictionary<string, DataValue>
        {
            ["S"] = DataValue.Sequence([DataValue.Tensor(Floats("", [2], 1, 2)), DataValue.Tensor(Floats("", [1], 3)), DataValue.Tensor(Floats("", [0]))]),
        });
        Assert.That(ReadInt64s(outputs["L"].AsTensor()), Is.EqualTo(new long[] { 3 }));
        Assert.That(ReadFloats(outputs["C"].AsTensor()), Is.EqualTo(new[] { 1f, 2f, 3f }));
    }

    [Test]
    public void StringIdentity_RoundTripsUtf8()
    {
        var model = Model([Node("Identity", ["S"], ["T"])], [Tensor("S", DT.String, 3L)], [Tensor("T", DT.String, 3L)]);
        using var runner = new OrtRunner(model.ToByteArray(), NoOpt);
        var outputs = runner.Run(new Dictionary<string, DataValue> { ["S"] = DataValue.Tensor(Strings("S", [3], "abc", "", "größe ✓")) });
        var t = outputs["T"].AsTensor();
        Assert.That(t.DataType, Is.EqualTo((int)DT.String));
        Assert.That(t.StringData.Select(s => s.ToStringUtf8()), Is.EqualTo(new[] { "abc", "", "größe ✓" }));
    }

    [Test]
    public void OptionalOutput_IsRefusedClearly_OtherOutputsStillRun()
    {
        // ONNX Runtime 1.31 segfaults in GetValueType on a None optional output; the runner must refuse, not crash.
        var floatType = TensorType(DT.Float, 2L);
        var model = Model(
            [Node("Optional", [], ["Empty"], new AttributeProto { Name = "type", Type = AttributeProto.Types.AttributeType.TypeProto, Tp = floatType }),
             Node("Relu", ["X"], ["R"])],
            [Tensor("X", DT.Float, 2L)],
            [Value("Empty", OptionalType(floatType)), Tensor("R", DT.Float, 2L)],
            opset: 18);
        using var runner = new OrtRunner(model.ToByteArray(), NoOpt, "opt.onnx");
        Assert.That(runner.Outputs[0].Kind, Is.EqualTo(ValueKind.Optional));
        Assert.That(runner.Outputs[0].Element!.Kind, Is.EqualTo(ValueKind.Tensor));
        Assert.That(runner.Outputs[0].TypeString, Is.EqualTo("optional(tensor(float)[2])"));

        var inputs = new Dictionary<string, DataValue> { ["X"] = DataValue.Tensor(Floats("X", [2], -7, 8)) };
        var e = Assert.Throws<OnnxRevException>(() => runner.Run(inputs));
        Assert.That(e!.Message, Does.Contain("'Empty'").And.Contain("optional"));
        Assert.That(ReadFloats(runner.Run(inputs, ["R"])["R"].AsTensor()), Is.EqualTo(new[] { 0f, 8f }));
    }

    [Test]
    public void MissingInput_And_UnknownInput_AreNamed()
    {
        using var runner = new OrtRunner(AddModel(), NoOpt, "add.onnx");
        var x = DataValue.Tensor(Floats("X", [1, 3], 1, 2, 3));
        var missing = Assert.Throws<OnnxRevException>(() => runner.Run(new Dictionary<string, DataValue> { ["X"] = x }));
        Assert.That(missing!.Message, Does.Contain("'Y'").And.Contain("add.onnx"));

        var extra = Assert.Throws<OnnxRevException>(() => runner.Run(new Dictionary<string, DataValue> { ["X"] = x, ["Y"] = x, ["W"] = x }));
        Assert.That(extra!.Message, Does.Contain("'W'"));

        var badOutput = Assert.Throws<OnnxRevException>(() => runner.Run(new Dictionary<string, DataValue> { ["X"] = x, ["Y"] = x }, ["Q"]));
        Assert.That(badOutput!.Message, Does.Contain("'Q'"));
    }

    [Test]
    public void WrongInputType_AtRunTime_IsAnOnnxRevException()
    {
        using var runner = new OrtRunner(AddModel(), NoOpt, "add.onnx");
        var x = DataValue.Tensor(Floats("X", [1, 3], 1, 2, 3));
        var ints = DataValue.Tensor(Int64s("Y", [1, 3], 1, 2, 3));
        var e = Assert.Throws<OnnxRevException>(() => runner.Run(new Dictionary<string, DataValue> { ["X"] = x, ["Y"] = ints }));
        Assert.That(e!.Message, Does.StartWith("ONNX Runtime failed to run model 'add.onnx'"));
    }

    [Test]
    public void CorruptModelFile_IsAnOnnxRevExceptionNamingTheFile()
    {
        string path = Path.Combine(Path.GetTempPath(), $"onnxrev-corrupt-{Guid.NewGuid():N}.onnx");
        File.WriteAllBytes(path, [0x08, 0x07, 0xFF, 0xFF, 0x12, 0x99, 0x01, 0x02]);
        try
        {
            var e = Assert.Throws<OnnxRevException>(() => new OrtRunner(path));
            Assert.That(e!.Message, Does.Contain(Path.GetFileName(path)));
            Assert.That(e.Message, Does.Not.Contain("\n"));
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Test]
    public void MissingModelFile_IsAnOnnxRevException()
    {
        var e = Assert.Throws<OnnxRevException>(() => new OrtRunner("/nonexistent/dir/model.onnx"));
        Assert.That(e!.Message, Does.Contain("model.onnx"));
    }

    [Test]
    public void UnknownOp_IsAnOnnxRevExceptionWithOrtsFirstLine()
    {
        var model = Model([Node("NoSuchOperator", ["X"], ["Y"])], [Tensor("X", DT.Float, 2L)], [Tensor("Y", DT.Float, 2L)]);
        var e = Assert.Throws<OnnxRevException>(() => new OrtRunner(model.ToByteArray(), NoOpt, "bad-op.onnx"));
        Assert.That(e!.Message, Does.Contain("bad-op.onnx").And.Contain("NoSuchOperator"));
        Assert.That(e.Message, Does.Not.Contain("\n"));
    }

    [Test]
    public void TypeError_IsAnOnnxRevException()
    {
        var model = Model([Node("Add", ["X", "Y"], ["Z"])], [Tensor("X", DT.Float, 2L), Tensor("Y", DT.Int64, 2L)], [Tensor("Z", DT.Float, 2L)]);
        var e = Assert.Throws<OnnxRevException>(() => new OrtRunner(model.ToByteArray(), NoOpt, "mixed.onnx"));
        Assert.That(e!.Message, Does.Contain("mixed.onnx"));
    }

    [Test]
    public void CudaRequest_OnCpuPackage_GivesClearError()
    {
        if (Microsoft.ML.OnnxRuntime.OrtEnv.Instance().GetAvailableProviders().Contains("CUDAExecutionProvider"))
            Assert.Ignore("This ONNX Runtime build has CUDA.");
        var e = Assert.Throws<OnnxRevException>(() => new OrtRunner(AddModel(), new RunnerOptions { Device = ExecutionDevice.Cuda }));
        Assert.That(e!.Message, Does.StartWith("CUDA was requested but this build of ONNX Runtime has no CUDA execution provider ("));
    }

    [Test]
    public void Options_WriteOptimizedModel_AndAcceptThreadsAndDisabledOptimizers()
    {
        string path = Path.Combine(Path.GetTempPath(), $"onnxrev-opt-{Guid.NewGuid():N}.onnx");
        try
        {
            var options = new RunnerOptions
            {
                OptimizationLevel = OptimizationLevel.Basic,
                IntraOpThreads = 1,
                DisabledOptimizers = ["ConstantFolding", "CommonSubexpressionElimination"],
                OptimizedModelPath = path,
                EnableMemoryPattern = false,
            };
            using var runner = new OrtRunner(AddModel(), options);
            Assert.That(File.Exists(path), Is.True);
            var written = ModelProto.Parser.ParseFrom(File.ReadAllBytes(path));
            Assert.That(written.Graph.Node.Select(n => n.OpType), Does.Contain("Add"));
        }
        finally
        {
            File.Delete(path);
        }
    }
}
