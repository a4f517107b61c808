namespace AttnEval.Plugins.Sdk;

/// <summary>
/// The 64-bit FNV-1a hash (Fowler, Noll and Vo; offset basis 0xcbf29ce484222325, prime 0x100000001b3; see
/// datatracker.ietf.org/doc/draft-eastlake-fnv): a hash that, unlike <see cref="string.GetHashCode()"/>, is the same in
/// every process and on every machine, so seeds derived from ids reproduce. The host seeds each sample's answer draws
/// with it and the search-robustness plugin each episode.
/// </summary>
public static class Fnv1a
{
    /// <summary>The FNV-1a 64-bit offset basis.</summary>
    public const ulong OffsetBasis = 14695981039346656037UL;

    /// <summary>The FNV 64-bit prime.</summary>
    public const ulong Prime = 1099511628211UL;

    /// <summary>
    /// FNV-1a 64 of <paramref name="text"/>, one step per UTF-16 code unit (the whole 16-bit unit is XORed in, then the
    /// state is multiplied by the prime, modulo 2⁶⁴). For ASCII text this is FNV-1a over its bytes:
    /// <c>""</c> → 0xcbf29ce484222325, <c>"a"</c> → 0xaf63dc4c8601ec8c. Outside ASCII it differs from FNV-1a over
    /// UTF-8 bytes, but is just as stable.
    /// </summary>
    /// <param name="text">Any text, empty included.</param>
    /// <returns>The full 64-bit hash; callers reduce it to a non-negative <see cref="long"/> as they need (mask or shift).</returns>
    public static ulong Hash64(ReadOnlySpan<char> text)
    {
        var h = OffsetBasis;
        foreach (var ch in text)
        {
            h ^= ch;
            h *= Prime;
        }
        return h;
    }
}
