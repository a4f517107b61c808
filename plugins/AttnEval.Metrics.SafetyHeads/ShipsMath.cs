using AttnEval.Abstractions;

namespace AttnEval.Metrics.SafetyHeads;

/// <summary>
/// The per-query Ships score (Zhou et al. 2024, "On the Role of Attention Heads in Large Language Model Safety", arXiv
/// 2410.13708, §3.1; specs/head-methods.md §2.2): the KL divergence of the next-token distribution at the last prompt
/// position with the head ablated from the one without, and the model call that reads that distribution.
/// </summary>
internal static class ShipsMath
{
    /// <summary>The smoothing added to every probability before the KL (<c>p̃ = p + 1e-12</c>, reference code).</summary>
    public const double DefaultSmoothing = 1e-12;

    /// <summary>
    /// <c>KL(p ‖ q) = Σ_v p̃(v) · ln(p̃(v) / q̃(v))</c> with <c>p̃ = p + s</c>, <c>q̃ = q + s</c> (not renormalised, as the
    /// reference), in nats. Both inputs are distributions over the same vocabulary (each sums to 1, entries in [0, 1]);
    /// the result is then ≥ 0 up to rounding (Gibbs' inequality holds because both smoothed vectors have the same mass).
    /// </summary>
    /// <param name="p">The unablated distribution p_O, length V.</param>
    /// <param name="q">The ablated distribution p_abl, length V.</param>
    /// <param name="smoothing">s ≥ 0; with s = 0 a zero in q where p &gt; 0 gives +∞.</param>
    /// <exception cref="ArgumentException">Different lengths, empty input, or a negative or non-finite smoothing.</exception>
    public static double KlDivergence(ReadOnlySpan<double> p, ReadOnlySpan<double> q, double smoothing = DefaultSmoothing)
    {
        if (p.Length != q.Length) throw new ArgumentException($"KL needs distributions over the same vocabulary; got lengths {p.Length} and {q.Length}");
        if (p.Length == 0) throw new ArgumentException("KL of empty distributions");
        if (!(smoothing >= 0) || double.IsInfinity(smoothing)) throw new ArgumentException($"smoothing must be finite and ≥ 0, got {smoothing}", nameof(smoothing));
        double kl = 0;
        for (int v = 0; v < p.Length; v++)
        {
            double a = p[v] + smoothing, b = q[v] + smoothing;
            if (a == 0) continue;                       // 0 · ln 0 = 0
            kl += a * Math.Log(a / b);
        }
        return kl;
    }

    /// <summary>Probabilities from natural-log probabilities (−∞ → 0), renormalised in double precision to sum to 1 — a
    /// softmax of the given values, so that float32 log-probabilities from a backend (whose exponentials sum to 1 only within
    /// ~1e-7) keep the KL ≥ 0 guarantee of <see cref="KlDivergence"/>. Length V.</summary>
    /// <exception cref="ArgumentException">No finite entry.</exception>
    public static double[] Probabilities(ReadOnlySpan<double> logProbs)
    {
        double max = double.NegativeInfinity;
        foreach (var x in logProbs) if (x > max) max = x;
        if (!double.IsFinite(max)) throw new ArgumentException("log-probabilities have no finite entry");
        var p = new double[logProbs.Length];
        double sum = 0;
        for (int v = 0; v < p.Length; v++) sum += p[v] = Math.Exp(logProbs[v] - max);
        for (int v = 0; v < p.Length; v++) p[v] /= sum;
        return p;
    }

    /// <summary>
    /// Centred log-probabilities <c>ln p(v) − mean_v ln p(v)</c>, which equal the centred logits <c>z_v − mean(z)</c>: a
    /// linear image of the final-norm hidden state (<c>(W_U − 1·w̄ᵀ) h</c>). This is the per-query representation the
    /// generalized Ships rows use here (the contract exposes no hidden states; see the plugin README). Entries that are −∞
    /// (a backend that reports fewer than V alternatives) are replaced by the smallest finite value before centring.
    /// </summary>
    /// <exception cref="ArgumentException">No finite entry.</exception>
    public static double[] Centered(ReadOnlySpan<double> logProbs)
    {
        double min = double.PositiveInfinity, sum = 0;
        foreach (var x in logProbs) if (double.IsFinite(x)) min = Math.Min(min, x);
        if (double.IsPositiveInfinity(min)) throw new ArgumentException("log-probabilities have no finite entry");
        var r = new double[logProbs.Length];
        for (int v = 0; v < r.Length; v++) { r[v] = double.IsFinite(logProbs[v]) ? logProbs[v] : min; sum += r[v]; }
        double mean = sum / r.Length;
        for (int v = 0; v < r.Length; v++) r[v] -= mean;
        return r;
    }

    /// <summary>
    /// The full next-token log-distribution at the last prompt position, <c>ln p(v | prompt)</c> for every v in [0, V), with
    /// the given interventions active: one teacher-forced <see cref="ILanguageModel.Score"/> call over the prompt plus one
    /// placeholder token, asking for all V alternatives at that position. Tokens a backend does not report get −∞.
    /// </summary>
    /// <param name="model">The model.</param>
    /// <param name="prompt">Prompt token ids (BOS included when the model uses one), length ≥ 1.</param>
    /// <param name="interventions">Head operators active during the pass (empty = the unablated model θ_O).</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <exception cref="ArgumentException">An empty prompt, or one that leaves no room in the context for the placeholder.</exception>
    public static double[] NextTokenLogProbs(ILanguageModel model, IReadOnlyList<int> prompt, IReadOnlyList<HeadIntervention> interventions,
        CancellationToken cancellationToken = default) => NextToken(model, prompt, interventions, finalHidden: false, cancellationToken).LogProbs;

    /// <summary>The next-token log-distribution after <paramref name="prompt"/> (as <see cref="NextTokenLogProbs"/>) and, with
    /// <paramref name="finalHidden"/>, the final normalised hidden state at the last prompt position (length d_model; the
    /// reference's <c>hidden_states[-1][:, -1, :]</c>, head-methods §2.3), from the same forward pass.</summary>
    /// <exception cref="ArgumentException">An empty prompt or one that fills the context.</exception>
    /// <exception cref="NotSupportedException"><paramref name="finalHidden"/> on a model without final hidden states.</exception>
    public static (double[] LogProbs, float[]? LastHidden) NextToken(ILanguageModel model, IReadOnlyList<int> prompt, IReadOnlyList<HeadIntervention> interventions,
        bool finalHidden, CancellationToken cancellationToken = default)
    {
        if (prompt.Count == 0) throw new ArgumentException("Ships needs a non-empty prompt", nameof(prompt));
        int vocab = model.Info.VocabSize;
        if (prompt.Count + 1 > model.Info.ContextLength)
            throw new ArgumentException($"the prompt has {prompt.Count} tokens; Ships reads the next-token distribution after it, which needs at most {model.Info.ContextLength - 1} (context {model.Info.ContextLength})", nameof(prompt));
        var tokens = new List<int>(prompt) { prompt[^1] };          // any valid id: only the distribution before it is read
        var scores = model.Score(new ScoreRequest { Tokens = tokens, From = prompt.Count, TopLogProbs = vocab, Interventions = interventions, CaptureFinalHidden = finalHidden }, cancellationToken);
        var top = scores.TopK is { Count: > 0 } t ? t[0] : throw new InvalidOperationException($"model '{model.Info.Name}' returned no top-{vocab} alternatives from Score; Ships needs the full next-token distribution");
        var logp = new double[vocab];
        Array.Fill(logp, double.NegativeInfinity);
        foreach (var a in top)
            if (a.Token >= 0 && a.Token < vocab) logp[a.Token] = a.LogProb;
        float[]? hidden = null;
        if (finalHidden)
            hidden = scores.FinalHidden is { } h && h.Count > prompt.Count - 1 ? h[prompt.Count - 1]
                : throw new InvalidOperationException($"model '{model.Info.Name}' returned no final hidden states from Score");
        return (logp, hidden);
    }
}
