using System.Globalization;
using System.Text;

namespace OnnxRev.Runtime.Text;

/// <summary>
/// BERT's uncased tokenizer: basic tokenization (clean control characters, lower-case, strip accents after
/// canonical decomposition, split on whitespace and punctuation, isolate CJK ideographs), then WordPiece
/// (greedy longest match, continuation pieces prefixed "##", a word with no complete match becomes [UNK]).
/// </summary>
public sealed class WordPieceTokenizer
{
    private const int MaxWordChars = 100;
    private readonly Dictionary<string, int> _ids;

    /// <summary>A tokenizer over a vocabulary given one token per line (line index = id).</summary>
    public WordPieceTokenizer(IReadOnlyList<string> vocabulary)
    {
        ArgumentNullException.ThrowIfNull(vocabulary);
        _ids = new Dictionary<string, int>(vocabulary.Count, StringComparer.Ordinal);
        for (int i = 0; i < vocabulary.Count; i++) _ids.TryAdd(vocabulary[i], i);
        foreach (var special in new[] { "[PAD]", "[UNK]", "[CLS]", "[SEP]" })
            if (!_ids.ContainsKey(special)) throw new OnnxRevException($"vocabulary lacks the special token {special}");
        PadId = _ids["[PAD]"];
        UnknownId = _ids["[UNK]"];
        ClsId = _ids["[CLS]"];
        SepId = _ids["[SEP]"];
    }

    /// <summary>Reads a vocab.txt file.</summary>
    public static WordPieceTokenizer FromFile(string path)
    {
        if (!File.Exists(path)) throw new OnnxRevException($"vocabulary file '{path}' does not exist");
        return new WordPieceTokenizer(File.ReadAllLines(path));
    }

    /// <summary>Id of [PAD].</summary>
    public int PadId { get; }

    /// <summary>Id of [UNK].</summary>
    public int UnknownId { get; }

    /// <summary>Id of [CLS].</summary>
    public int ClsId { get; }

    /// <summary>Id of [SEP].</summary>
    public int SepId { get; }

    /// <summary>The WordPiece tokens of <paramref name="text"/> (no [CLS]/[SEP]).</summary>
    public IReadOnlyList<string> Tokenize(string text)
    {
        var pieces = new List<string>();
        foreach (var word in BasicTokens(text)) WordPieces(word, pieces);
        return pieces;
    }

    /// <summary>[CLS] + the ids of <paramref name="text"/> + [SEP], truncated to <paramref name="maxLength"/> (keeping [SEP]).</summary>
    public int[] Encode(string text, int maxLength = 128)
    {
        if (maxLength < 2) throw new OnnxRevException($"maximum sequence length must be at least 2, got {maxLength}");
        var ids = new List<int> { ClsId };
        foreach (var piece in Tokenize(text))
        {
            if (ids.Count == maxLength - 1) break;
            ids.Add(_ids.TryGetValue(piece, out int id) ? id : UnknownId);
        }
        ids.Add(SepId);
        return ids.ToArray();
    }

    /// <summary>The words of BERT's basic tokenizer: lower-cased, accents stripped, punctuation and CJK characters as words of their own.</summary>
    public static IEnumerable<string> BasicTokens(string text)
    {
        var word = new StringBuilder();
        foreach (char c in Normalize(text))
        {
            if (char.IsWhiteSpace(c))
            {
                if (word.Length > 0) { yield return word.ToString(); word.Clear(); }
            }
            else if (IsPunctuation(c) || IsCjk(c))
            {
                if (word.Length > 0) { yield return word.ToString(); word.Clear(); }
                yield return c.ToString();
            }
            else word.Append(c);
        }
        if (word.Length > 0) yield return word.ToString();
    }

    private void WordPieces(string word, List<string> output)
    {
        if (word.Length > MaxWordChars) { output.Add("[UNK]"); return; }
        int start = output.Count;
        for (int begin = 0; begin < word.Length;)
        {
            string? match = null;
            for (int end = word.Length; end > begin; end--)
            {
                string candidate = (begin > 0 ? "##" : "") + word[begin..end];
                if (_ids.ContainsKey(candidate)) { match = candidate; begin = end; break; }
            }
            if (match is null)
            {
                output.RemoveRange(start, output.Count - start);
                output.Add("[UNK]");
                return;
            }
            output.Add(match);
        }
    }

    /// <summary>Drops control characters and U+FFFD, maps other whitespace to ' ', lower-cases and strips combining marks (NFD).</summary>
    private static string Normalize(string text)
    {
        var sb = new StringBuilder(text.Length);
        foreach (char c in text.ToLowerInvariant().Normalize(NormalizationForm.FormD))
        {
            if (c == '\0' || c == '\uFFFD') continue;
            var category = CharUnicodeInfo.GetUnicodeCategory(c);
            if (category == UnicodeCategory.NonSpacingMark) continue;
            if (c is '\t' or '\n' or '\r') { sb.Append(' '); continue; }
            if (category is UnicodeCategory.Control or UnicodeCategory.Format) continue;
            sb.Append(char.IsWhiteSpace(c) ? ' ' : c);
        }
        return sb.ToString();
    }

    /// <summary>ASCII symbols count as punctuation (BERT treats $, +, ^ ... so), as does every Unicode P* character.</summary>
    private static bool IsPunctuation(char c) =>
        c is >= '!' and <= '/' or >= ':' and <= '@' or >= '[' and <= '`' or >= '{' and <= '~' || char.IsPunctuation(c);

    private static bool IsCjk(char c) =>
        c is >= '\u4E00' and <= '\u9FFF' or >= '\u3400' and <= '\u4DBF' or >= '\uF900' and <= '\uFAFF';
}
