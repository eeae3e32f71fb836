using OnnxRev.Passes.Compression;
using OnnxRev.Runtime;
using OnnxRev.Runtime.Compression;
using OnnxRev.Runtime.Text;
using OnnxRev.Serialization;
using OnnxRev.Tests.Support;

namespace OnnxRev.Tests.Runtime.Compression;

/// <summary>
/// Distillation on bert_tiny (4 layers, vocab 1000, inputs fixed at [2, 16], logits [2, 3]): the factored student
/// trained against the original's outputs on unlabelled sentences gets closer to it on other sentences.
/// The vocabulary is the first 1000 entries of a BERT vocabulary re-indexed (specials, then the commonest words).
/// </summary>
public class DistillationTests
{
    [Test]
    public void DistilledStudentIsCloserToTheTeacher()
    {
        string dir = RepoPaths.NewTempDir();
        try
        {
            var bert = File.ReadAllLines(PackageModels.MiniLmVocab);
            var vocab = Path.Combine(dir, "vocab.txt");
            File.WriteAllLines(vocab, bert.Take(104).Concat(bert.Skip(1996).Take(896)));
            string teacher = Path.Combine(RepoPaths.Fixtures, "bert_tiny.onnx");
            var student = ModelReader.Load(teacher);
            new LowRankFactorization(new LowRankOptions { Rule = RankRule.Fixed, Rank = 24 }).Run(student);
            var sentences = File.ReadAllLines(RepoPaths.Sentences);
            var (trained, result) = Distillation.Run(teacher, student, vocab, sentences.Take(192).ToList(),
                new DistillationOptions { Epochs = 1, LearningRate = 3e-3, MaxSteps = 60 });
            TestContext.Out.WriteLine($"loss {result.FirstLoss:G4} → {result.LastLoss:G4} in {result.Steps} steps");
            Assert.That(result.LastLoss, Is.LessThan(0.5 * result.FirstLoss));
            double Error(Ir.Model m)
            {
                var tokenizer = WordPieceTokenizer.FromFile(vocab);
                using var a = new OrtRunner(teacher, OrtCheck.NoOpt);
                using var b = new OrtRunner(ModelWriter.ToBytes(m), OrtCheck.NoOpt);
                double err = 0;
                var held = sentences.Skip(192).ToList();
                for (int i = 0; i + 2 <= held.Count; i += 2)
                {
                    var ids = new long[32];
                    var mask = new long[32];
                    for (int s = 0; s < 2; s++)
                    {
                        var e = tokenizer.Encode(held[i + s], 16);
                        for (int t = 0; t < e.Length; t++) { ids[s * 16 + t] = e[t]; mask[s * 16 + t] = 1; }
                    }
                    var feeds = new Dictionary<string, DataValue> { ["input_ids"] = Int64(ids), ["attention_mask"] = Int64(mask) };
                    var ya = TensorProtoData.Floats(a.Run(feeds).Values.First().AsTensor());
                    var yb = TensorProtoData.Floats(b.Run(feeds).Values.First().AsTensor());
                    err += ya.Zip(yb, (p, q) => (double)(p - q) * (p - q)).Sum();
                }
                return err;
            }
            double before = Error(student), after = Error(trained);
            TestContext.Out.WriteLine($"held-out squared error of the logits: {before:G4} before, {after:G4} after");
            Assert.That(after, Is.LessThan(0.5 * before));
        }
        finally { Directory.Delete(dir, true); }
    }

    private static DataValue Int64(long[] values)
    {
        var t = new Schema.TensorProto { DataType = (int)Schema.TensorProto.Types.DataType.Int64 };
        t.Dims.Add(2);
        t.Dims.Add(16);
        t.Int64Data.AddRange(values);
        return DataValue.Tensor(t);
    }
}
