namespace AttnEval.Metrics.Sar;

/// <summary>
/// The formulas of SAR (Duan et al., "Shifting Attention to Relevance", ACL 2024, §3; official code
/// <c>jinhaoduan/SAR: src/compute_uncertainty.py</c>; specs/uq-methods.md §2.1–§2.2), free of any model.
/// All log-probabilities and NLLs are natural-log (nats).
/// </summary>
internal static class SarMath
{
    /// <summary>The SAR paper's temperature t of the sentence relevance term (spec §2.2–§2.3).</summary>
    public const double DefaultTemperature = 0.001;

    /// <summary>
    /// Token relevance <c>R_T(z_i) = 1 − g_i</c> with <c>g_i</c> the similarity of the full answer and the answer with
    /// token i removed (spec §2.1). Similarities are clamped to [0, 1] first (a bi-encoder cosine can be negative), so
    /// every relevance is in [0, 1].
    /// </summary>
    /// <param name="similarities">g_i per token, length n ≥ 1; NaN is refused.</param>
    /// <exception cref="ArgumentException">Empty input or a NaN similarity.</exception>
    public static double[] TokenRelevances(IReadOnlyList<double> similarities)
    {
        if (similarities.Count == 0) throw new ArgumentException("TokenSAR needs at least one token", nameof(similarities));
        var r = new double[similarities.Count];
        for (int i = 0; i < r.Length; i++)
        {
            if (double.IsNaN(similarities[i])) throw new ArgumentException($"similarity of token {i} is NaN", nameof(similarities));
            r[i] = 1 - Math.Clamp(similarities[i], 0, 1);
        }
        return r;
    }

    /// <summary>
    /// TokenSAR: the relevance-weighted NLL <c>Σ_i R̃_T(z_i) · (−log p(z_i | z_&lt;i, x))</c> with
    /// <c>R̃_T = R_T / Σ_k R_T(z_k)</c> (spec §2.1). When every relevance is 0 (all tokens special, or the similarity
    /// model sees no change for any removal) the weights are uniform, i.e. the mean NLL: a documented choice, the paper
    /// leaves 0/0 undefined.
    /// </summary>
    /// <param name="logProbs">log p(z_i | …) per token, each ≤ 0, length n.</param>
    /// <param name="relevances">R_T(z_i) ≥ 0, length n (see <see cref="TokenRelevances"/>).</param>
    /// <returns>TokenSAR ≥ 0, in nats.</returns>
    /// <exception cref="ArgumentException">Lengths differ or are 0, or a relevance is negative.</exception>
    public static double TokenSar(IReadOnlyList<float> logProbs, IReadOnlyList<double> relevances)
    {
        if (logProbs.Count != relevances.Count || logProbs.Count == 0)
            throw new ArgumentException($"TokenSAR needs one relevance per token (got {logProbs.Count} tokens and {relevances.Count} relevances, at least 1)");
        double total = 0;
        foreach (var r in relevances)
        {
            if (!(r >= 0)) throw new ArgumentException($"relevance {r} is negative or NaN", nameof(relevances));
            total += r;
        }
        double s = 0;
        for (int i = 0; i < logProbs.Count; i++)
            s += (total > 0 ? relevances[i] / total : 1.0 / logProbs.Count) * -logProbs[i];
        return s;
    }

    /// <summary>
    /// Sentence-level SAR (spec §2.2): for generations j = 1..K with probabilities <c>p_j</c> and pairwise similarities
    /// <c>g_jk</c>, <c>R_S(s_j) = Σ_{k≠j} g_jk · p_k</c> and <c>E_S(s_j) = −log(p_j + R_S(s_j) / t)</c>; the score is the
    /// mean of <c>E_S</c> (higher = more uncertain). Computed in log space (log-sum-exp) so that sequence probabilities
    /// far below the double range (long answers) stay exact. Similarities are clamped to [0, 1] so the argument of the
    /// log stays positive.
    /// </summary>
    /// <param name="logProbabilities">log p_j ≤ 0, finite, length K ≥ 1: the full sequence log-probability for SentSAR,
    /// −TokenSAR for SAR.</param>
    /// <param name="similarity">g(j, k) for j ≠ k; called once per unordered pair (assumed symmetric) with j &lt; k.</param>
    /// <param name="temperature">t &gt; 0 (default <see cref="DefaultTemperature"/>).</param>
    /// <returns>The mean score and the per-generation <c>E_S(s_j)</c>, in nats.</returns>
    /// <exception cref="ArgumentException">No generations, a log-probability that is positive or not finite, or t ≤ 0.</exception>
    public static (double Score, double[] PerGeneration) SentenceSar(IReadOnlyList<double> logProbabilities, Func<int, int, double> similarity, double temperature = DefaultTemperature)
    {
        int k = logProbabilities.Count;
        if (k == 0) throw new ArgumentException("SentSAR/SAR need at least one sampled answer", nameof(logProbabilities));
        if (!(temperature > 0)) throw new ArgumentException($"temperature t must be > 0, got {temperature}", nameof(temperature));
        foreach (var lp in logProbabilities)
            if (!(lp <= 0) || !double.IsFinite(lp)) throw new ArgumentException($"log-probability {lp} is not a finite value ≤ 0", nameof(logProbabilities));
        var g = new double[k, k];
        for (int a = 0; a < k; a++)
            for (int b = a + 1; b < k; b++)
                g[a, b] = g[b, a] = Math.Clamp(similarity(a, b), 0, 1);
        var e = new double[k];
        var terms = new List<double>(k);
        double logT = Math.Log(temperature);
        for (int j = 0; j < k; j++)
        {
            terms.Clear();
            terms.Add(logProbabilities[j]);
            for (int m = 0; m < k; m++)
                if (m != j && g[j, m] > 0) terms.Add(Math.Log(g[j, m]) + logProbabilities[m] - logT);
            e[j] = -LogSumExp(terms);
        }
        return (e.Average(), e);
    }

    private static double LogSumExp(List<double> xs)
    {
        double max = xs.Max(), s = 0;
        foreach (var x in xs) s += Math.Exp(x - max);
        return max + Math.Log(s);
    }
}
