namespace OnnxRev.Runtime.Compression;

/// <summary>
/// Calibration inputs for compression passes: unlabelled samples, each a full set of model inputs. Read from an
/// ONNX test-data folder (<c>input_0.pb</c> …: one sample), a folder of such folders (one sample each, in name
/// order), or a text file of sentences (one per line) tokenized with a WordPiece vocabulary for BERT-style
/// encoders (one sample per sentence, so no padding enters the statistics).
/// </summary>
public static class CalibrationData
{
    /// <summary>Reads at most <paramref name="limit"/> samples for the model whose inputs <paramref name="runner"/> describes.</summary>
    public static List<IReadOnlyDictionary<string, DataValue>> Load(string path, string? vocab, OrtRunner runner, int limit)
    {
        var samples = new List<IReadOnlyDictionary<string, DataValue>>();
        if (File.Exists(path))
        {
            if (vocab is null) throw new OnnxRevException($"calibration file '{path}' is text: give the WordPiece vocabulary with --vocab FILE (or pass a test-data folder)");
            samples.AddRange(TextSamples(path, vocab, runner, limit));
        }
        else if (Directory.Exists(path))
        {
            if (File.Exists(Path.Combine(path, "input_0.pb"))) samples.Add(TestDataFolder.Read(path, runner).Inputs);
            else
                foreach (var dir in Directory.GetDirectories(path).Where(d => File.Exists(Path.Combine(d, "input_0.pb"))).Order(StringComparer.Ordinal).Take(limit))
                    samples.Add(TestDataFolder.Read(dir, runner).Inputs);
            if (samples.Count == 0) throw new OnnxRevException($"calibration folder '{path}' holds no input_0.pb, neither itself nor in a subfolder");
        }
        else throw new OnnxRevException($"calibration data '{path}' does not exist");
        return samples.Take(limit).ToList();
    }

    private static IEnumerable<IReadOnlyDictionary<string, DataValue>> TextSamples(string path, string vocab, OrtRunner runner, int limit)
    {
        var tokenizer = Text.WordPieceTokenizer.FromFile(vocab);
        var sentences = SentenceSet.First(path, limit);
        var names = runner.Inputs.Select(i => i.Name).ToList();
        foreach (var s in sentences)
        {
            var batch = Text.TextBatch.Encode(tokenizer, new[] { s });
            var inputs = batch.Inputs(names);
            var missing = names.Where(n => !inputs.ContainsKey(n)).ToList();
            if (missing.Count > 0) throw new OnnxRevException($"text calibration feeds input_ids, attention_mask and token_type_ids; the model also needs {string.Join(", ", missing)}");
            yield return inputs;
        }
    }
}
