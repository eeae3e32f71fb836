namespace OnnxRev.Passes.Compression.Coding;

/// <summary>
/// Canonical Huffman codes over symbols 0…n−1. The code is defined by its code lengths alone (0 = symbol unused):
/// codes are assigned in order of (length, symbol), so a decoder rebuilds it from the lengths the package stores.
/// Lengths are limited to <see cref="MaxLength"/> bits by flattening the frequencies when a skewed alphabet needs more.
/// </summary>
public sealed class Huffman
{
    /// <summary>The longest code.</summary>
    public const int MaxLength = 24;

    private readonly uint[] _codes;
    private readonly int[] _firstCode = new int[MaxLength + 2];
    private readonly int[] _firstIndex = new int[MaxLength + 2];
    private readonly int[] _countPerLength = new int[MaxLength + 2];
    private readonly int[] _sortedSymbols;

    /// <summary>Creates the code for the given lengths (each 0…<see cref="MaxLength"/>); they must satisfy Kraft's inequality.</summary>
    public Huffman(byte[] lengths)
    {
        Lengths = lengths;
        _codes = new uint[lengths.Length];
        foreach (byte l in lengths)
        {
            if (l > MaxLength) throw new PackageFormatException($"a Huffman code length of {l} exceeds {MaxLength}");
            _countPerLength[l]++;
        }
        _countPerLength[0] = 0;
        _sortedSymbols = Enumerable.Range(0, lengths.Length).Where(s => lengths[s] > 0).OrderBy(s => lengths[s]).ThenBy(s => s).ToArray();
        long code = 0;
        int index = 0;
        for (int len = 1; len <= MaxLength; len++)
        {
            _firstCode[len] = (int)code;
            _firstIndex[len] = index;
            code += _countPerLength[len];
            index += _countPerLength[len];
            if (code > (1L << len)) throw new PackageFormatException("Huffman code lengths are inconsistent (Kraft's inequality fails)");
            code <<= 1;
        }
        for (int len = 1, i = 0; len <= MaxLength; len++)
            for (int j = 0; j < _countPerLength[len]; j++, i++) _codes[_sortedSymbols[i]] = (uint)(_firstCode[len] + j);
    }

    /// <summary>Code length per symbol.</summary>
    public byte[] Lengths { get; }

    /// <summary>The code for <paramref name="frequencies"/> (symbols with frequency 0 get no code).</summary>
    public static Huffman FromFrequencies(long[] frequencies) => new(CodeLengths(frequencies));

    /// <summary>Optimal code lengths (length-limited) for the frequencies; a lone used symbol gets length 1.</summary>
    public static byte[] CodeLengths(long[] frequencies)
    {
        var f = (long[])frequencies.Clone();
        while (true)
        {
            var lengths = Unlimited(f);
            if (lengths.All(l => l <= MaxLength)) return lengths.Select(l => (byte)l).ToArray();
            for (int i = 0; i < f.Length; i++) if (f[i] > 0) f[i] = Math.Max(1, f[i] / 2);
        }
    }

    private static int[] Unlimited(long[] f)
    {
        int n = f.Length;
        var lengths = new int[n];
        var used = Enumerable.Range(0, n).Where(s => f[s] > 0).ToList();
        if (used.Count == 0) return lengths;
        if (used.Count == 1) { lengths[used[0]] = 1; return lengths; }
        // Nodes 0…n−1 are leaves; internal nodes follow. parent[] gives depths at the end.
        var parent = new List<int>(Enumerable.Repeat(-1, n));
        var queue = new PriorityQueue<int, (long, int)>();
        foreach (int s in used) queue.Enqueue(s, (f[s], s));
        int next = n;
        while (queue.Count > 1)
        {
            queue.TryDequeue(out int a, out var pa);
            queue.TryDequeue(out int b, out var pb);
            parent.Add(-1);
            parent[a] = next;
            parent[b] = next;
            queue.Enqueue(next, (pa.Item1 + pb.Item1, next));
            next++;
        }
        foreach (int s in used)
        {
            int depth = 0;
            for (int v = s; parent[v] >= 0; v = parent[v]) depth++;
            lengths[s] = depth;
        }
        return lengths;
    }

    /// <summary>Bits <paramref name="frequencies"/> take under this code.</summary>
    public long CostBits(long[] frequencies)
    {
        long bits = 0;
        for (int s = 0; s < frequencies.Length; s++) bits += frequencies[s] * Lengths[s];
        return bits;
    }

    /// <summary>Writes the code of <paramref name="symbol"/>.</summary>
    public void Encode(BitWriter w, int symbol)
    {
        if (Lengths[symbol] == 0) throw new InvalidOperationException($"symbol {symbol} has no code");
        w.Write(_codes[symbol], Lengths[symbol]);
    }

    /// <summary>Reads one symbol.</summary>
    public int Decode(BitReader r)
    {
        int code = 0;
        for (int len = 1; len <= MaxLength; len++)
        {
            code = (code << 1) | r.ReadBit();
            int offset = code - _firstCode[len];
            if (offset >= 0 && offset < _countPerLength[len]) return _sortedSymbols[_firstIndex[len] + offset];
        }
        throw new PackageFormatException("a coded stream holds a code no symbol has");
    }
}
