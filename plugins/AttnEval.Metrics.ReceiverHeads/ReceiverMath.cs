namespace AttnEval.Metrics.ReceiverHeads;

/// <summary>The numbers of Thought Anchors' receiver-head analysis (Bogdan et al. 2025, arXiv 2506.19143;
/// specs/head-methods.md §5.2).</summary>
internal static class ReceiverMath
{
    /// <summary>Vertical score of every sentence: <c>v_j = nanmean_{i ≥ j+p} M[i, j]</c>, the mean attention sentence
    /// <c>j</c> receives from the sentences at least <paramref name="proximityIgnore"/> after it. NaN where no such
    /// sentence exists (the last <c>p</c> sentences) or every such cell is NaN.</summary>
    /// <param name="m">Sentence-averaged attention <c>M</c>, <c>n × n</c> row-major (row = attending
    /// sentence <c>i</c>, column = attended sentence <c>j</c>); NaN cells are ignored.</param>
    /// <param name="n">Number of sentences.</param>
    /// <param name="proximityIgnore"><c>p ≥ 0</c>; 0 keeps the diagonal block.</param>
    public static double[] VerticalScores(ReadOnlySpan<double> m, int n, int proximityIgnore)
    {
        if (m.Length != n * n) throw new ArgumentException($"M has {m.Length} cells, expected {n}×{n}", nameof(m));
        ArgumentOutOfRangeException.ThrowIfNegative(proximityIgnore);
        var v = new double[n];
        for (int j = 0; j < n; j++)
        {
            double sum = 0; int count = 0;
            for (int i = j + proximityIgnore; i < n; i++)
            {
                double x = m[i * n + j];
                if (double.IsNaN(x)) continue;
                sum += x; count++;
            }
            v[j] = count == 0 ? double.NaN : sum / count;
        }
        return v;
    }

    /// <summary>Fisher excess kurtosis with population (biased) moments, <c>m4 / m2² − 3</c>, of the finite values
    /// (NaN ignored; scipy <c>kurtosis(fisher=True, bias=True, nan_policy="omit")</c>). NaN when fewer than two values
    /// are finite or they are all equal (m2 = 0).</summary>
    public static double ExcessKurtosis(ReadOnlySpan<double> values)
    {
        double sum = 0; int n = 0;
        foreach (var x in values) if (double.IsFinite(x)) { sum += x; n++; }
        if (n < 2) return double.NaN;
        double mean = sum / n, m2 = 0, m4 = 0;
        foreach (var x in values)
        {
            if (!double.IsFinite(x)) continue;
            double d = (x - mean) * (x - mean);
            m2 += d; m4 += d * d;
        }
        m2 /= n; m4 /= n;
        // equal values up to float64 resolution: scipy's test (m2 ≤ (1e-15·mean)²) gives NaN there
        if (m2 <= 1e-15 * mean * (1e-15 * mean)) return double.NaN;
        return m4 / (m2 * m2) - 3;
    }
}
