namespace AttnEval.Metrics.AttentionUq;

/// <summary>The per-token and sequence values of Focus.</summary>
/// <param name="Score">Focus = mean of <c>f_i</c> over the keyword tokens.</param>
/// <param name="Hallucination">hc_i, the per-token hallucination score.</param>
/// <param name="Penalised">f_i after the attention-propagated penalty.</param>
internal sealed record FocusResult(double Score, IReadOnlyList<double> Hallucination, IReadOnlyList<double> Penalised);

/// <summary>
/// The Focus computation (Zhang et al., "Enhancing uncertainty-based hallucination detection with stronger focus", EMNLP
/// 2023, arXiv 2311.13230) in LM-Polygraph's form (<c>estimators/focus.py</c> at <c>efea882d</c>),
/// specs/uq-attention-methods.md §4.2.
/// </summary>
internal static class FocusMath
{
    /// <summary>The epsilon inside the NLL term, <c>−ln(π̂(y) + 1e−5)</c>.</summary>
    public const double NllEpsilon = 1e-5;

    /// <summary>The epsilon of the attention-weight normaliser, <c>Σ M + 1e−6</c>.</summary>
    public const double WeightEpsilon = 1e-6;

    /// <summary>
    /// hc_i (spec §4.2 a): drop entries with <c>π(v) &lt; p</c> (the generated token is not exempt), weight by idf,
    /// renormalise to π̂, then <c>hc = −ln(π̂(y) + 1e−5) + 2^{H2(π̂)}</c> with the base-2 entropy over <c>π̂ &gt; 0</c>.
    /// </summary>
    /// <param name="distribution">Entries (token, π) of the step's distribution; only those with π ≥ p matter, so the
    /// top ⌈1/p⌉ entries are enough. Each token at most once.</param>
    /// <param name="token">y_i.</param>
    /// <param name="idf">idf(v).</param>
    /// <param name="p">The probability threshold p.</param>
    /// <returns>hc_i, or NaN where LM-Polygraph gives NaN (no entry reaches p; a non-positive total weight).</returns>
    public static double TokenScore(IEnumerable<(int Token, double Probability)> distribution, int token, Func<int, double> idf, double p)
    {
        var kept = distribution.Where(e => e.Probability >= p).Select(e => (e.Token, Weight: e.Probability * idf(e.Token))).ToList();
        double total = 0;
        foreach (var e in kept) total += e.Weight;
        if (kept.Count == 0 || total == 0) return double.NaN;
        double h2 = 0, target = 0;
        foreach (var (v, weight) in kept)
        {
            double q = weight / total;
            if (q > 0) h2 -= q * Math.Log2(q);
            if (v == token) target = q;
        }
        return -Math.Log(target + NllEpsilon) + Math.Pow(2, h2);
    }

    /// <summary>
    /// Focus from the per-token scores (spec §4.2 b–d): keyword rows get <c>W[i,k] = M[i,k] / (Σ_k' M[i,k'] + 1e−6)</c> over
    /// all earlier generated tokens, other rows 0; <c>f_0 = hc_0</c>, <c>f_i = hc_i + γ Σ_{k&lt;i} W[i,k] f_k</c>; the score is
    /// the mean of <c>f</c> over the keywords.
    /// </summary>
    /// <param name="hc">hc_0 … hc_{n−1}.</param>
    /// <param name="attention">M rows: <c>attention(i)</c> has length i (i ≥ 1), the max over layers and heads of the
    /// generation-time attention of step i over generated keys 0 … i−1; row 0 is never read.</param>
    /// <param name="keywords">K as a mask of length n.</param>
    /// <param name="gamma">γ.</param>
    /// <returns>The result; its score is NaN when K is empty (as LM-Polygraph).</returns>
    public static FocusResult Sequence(IReadOnlyList<double> hc, Func<int, IReadOnlyList<double>> attention, IReadOnlyList<bool> keywords, double gamma)
    {
        int n = hc.Count;
        if (keywords.Count != n) throw new ArgumentException($"the keyword mask has {keywords.Count} entries for {n} tokens", nameof(keywords));
        var f = new double[n];
        double sum = 0;
        int count = 0;
        for (int i = 0; i < n; i++)
        {
            f[i] = hc[i];
            if (i > 0 && keywords[i])
            {
                var m = attention(i);
                if (m.Count != i) throw new ArgumentException($"attention row {i} has {m.Count} entries, expected {i}", nameof(attention));
                double norm = WeightEpsilon, penalty = 0;
                for (int k = 0; k < i; k++) norm += m[k];
                for (int k = 0; k < i; k++) penalty += m[k] / norm * f[k];
                f[i] += gamma * penalty;
            }
            if (keywords[i]) { sum += f[i]; count++; }
        }
        return new FocusResult(count == 0 ? double.NaN : sum / count, hc, f);
    }
}
