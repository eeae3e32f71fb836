namespace OnnxRev.Runtime.Data;

/// <summary>
/// A small deterministic random generator (SplitMix64) whose sequence depends only on its seed, never on
/// the .NET version or platform, so shuffles and splits reproduce exactly on any machine.
/// </summary>
internal sealed class SeededRandom
{
    private ulong _state;

    /// <summary>Starts a generator from one or more integers (mixed, so (seed, epoch) pairs give unrelated streams).</summary>
    public SeededRandom(params long[] seeds)
    {
        ulong state = 0x6A09E667F3BCC908UL;
        foreach (long s in seeds)
        {
            state ^= unchecked((ulong)s);
            state = Mix(state + 0x9E3779B97F4A7C15UL);
        }
        _state = state;
    }

    /// <summary>The next 64 random bits.</summary>
    public ulong NextUInt64()
    {
        _state = unchecked(_state + 0x9E3779B97F4A7C15UL);
        return Mix(_state);
    }

    /// <summary>A uniform integer in [0, <paramref name="bound"/>), without modulo bias.</summary>
    public int NextInt(int bound)
    {
        if (bound <= 0) throw new ArgumentOutOfRangeException(nameof(bound), bound, "The bound must be positive.");
        ulong b = (ulong)bound;
        ulong limit = ulong.MaxValue - ulong.MaxValue % b; // values at or above this would be biased
        ulong x;
        do x = NextUInt64(); while (x >= limit);
        return (int)(x % b);
    }

    /// <summary>Fills <paramref name="order"/> with 0 … n−1 in a uniformly random order (Fisher–Yates).</summary>
    public void Permutation(int[] order)
    {
        for (int i = 0; i < order.Length; i++) order[i] = i;
        for (int i = order.Length - 1; i > 0; i--)
        {
            int j = NextInt(i + 1);
            (order[i], order[j]) = (order[j], order[i]);
        }
    }

    private static ulong Mix(ulong z)
    {
        z = unchecked((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL);
        z = unchecked((z ^ (z >> 27)) * 0x94D049BB133111EBUL);
        return z ^ (z >> 31);
    }
}
