namespace AttnEval.Metrics.AttentionSinks;

/// <summary>The sinks of one head on one sequence.</summary>
/// <param name="Detected">Every column with <c>c_j &gt; τ</c> (and at least <c>min_rows</c> rows below it), ascending.</param>
/// <param name="Hidden">The sink set S of the spec: <paramref name="Detected"/> minus its first index.</param>
/// <param name="HiddenMass"><c>mean_i Σ_{j∈S, j≤i} A[i, j]</c>, in [0, 1].</param>
/// <param name="InitialScore"><c>c_0</c>, the mean attention position 0 (BOS) receives.</param>
internal sealed record HeadSinks(IReadOnlyList<int> Detected, IReadOnlyList<int> Hidden, double HiddenMass, double InitialScore)
{
    /// <summary>The first detected index (normally 0, the BOS sink), or null when nothing passed τ.</summary>
    public int? First => Detected.Count == 0 ? null : Detected[0];
}

/// <summary>Hidden-sink detection of ACT (Yu et al., ICML 2024, arXiv 2406.15765; specs/head-methods.md §5.3).</summary>
internal static class SinkMath
{
    /// <summary>From a head's column sums <c>C_j = Σ_{i≥j} A[i, j]</c> over N rows: <c>c_j = C_j / (N − j)</c>,
    /// detected = <c>{ j : c_j &gt; τ, N − j ≥ minRows }</c>, S = detected minus its first index,
    /// mass = <c>Σ_{j∈S} C_j / N</c>.</summary>
    /// <param name="columnSums">Length N ≥ 1.</param>
    /// <param name="tau">τ in [0, 1].</param>
    /// <param name="minRows">Columns seen by fewer rows (the last minRows − 1 positions) are never sinks; 1 = every column (reference).</param>
    public static HeadSinks Detect(ReadOnlySpan<double> columnSums, double tau, int minRows = 1)
    {
        int n = columnSums.Length;
        if (n == 0) return new HeadSinks([], [], 0, double.NaN);
        var detected = new List<int>();
        for (int j = 0; j < n; j++)
            if (n - j >= minRows && columnSums[j] / (n - j) > tau) detected.Add(j);
        var hidden = detected.Skip(1).ToList();
        double mass = 0;
        foreach (var j in hidden) mass += columnSums[j];
        return new HeadSinks(detected, hidden, mass / n, columnSums[0] / n);
    }
}
