using AttnEval.Abstractions;

namespace AttnEval.Metrics.Uqac;

/// <summary>One single-token replacement of the chain (spec §1.7): the chain token at response index
/// <c>SourceId + 1</c> becomes <c>Token</c>, which had probability <c>Probability</c> at that position.</summary>
/// <param name="SourceId">Source id of the replaced chain token (response coordinates, ≥ −1).</param>
/// <param name="Token">The alternative token id.</param>
/// <param name="Probability">Its probability in the original pass, in (0, 1].</param>
internal readonly record struct Alternative(int SourceId, int Token, double Probability);

/// <summary>Similarity filtering, probability thresholding and the marginal of UQAC (specs/uq-methods.md §1.6–§1.8).</summary>
internal static class ChainMath
{
    /// <summary>Per-token probability floor of the marginal (spec §1.8: probabilities clamped at 1e−12).</summary>
    public const double ProbabilityFloor = 1e-12;

    /// <summary>log p clamped below at log 1e−12, in nats.</summary>
    public static double ClampedLog(double logProb) => Math.Max(logProb, Math.Log(ProbabilityFloor));

    /// <summary>
    /// "sim-mean" similarity of spec §1.6: the mean cosine between a chain token's embedding and each answer token's
    /// embedding (UQAC uses last-layer hidden states <c>h_{s+1}</c> and <c>h_a</c>). Result in [−1, 1].
    /// </summary>
    /// <exception cref="ArgumentException">No answer embeddings or vectors of different lengths.</exception>
    public static double MeanCosine(ReadOnlySpan<float> chainToken, IReadOnlyList<float[]> answerTokens)
    {
        if (answerTokens.Count == 0) throw new ArgumentException("sim-mean needs at least one answer embedding", nameof(answerTokens));
        double s = 0;
        foreach (var a in answerTokens)
        {
            if (a.Length != chainToken.Length) throw new ArgumentException($"embeddings of different lengths ({chainToken.Length} and {a.Length})");
            double dot = 0, nx = 0, ny = 0;
            for (int i = 0; i < a.Length; i++) { dot += (double)chainToken[i] * a[i]; nx += (double)chainToken[i] * chainToken[i]; ny += (double)a[i] * a[i]; }
            s += nx == 0 || ny == 0 ? 0 : dot / Math.Sqrt(nx * ny);
        }
        return s / answerTokens.Count;
    }

    /// <summary>
    /// Similarity filtering (spec §1.6): of the chain entries that are not answer entries, keep the <paramref name="topK"/>
    /// with the highest similarity to the answer among those with similarity ≥ <paramref name="threshold"/>, returned by
    /// position. Without a similarity (null) the entries are ranked by their backtracking score instead — AttnEval's
    /// fallback while the plugin contract exposes no hidden states (see README.md). Ties: earlier position first.
    /// </summary>
    /// <param name="nonAnswer">Chain entries without the answer entries.</param>
    /// <param name="similarity">Similarity of an entry to the answer, or null for the attention-score fallback.</param>
    /// <param name="topK">Maximum kept, ≥ 0 (default 10).</param>
    /// <param name="threshold">Minimum similarity (default 0.0); not applied to the fallback.</param>
    public static IReadOnlyList<ChainEntry> FilterBySimilarity(IReadOnlyList<ChainEntry> nonAnswer, Func<ChainEntry, double>? similarity, int topK = 10, double threshold = 0.0)
    {
        var ranked = similarity is null
            ? nonAnswer.Select(e => (Entry: e, Key: e.Score))
            : nonAnswer.Select(e => (Entry: e, Key: similarity(e))).Where(x => x.Key >= threshold);
        return ranked.OrderByDescending(x => x.Key).ThenBy(x => x.Entry.SourceId).Take(topK)
            .Select(x => x.Entry).OrderBy(e => e.SourceId).ToList();
    }

    /// <summary>
    /// Probability thresholding (spec §1.7): from the top candidates at every kept chain position, keep those with
    /// probability &gt; <paramref name="probabilityThreshold"/>, take the <c>ensK + |S_sim|</c> most probable across all
    /// positions, and drop the originally generated tokens. Ties: earlier position, then lower token id first.
    /// </summary>
    /// <param name="positions">Per kept chain entry: its source id, the generated token at <c>SourceId + 1</c>, and the top
    /// candidates (log-probabilities) of the distribution that predicted it.</param>
    /// <param name="probabilityThreshold">Strict lower bound on a candidate's probability (default 0.01).</param>
    /// <param name="ensK">ens-k (default 10).</param>
    public static IReadOnlyList<Alternative> Alternatives(IReadOnlyList<(int SourceId, int Generated, IReadOnlyList<TokenLogProb> Top)> positions,
        double probabilityThreshold = 0.01, int ensK = 10)
    {
        return positions
            .SelectMany(p => p.Top.Select(t => (p.SourceId, p.Generated, t.Token, Probability: Math.Exp(t.LogProb))))
            .Where(x => x.Probability > probabilityThreshold)
            .OrderByDescending(x => x.Probability).ThenBy(x => x.SourceId).ThenBy(x => x.Token)
            .Take(ensK + positions.Count)
            .Where(x => x.Token != x.Generated)
            .Select(x => new Alternative(x.SourceId, x.Token, x.Probability))
            .ToList();
    }

    /// <summary>
    /// The UQAC confidence (spec §1.8, "ens_marginal", P̃_M): <c>C = Σ_k seq_k · ans_k</c> over the original chain and its
    /// perturbations, from log-space factors. Not renormalised, so C ∈ [0, 1] when each factor is a proper probability.
    /// </summary>
    /// <param name="variants">Per variant: log seq_k (sum of clamped log-probabilities of the kept chain tokens) and log
    /// ans_k (the same over the answer tokens).</param>
    public static double Marginal(IEnumerable<(double LogSeq, double LogAns)> variants) =>
        variants.Sum(v => Math.Exp(v.LogSeq + v.LogAns));
}
