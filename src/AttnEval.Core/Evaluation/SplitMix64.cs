namespace AttnEval.Core.Evaluation;

/// <summary>
/// A small, fully specified pseudo-random generator (SplitMix64: Steele, Lea and Flood,
/// "Fast splittable pseudorandom number generators", OOPSLA 2014). Used wherever AttnEval needs
/// randomness that must be identical across runs, machines, operating systems and .NET versions
/// (dataset shuffles, bootstrap resamples). It is pure 64-bit integer arithmetic, so a seed always
/// gives the same stream; it is not cryptographically secure.
/// </summary>
/// <remarks>
/// Step: <c>state += 0x9E3779B97F4A7C15</c>; output <c>z = state</c> mixed by
/// <c>z = (z ^ (z &gt;&gt; 30)) * 0xBF58476D1CE4E5B9; z = (z ^ (z &gt;&gt; 27)) * 0x94D049BB133111EB; z ^ (z &gt;&gt; 31)</c>.
/// Seed 0 gives 0xE220A8397B1DCDAF as its first output. Not thread-safe: use one instance per thread.
/// </remarks>
public sealed class SplitMix64
{
    private ulong _state;

    /// <summary>Creates a generator whose stream is fixed by <paramref name="seed"/> (any value, negative included).</summary>
    public SplitMix64(long seed) => _state = unchecked((ulong)seed);

    /// <summary>The next 64 uniformly distributed bits.</summary>
    public ulong NextUInt64()
    {
        unchecked
        {
            _state += 0x9E3779B97F4A7C15UL;
            var z = _state;
            z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
            z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
            return z ^ (z >> 31);
        }
    }

    /// <summary>A uniform integer in [0, <paramref name="exclusiveMax"/>), without modulo bias
    /// (draws below 2^64 mod n are rejected and redrawn).</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="exclusiveMax"/> is not positive.</exception>
    public int NextInt(int exclusiveMax)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(exclusiveMax);
        var n = (ulong)exclusiveMax;
        var threshold = unchecked(0UL - n) % n; // = 2^64 mod n
        while (true)
        {
            var r = NextUInt64();
            if (r >= threshold) return (int)(r % n);
        }
    }

    /// <summary>A uniform double in [0, 1) with 53 random bits.</summary>
    public double NextDouble() => (NextUInt64() >> 11) * (1.0 / (1UL << 53));

    /// <summary>Shuffles <paramref name="items"/> in place with the Fisher–Yates (Durstenfeld) algorithm:
    /// for i = n−1 down to 1, swap item i with item <see cref="NextInt"/>(i + 1).</summary>
    public void Shuffle<T>(IList<T> items)
    {
        ArgumentNullException.ThrowIfNull(items);
        for (var i = items.Count - 1; i > 0; i--)
        {
            var j = NextInt(i + 1);
            (items[i], items[j]) = (items[j], items[i]);
        }
    }
}
