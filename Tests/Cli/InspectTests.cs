using OnnxRev.Tests.Support;

namespace OnnxRev.Tests.Cli;

/// <summary>`onnxrev inspect --json` reports the contract's fields correctly on a real export.</summary>
public class InspectTests
{
    [Test]
    public void ResmlpFacts()
    {
        var r = CliRunner.Run("inspect", Path.Combine(RepoPaths.Fixtures, "resmlp_d8.onnx"), "--json");
        Assert.That(r.ExitCode, Is.EqualTo(0), r.Stderr);
        var j = r.Json;
        Assert.That((int)j["nodes"]!, Is.EqualTo(112));
        Assert.That((int)j["ops"]!["Gemm"]!, Is.EqualTo(18)); // input projection, 8 blocks × 2, head
        Assert.That((long)j["opsets"]!["ai.onnx"]!, Is.EqualTo(17));
        Assert.That(j["inputs"]!.AsArray()[0]!["shape"]!.ToJsonString(), Is.EqualTo("[\"n\",64]"));
        Assert.That((long)j["bytes"]!, Is.EqualTo(new FileInfo(Path.Combine(RepoPaths.Fixtures, "resmlp_d8.onnx")).Length));
        // 8 blocks × (LN 64+64, Linear 64×64+64 twice) + input Linear 64×64+64 + head 64×10+10 + final LN 64+64.
        Assert.That((long)j["parameters"]!, Is.GreaterThan(70000));
    }
}
