using System.Globalization;
using System.Text.Json.Nodes;
using OnnxRev.Runtime;
using OnnxRev.Runtime.Compression;

namespace OnnxRev.Cli.Commands;

/// <summary>`onnxrev compare-text`: per-token cosine of a compressed text encoder against the original on real sentences.</summary>
internal sealed class CompareTextCommand : ICommand
{
    public string Name => "compare-text";
    public string Summary => "per-token cosine of a text encoder's output against a reference encoder on sentences";
    public string Usage => "onnxrev compare-text REFERENCE CANDIDATE --sentences FILE --vocab FILE [--lines A-B] [--min-cosine C] [--json]";
    public string Description =>
        "Tokenizes the sentences (BERT uncased WordPiece, one per line), runs both encoders (inputs input_ids,\n" +
        "attention_mask, token_type_ids) in ONNX Runtime with its optimizations off, and compares their first\n" +
        "outputs token by token over the real (unpadded) tokens: mean, 1st percentile and smallest cosine. With\n" +
        "--min-cosine, exits 1 when any real token falls below it. Also reports the sentence embeddings' cosine\n" +
        "(each sentence's mean over its real tokens, the pooling of sentence-transformers models): mean and smallest.";
    public IReadOnlyList<string> Examples => new[]
    {
        "onnxrev compare-text .cache/models/all-MiniLM-L6-v2/model.onnx /tmp/minilm_lr.onnx --sentences models/data/sentences.txt --vocab .cache/models/all-MiniLM-L6-v2/vocab.txt --lines 129-256 --min-cosine 0.95",
    };
    public IReadOnlyList<OptionSpec> Options => new OptionSpec[]
    {
        new("sentences", "text file, one sentence per line", ValueName: "FILE"),
        new("vocab", "WordPiece vocab.txt", ValueName: "FILE"),
        new("lines", "only these lines (1-based, inclusive), e.g. 129-256", ValueName: "A-B"),
        new("min-cosine", "exit 1 when any real token's cosine is below C", ValueName: "C"),
        new("batch", "sentences per run (default 16)", ValueName: "B"),
    };

    public int Run(Args args, Output output)
    {
        if (args.Positionals.Count != 2) throw new UsageException($"'onnxrev compare-text' needs two models, REFERENCE and CANDIDATE; got {args.Positionals.Count}");
        string reference = args.Positionals[0], candidate = args.Positionals[1];
        var sentences = SentenceSet.Read(args.Require("sentences"), args.Get("lines"));
        string vocab = args.Require("vocab");
        if (!File.Exists(vocab)) throw new OnnxRevException($"vocabulary '{vocab}' does not exist");
        double? min = args.Has("min-cosine") ? args.GetDouble("min-cosine", 0, min: -1) : null;
        ModelFacts.LoadChecked(reference);
        ModelFacts.LoadChecked(candidate);
        var r = TextEncoderComparison.Compare(reference, candidate, vocab, sentences, min ?? 0.95, args.GetInt("batch", 16, min: 1),
            new RunnerOptions { OptimizationLevel = OptimizationLevel.None });
        output.Line(string.Create(CultureInfo.InvariantCulture,
            $"{r.Tokens} tokens of {r.Sentences} sentences: cosine mean {r.Mean:F4}, 1st percentile {r.P01:F4}, min {r.Min:F4}; {r.BelowThreshold} below {min ?? 0.95:G3}; sentence embeddings (mean-pooled): mean {r.SentenceMean:F5}, min {r.SentenceMin:F5}"));
        var vocabulary = File.ReadAllLines(vocab);
        foreach (var (sentence, position, token, cosine) in r.Worst.Take(5))
            output.Detail(string.Create(CultureInfo.InvariantCulture, $"  cosine {cosine:F4}: sentence {sentence + 1}, position {position}, token '{(token < vocabulary.Length ? vocabulary[token] : "?")}'"));
        output.Result(new JsonObject
        {
            ["reference"] = reference, ["candidate"] = candidate, ["sentences"] = r.Sentences, ["tokens"] = r.Tokens,
            ["mean_cosine"] = r.Mean, ["p01_cosine"] = r.P01, ["min_cosine"] = r.Min, ["below"] = r.BelowThreshold, ["ok"] = min is null || r.BelowThreshold == 0,
            ["sentence_mean_cosine"] = r.SentenceMean, ["sentence_min_cosine"] = r.SentenceMin,
        });
        return min is not null && r.BelowThreshold > 0 ? 1 : 0;
    }
}
