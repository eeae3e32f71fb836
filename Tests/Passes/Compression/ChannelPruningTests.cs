using OnnxRev.Building;
using OnnxRev.Passes.Compression;
using OnnxRev.Serialization;
using OnnxRev.Tests.Support;

namespace OnnxRev.Tests.Passes.Compression;

/// <summary>ChannelPruning: real shrinking with shapes carried through every consumer.</summary>
public class ChannelPruningTests
{
    [Test]
    public void ConvBnReluConv_DeadChannelsGo_ShapesShrinkEverywhere_AndTheFunctionIsKept()
    {
        // Half the channels of each conv output exactly 0 after the ReLU: removing them keeps the function.
        var model = CompressionModels.ConvBnReluConv(c1: 6, c2: 4, dead1: new[] { 1, 3, 4 }, dead2: new[] { 0, 2 });
        var original = ModelWriter.ToBytes(model);
        var pass = new ChannelPruning(0.5);
        Assert.That(pass.Run(model).Modified, Is.True);
        var init = model.Graph.Initializers.ToDictionary(v => v.Name, v => v.Initializer!.Dims.ToArray());
        Assert.That(init["conv1.weight"], Is.EqualTo(new long[] { 3, 3, 3, 3 }));
        Assert.That(init["conv1.bias"], Is.EqualTo(new long[] { 3 }));
        foreach (var bn in new[] { "bn.scale", "bn.bias", "bn.mean", "bn.var" }) Assert.That(init[bn], Is.EqualTo(new long[] { 3 }), bn);
        Assert.That(init["conv2.weight"], Is.EqualTo(new long[] { 2, 3, 3, 3 }));
        Assert.That(init["conv2.bias"], Is.EqualTo(new long[] { 2 }));
        Assert.That(init["fc.weight"], Is.EqualTo(new long[] { 5, 2 * 16 }), "Flatten → Gemm loses each removed channel's 16 inputs");
        Assert.That(init["fc.bias"], Is.EqualTo(new long[] { 5 }), "the last layer feeds the output and keeps its width");
        Assert.That(pass.Pruned.Values, Is.EquivalentTo(new[] { (6L, 3L), (4L, 2L) }));
        OrtCheck.AssertEquivalent(original, model);
        Assert.That(FlopCount.Macs(model).Total, Is.LessThan(FlopCount.Macs(ModelReader.Load(original)).Total / 2));
    }

    [Test]
    public void DepthwiseConv_CarriesTheStream_AndASharedBiasGetsAPrivateCopy()
    {
        var model = CompressionModels.Depthwise(c: 6, dead: new[] { 0, 2, 5 });
        var original = ModelWriter.ToBytes(model);
        var pass = new ChannelPruning(0.5);
        Assert.That(pass.Run(model).Modified, Is.True);
        var init = model.Graph.Initializers.ToDictionary(v => v.Name, v => v.Initializer!.Dims.ToArray());
        Assert.That(init["pw1.weight"], Is.EqualTo(new long[] { 3, 3, 1, 1 }));
        Assert.That(init["dw.weight"], Is.EqualTo(new long[] { 3, 1, 3, 3 }));
        Assert.That(init["pw2.weight"], Is.EqualTo(new long[] { 4, 3, 1, 1 }));
        Assert.That(init["shared.bias"], Is.EqualTo(new long[] { 6 }), "the third reader still needs all six");
        var dw = model.Graph.Nodes.First(n => n.OpType == "Conv" && n.Attributes.GetInt("group", 1) != 1);
        Assert.That(dw.Attributes.GetInt("group", 1), Is.EqualTo(3));
        Assert.That(dw.Inputs[2]!.Name, Is.Not.EqualTo("shared.bias"));
        OrtCheck.AssertEquivalent(original, model);
    }

    [Test]
    public void LeNet_HiddenLayersHalve_OutputLayerStays_AndTheModelRuns()
    {
        var model = ModelZoo.LeNet300100();
        var pass = new ChannelPruning(0.5, ChannelNorm.L1);
        pass.Run(model);
        var init = model.Graph.Initializers.ToDictionary(v => v.Name, v => v.Initializer!.Dims.ToArray());
        Assert.That(init["fc1.weight"], Is.EqualTo(new long[] { 150, 784 }));
        Assert.That(init["fc1.bias"], Is.EqualTo(new long[] { 150 }));
        Assert.That(init["fc2.weight"], Is.EqualTo(new long[] { 50, 150 }));
        Assert.That(init["fc3.weight"], Is.EqualTo(new long[] { 10, 50 }));
        Assert.That(FlopCount.Macs(model).Total, Is.EqualTo(784 * 150 + 150 * 50 + 50 * 10));
        OrtCheck.Run(ModelWriter.ToBytes(model));
    }

    [Test]
    public void ResidualStreams_StayWhole_InnerLayersShrink()
    {
        var model = ModelZoo.ResidualMlp(depth: 2, width: 16);
        var before = model.Graph.Initializers.ToDictionary(v => v.Name, v => v.Initializer!.Dims.ToArray());
        new ChannelPruning(0.5).Run(model);
        var after = model.Graph.Initializers.ToDictionary(v => v.Name, v => v.Initializer!.Dims.ToArray());
        // The input projection and each block's second layer write the residual stream: untouched.
        Assert.That(after["inp.weight"], Is.EqualTo(before["inp.weight"]));
        Assert.That(after["blocks.0.fc2.weight"][0], Is.EqualTo(before["blocks.0.fc2.weight"][0]));
        // Each block's first layer (→ GELU → fc2) loses half its 32 neurons; fc2 loses the matching inputs.
        Assert.That(after["blocks.0.fc1.weight"][0], Is.EqualTo(16));
        Assert.That(after["blocks.0.fc2.weight"][1], Is.EqualTo(16));
        OrtCheck.Run(ModelWriter.ToBytes(model));
    }

    [Test]
    public void RatioZero_ChangesNothing() =>
        Assert.That(new ChannelPruning(0).Run(ModelZoo.LeNet300100()).Modified, Is.False);
}
