using Google.Protobuf;
using OnnxRev.Schema;

namespace OnnxRev.Runtime.Text;

/// <summary>
/// Sentences tokenized for a BERT-style encoder: <c>input_ids</c>, <c>attention_mask</c> and <c>token_type_ids</c>,
/// int64 [batch, length], padded with [PAD] to the longest sentence of the batch.
/// </summary>
public sealed class TextBatch
{
    private TextBatch(long[] ids, long[] mask, int batch, int length)
    {
        Ids = ids;
        Mask = mask;
        Batch = batch;
        Length = length;
    }

    /// <summary>Token ids, row-major [Batch, Length].</summary>
    public long[] Ids { get; }

    /// <summary>1 for real tokens (including [CLS] and [SEP]), 0 for padding.</summary>
    public long[] Mask { get; }

    /// <summary>Sentences in the batch.</summary>
    public int Batch { get; }

    /// <summary>Padded length.</summary>
    public int Length { get; }

    /// <summary>Number of real (unpadded) tokens.</summary>
    public int ValidTokens => (int)Mask.Sum();

    /// <summary>Tokenizes <paramref name="sentences"/> (each truncated to <paramref name="maxLength"/> tokens).</summary>
    public static TextBatch Encode(WordPieceTokenizer tokenizer, IReadOnlyList<string> sentences, int maxLength = 128)
    {
        if (sentences.Count == 0) throw new OnnxRevException("no sentences to encode");
        var encoded = sentences.Select(s => tokenizer.Encode(s, maxLength)).ToList();
        int length = encoded.Max(e => e.Length);
        var ids = new long[sentences.Count * length];
        var mask = new long[ids.Length];
        for (int b = 0; b < encoded.Count; b++)
            for (int t = 0; t < length; t++)
            {
                bool real = t < encoded[b].Length;
                ids[b * length + t] = real ? encoded[b][t] : tokenizer.PadId;
                mask[b * length + t] = real ? 1 : 0;
            }
        return new TextBatch(ids, mask, sentences.Count, length);
    }

    /// <summary>The encoder's three inputs (only those named in <paramref name="inputNames"/>, when given).</summary>
    public Dictionary<string, DataValue> Inputs(IEnumerable<string>? inputNames = null)
    {
        var all = new Dictionary<string, DataValue>
        {
            ["input_ids"] = Int64("input_ids", Ids),
            ["attention_mask"] = Int64("attention_mask", Mask),
            ["token_type_ids"] = Int64("token_type_ids", new long[Ids.Length]),
        };
        if (inputNames is null) return all;
        var wanted = inputNames.ToList();
        foreach (var name in wanted)
            if (!all.ContainsKey(name)) throw new OnnxRevException($"the model's input '{name}' is not one of a text encoder's inputs (input_ids, attention_mask, token_type_ids)");
        return wanted.ToDictionary(n => n, n => all[n]);
    }

    private DataValue Int64(string name, long[] values)
    {
        var tensor = new TensorProto { Name = name, DataType = (int)TensorProto.Types.DataType.Int64 };
        tensor.Dims.Add(Batch);
        tensor.Dims.Add(Length);
        var bytes = new byte[values.Length * sizeof(long)];
        Buffer.BlockCopy(values, 0, bytes, 0, bytes.Length);
        tensor.RawData = ByteString.CopyFrom(bytes);
        return DataValue.Tensor(tensor);
    }
}
