namespace AttnEval.Metrics.AttentionUq;

/// <summary>RAUQ of one layer: its chosen head, the confidences <c>c(j)</c> and the layer uncertainty <c>u_l</c>.</summary>
/// <param name="Layer">Model layer id.</param>
/// <param name="Head">h_l, the head with the largest mean self-weight (ties: lowest index).</param>
/// <param name="Confidences">c_l(0 … n−1).</param>
/// <param name="Uncertainty">u_l = 1 − mean_j ln c_l(j).</param>
internal sealed record RauqLayer(int Layer, int Head, IReadOnlyList<double> Confidences, double Uncertainty);

/// <summary>
/// The RAUQ computation (Vazhentsev et al. 2025, arXiv 2505.20045; LM-Polygraph <c>estimators/rauq.py</c> at
/// <c>efea882d</c>; specs/uq-attention-methods.md §1.2), on the stored per-step self-weights.
/// </summary>
internal static class RauqMath
{
    /// <summary>The default layer set 𝓛 = { l : ⌊L/3⌋ ≤ l ≤ ⌈2L/3⌉ }, both ends inclusive, clipped to the model (spec §1.2
    /// step 1): L = 32 → 10…22, L = 28 → 9…19, L = 2 → {0, 1}, L = 1 → {0}.</summary>
    /// <param name="layers">L ≥ 1.</param>
    /// <exception cref="ArgumentOutOfRangeException">L &lt; 1.</exception>
    public static IReadOnlyList<int> DefaultLayers(int layers)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(layers, 1);
        int lo = layers / 3, hi = Math.Min((2 * layers + 2) / 3, layers - 1);
        return Enumerable.Range(lo, hi - lo + 1).ToArray();
    }

    /// <summary>Token confidence inputs <c>s_i</c> (spec §1.2 step 3): <c>p_i = exp(ℓ_i)</c>, or, for the entropy variant,
    /// <c>ln V − H_i + 1e−10</c> (not normalised, in <c>(0, ln V]</c>). An entropy a float rounding above <c>ln V</c> is
    /// taken as <c>ln V</c> (LM-Polygraph would take the log of a negative number and return NaN).</summary>
    /// <param name="logProbs">ℓ_i in nats.</param>
    /// <param name="entropies">H_i in nats (entropy variant only).</param>
    /// <param name="vocabSize">V, the logits width (entropy variant only).</param>
    /// <param name="useEntropy">Entropy variant.</param>
    public static double[] TokenConfidences(IReadOnlyList<float> logProbs, IReadOnlyList<float> entropies, int vocabSize, bool useEntropy)
    {
        if (!useEntropy) return logProbs.Select(l => Math.Exp(l)).ToArray();
        double lnV = Math.Log(vocabSize);
        return entropies.Select(h => Math.Max(lnV - h, 0) + 1e-10).ToArray();
    }

    /// <summary>RAUQ of one layer (spec §1.2 steps 2, 4, 5).</summary>
    /// <param name="layer">The model layer id (reported only).</param>
    /// <param name="s">s_0 … s_{n−1}, n ≥ 1.</param>
    /// <param name="selfWeights"><c>[H][n−1]</c>: <c>a^{l,h}_j</c> for <c>j = 1 … n−1</c> at index <c>j − 1</c>.</param>
    /// <param name="alpha">α ∈ [0, 1].</param>
    /// <exception cref="ArgumentException">Shapes disagree.</exception>
    public static RauqLayer Layer(int layer, IReadOnlyList<double> s, IReadOnlyList<IReadOnlyList<double>> selfWeights, double alpha)
    {
        int n = s.Count;
        if (n < 1) throw new ArgumentException("RAUQ needs at least one token", nameof(s));
        if (selfWeights.Count < 1) throw new ArgumentException("RAUQ needs at least one head", nameof(selfWeights));
        if (selfWeights.Any(a => a.Count != n - 1))
            throw new ArgumentException($"every head needs n − 1 = {n - 1} self-weights", nameof(selfWeights));

        // h_l = argmax_h of the head's mean self-weight; the argmax of the sum is the same, ties to the lowest index
        int head = 0;
        double best = double.NegativeInfinity;
        for (int h = 0; h < selfWeights.Count; h++)
        {
            double sum = 0;
            foreach (var a in selfWeights[h]) sum += a;
            if (sum > best) { best = sum; head = h; }
        }

        var c = new double[n];
        c[0] = s[0];
        double sumLog = Math.Log(c[0]);
        for (int j = 1; j < n; j++)
        {
            c[j] = alpha * s[j] + (1 - alpha) * selfWeights[head][j - 1] * c[j - 1];
            sumLog += Math.Log(c[j]);
        }
        return new RauqLayer(layer, head, c, 1 - sumLog / n);
    }
}
