using OnnxRev.Runtime;
using OnnxRev.Tests.Support;

namespace OnnxRev.Tests.Runtime;

public class TestDataFolderTests
{
    [TestCase("test_add")]
    [TestCase("test_relu")]
    [TestCase("test_sequence_insert_at_back")]
    [TestCase("test_identity_sequence")]
    [TestCase("test_optional_get_element")]
    [TestCase("test_optional_get_element_sequence")]
    public void ConformanceCase_RunsAndMatchesExpectedOutputs(string name)
    {
        string dir = RepoPaths.NodeTest(name);
        using var runner = new OrtRunner(Path.Combine(dir, "model.onnx"));
        var data = TestDataFolder.Read(Path.Combine(dir, "test_data_set_0"), runner);
        Assert.That(data.Inputs.Keys, Is.EquivalentTo(runner.Inputs.Select(i => i.Name)));
        Assert.That(data.Outputs, Is.Not.Empty);

        var actual = runner.Run(data.Inputs);
        var result = OutputComparison.Compare(actual, data.Outputs, rtol: 1e-3, atol: 1e-7);
        Assert.That(result.Ok, Is.True, result.Reason);
    }

    [Test]
    public void SequenceInputs_AreReadAsSequenceProtos_ByIoKind()
    {
        string dir = RepoPaths.NodeTest("test_sequence_insert_at_back");
        using var runner = new OrtRunner(Path.Combine(dir, "model.onnx"));
        var data = TestDataFolder.Read(Path.Combine(dir, "test_data_set_0"), runner);
        Assert.That(data.Inputs[runner.Inputs[0].Name].Kind, Is.EqualTo(DataValueKind.Sequence));
        Assert.That(data.Inputs[runner.Inputs[1].Name].Kind, Is.EqualTo(DataValueKind.Tensor));
        Assert.That(data.Outputs.Values.Single().AsSequence(), Has.Count.GreaterThan(1));
    }

    [Test]
    public void WrittenOutputs_ReadBackIdentically()
    {
        string dir = RepoPaths.NodeTest("test_sequence_insert_at_back");
        using var runner = new OrtRunner(Path.Combine(dir, "model.onnx"));
        var data = TestDataFolder.Read(Path.Combine(dir, "test_data_set_0"), runner);
        var actual = runner.Run(data.Inputs);

        string tmp = Path.Combine(Path.GetTempPath(), $"onnxrev-td-{Guid.NewGuid():N}");
        try
        {
            TestDataFolder.WriteInputs(tmp, data.Inputs);
            TestDataFolder.WriteOutputs(tmp, actual);
            Assert.That(File.Exists(Path.Combine(tmp, "output_0.pb")), Is.True);
            var again = TestDataFolder.Read(tmp, runner);
            Assert.That(OutputComparison.BitIdentical(again.Outputs, actual), Is.True);
            Assert.That(OutputComparison.BitIdentical(again.Inputs, data.Inputs), Is.True);
        }
        finally
        {
            Directory.Delete(tmp, recursive: true);
        }
    }

    [Test]
    public void MissingFolder_MissingInput0_AndGarbage_AreOnnxRevExceptionsNamingTheFile()
    {
        using var runner = new OrtRunner(TestModels.AddModel());
        Assert.That(() => TestDataFolder.Read("/no/such/folder", runner),
            Throws.TypeOf<OnnxRevException>().With.Message.Contains("/no/such/folder"));

        string tmp = Path.Combine(Path.GetTempPath(), $"onnxrev-td-{Guid.NewGuid():N}");
        Directory.CreateDirectory(tmp);
        try
        {
            Assert.That(() => TestDataFolder.Read(tmp, runner), Throws.TypeOf<OnnxRevException>().With.Message.Contains("input_0.pb"));
            File.WriteAllBytes(Path.Combine(tmp, "input_0.pb"), [0x0A, 0xFF, 0xFF, 0xFF, 0xFF, 0x0F, 0x01]);
            Assert.That(() => TestDataFolder.Read(tmp, runner), Throws.TypeOf<OnnxRevException>().With.Message.Contains("input_0.pb"));
        }
        finally
        {
            Directory.Delete(tmp, recursive: true);
        }
    }
}
