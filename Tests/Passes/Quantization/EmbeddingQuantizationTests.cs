using OnnxRev.Ir;
using OnnxRev.Passes.Quantization;
using OnnxRev.Runtime;
using OnnxRev.Runtime.Text;
using OnnxRev.Serialization;
using OnnxRev.Tests.Support;
using DT = OnnxRev.Schema.TensorProto.Types.DataType;

namespace OnnxRev.Tests.Passes.Quantization;

/// <summary>Weight-only int8 embedding tables: every looked-up element within half a row scale in ORT, and MiniLM's embeddings kept.</summary>
public class EmbeddingQuantizationTests
{
    /// <summary>y = Gather(E, ids) with E [V, D] of rows at very different scales, ids int64 [4, 3] (every row index valid).</summary>
    private static Model Lookup(int vocab, int dim, out float[] table)
    {
        var g = new Graph("lookup");
        var ids = GraphBuild.Input(g, "ids", ModelFactory.TensorType((int)DT.Int64, 4, 3));
        table = QuantTestModels.Random(vocab * dim, 5);
        for (int v = 0; v < vocab; v++) for (int d = 0; d < dim; d++) table[v * dim + d] *= MathF.Pow(10, v % 4 - 2); // rows 0.01 … 10
        var e = GraphBuild.FloatInit(g, "E", new long[] { vocab, dim }, table);
        GraphBuild.Output(g, GraphBuild.Op(g, "Gather", new[] { e, ids }, "y"), ModelFactory.FloatType(4, 3, dim));
        return ModelFactory.Wrap(g, opset: 13);
    }

    [Test]
    public void EveryLookedUpElementIsWithinHalfItsRowScale()
    {
        const int vocab = 300, dim = 32;
        var model = Lookup(vocab, dim, out var table);
        var pass = new EmbeddingQuantization();
        Assert.That(pass.Run(model).Modified, Is.True);
        Assert.That(pass.QuantizedTables, Is.EqualTo(new[] { "E" }));
        Assert.That(model.Graph.Initializers.Single(v => v.Name.Contains("int8")).Initializer!.DataType, Is.EqualTo((int)DT.Int8));
        Assert.That(model.Graph.Initializers.Any(v => v.Name == "E"), Is.False, "the float table is gone");

        var idValues = Enumerable.Range(0, 12).Select(i => (long)(i * 25 + 3)).ToArray();
        var idsTensor = new Schema.TensorProto { Name = "ids", DataType = (int)DT.Int64 };
        idsTensor.Dims.Add(4); idsTensor.Dims.Add(3);
        idsTensor.Int64Data.Add(idValues);
        var y = TensorProtoData.Floats(OrtCheck.Run(ModelWriter.ToBytes(model), new Dictionary<string, DataValue> { ["ids"] = DataValue.Tensor(idsTensor) })["y"].AsTensor());
        for (int i = 0; i < 12; i++)
        {
            long row = idValues[i];
            float scale = Enumerable.Range(0, dim).Max(d => Math.Abs(table[row * dim + d])) / 127;
            for (int d = 0; d < dim; d++)
                Assert.That(Math.Abs(y[i * dim + d] - table[row * dim + d]), Is.LessThanOrEqualTo(scale / 2 * 1.0001 + 1e-12), $"row {row} element {d}");
        }
    }

    [Test]
    public void SmallTablesAndTablesReadByOtherOpsStayFloat()
    {
        var small = Lookup(10, 8, out _);
        Assert.That(new EmbeddingQuantization().Run(small).Modified, Is.False, "80 elements: below the minimum");
        var kept = Lookup(300, 32, out _);
        Assert.That(new EmbeddingQuantization(new QuantizationOptions { KeepFloat = new HashSet<string> { "E" } }).Run(kept).Modified, Is.False, "listed in keep-float");
    }

    /// <summary>all-MiniLM-L6-v2's word and position tables int8: every real token of the 256 sentences within cosine 0.999.</summary>
    [Test]
    public void MiniLmEmbeddingsStayWithinCosine0999AndShrink()
    {
        var model = ModelReader.Load(PackageModels.MiniLm);
        var pass = new EmbeddingQuantization();
        pass.Run(model);
        Assert.That(pass.QuantizedTables, Has.Count.GreaterThanOrEqualTo(2), "word and position embeddings");
        var bytes = ModelWriter.ToBytes(model);
        Assert.That(bytes.Length, Is.LessThan(new FileInfo(PackageModels.MiniLm).Length - 34_000_000), "the 30522×384 table shrinks by about 35 MB");

        var tokenizer = WordPieceTokenizer.FromFile(PackageModels.MiniLmVocab);
        var sentences = File.ReadAllLines(RepoPaths.Sentences).Take(64).ToList();
        using var original = new OrtRunner(PackageModels.MiniLm, OrtCheck.NoOpt);
        using var quantized = new OrtRunner(bytes, OrtCheck.NoOpt, "minilm-int8-embeddings");
        double min = 1;
        for (int start = 0; start < sentences.Count; start += 16)
        {
            var batch = TextBatch.Encode(tokenizer, sentences.Skip(start).Take(16).ToList());
            var inputs = batch.Inputs(original.Inputs.Select(i => i.Name));
            var a = TensorProtoData.Floats(original.Run(inputs)["last_hidden_state"].AsTensor());
            var b = TensorProtoData.Floats(quantized.Run(inputs)["last_hidden_state"].AsTensor());
            min = Math.Min(min, TokenCosine.PerToken(a, b, batch).Min());
        }
        TestContext.Out.WriteLine($"MiniLM int8 embeddings: smallest token cosine {min:F5}; {bytes.Length:N0} bytes");
        Assert.That(min, Is.GreaterThan(0.999));
    }
}
