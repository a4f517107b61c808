using AttnEval.Abstractions;
using AttnEval.Plugins.Sdk;

namespace AttnEval.Metrics.Baselines;

/// <summary>
/// The quantities of specs/uq-methods.md §3 over the K sampled answers <c>s_k</c> of one prompt
/// (<see cref="EstimationContext.SampledAnswers"/>, recipe key <c>generation.samples</c>): the sequence
/// log-probability <c>Λ_k = Σ_t ℓ_{k,t}</c> (nats, ≤ 0) and the length <c>T_k</c> (tokens).
/// </summary>
/// <remarks>
/// <para><b>EOS.</b> The backends keep the token that ended a sequence (the contract: "the stop token is kept in
/// the output"), so by default <c>Λ_k</c> includes the log-probability of the end-of-sequence token and <c>T_k</c>
/// counts it, as LM-Polygraph's <c>sample_log_probs</c> do (uq-methods.md §3, §4.3). With
/// <c>include_eos: false</c> that last token is dropped from both when the sequence ended with a stop token
/// (<see cref="FinishReason.StopToken"/>); sequences cut by length, a stop string or a full context are unchanged.</para>
/// <para>Log-probabilities are those the backend reports for the sampled tokens: under the unscaled
/// (temperature-1, unwarped) model distribution, as §0 requires, whatever <c>generation.sample_temperature</c> was.</para>
/// </remarks>
internal static class SampledAnswers
{
    /// <summary>Description of the recipe option <c>include_eos</c> shared by the Λ-based estimators: whether Λ_k and T_k
    /// include the stop token.</summary>
    internal const string IncludeEosDescription = "Include the end-of-sequence token's log-prob in Λ_k and count it in T_k, as LM-Polygraph does (uq-methods §3/§4.3).";

    /// <summary>Default of <c>include_eos</c>: true, as LM-Polygraph.</summary>
    internal const bool DefaultIncludeEos = true;

    /// <summary>The sampled answers of the context, at least <paramref name="minimum"/> of them.</summary>
    /// <exception cref="InvalidOperationException">Fewer sampled answers: the message names the estimator and the recipe key.</exception>
    public static IReadOnlyList<GeneratedSequence> Require(EstimationContext context, int minimum, string estimator)
    {
        ArgumentNullException.ThrowIfNull(context);
        var s = context.SampledAnswers;
        if (s.Count < minimum)
            throw new InvalidOperationException(
                $"{estimator} needs at least {minimum} sampled answers per prompt but got {s.Count}; set generation.samples ≥ {minimum} in the recipe");
        return s;
    }

    /// <summary>Λ_k (nats, ≤ 0) and T_k (tokens) of one sampled answer (see the type's remarks for the EOS rule).</summary>
    /// <exception cref="InvalidOperationException">The answer has no token left to score.</exception>
    public static (double LogProb, int Length) SequenceLogProb(GeneratedSequence sequence, bool includeEos)
    {
        ArgumentNullException.ThrowIfNull(sequence);
        var lp = sequence.Scores.LogProbs;
        var n = lp.Count;
        if (!includeEos && sequence.Finish == FinishReason.StopToken && n > 0) n--;
        if (n == 0) throw new InvalidOperationException("a sampled answer has no scored token (empty continuation)");
        double sum = 0;
        for (var t = 0; t < n; t++) sum += lp[t];
        return (sum, n);
    }

    /// <summary>Λ_k and T_k of every sampled answer, in order.</summary>
    public static (double[] LogProbs, int[] Lengths) SequenceLogProbs(IReadOnlyList<GeneratedSequence> samples, bool includeEos)
    {
        ArgumentNullException.ThrowIfNull(samples);
        var lam = new double[samples.Count];
        var len = new int[samples.Count];
        for (var k = 0; k < samples.Count; k++) (lam[k], len[k]) = SequenceLogProb(samples[k], includeEos);
        return (lam, len);
    }

    /// <summary>The texts of the sampled answers, in order.</summary>
    public static string[] Texts(IReadOnlyList<GeneratedSequence> samples) => samples.Select(s => s.Text).ToArray();

    /// <summary>log Σ_i exp(x_i), computed stably (max shift). Returns −∞ for an empty list.</summary>
    public static double LogSumExp(IEnumerable<double> xs)
    {
        var a = xs as IReadOnlyList<double> ?? xs.ToArray();
        if (a.Count == 0) return double.NegativeInfinity;
        var m = a.Max();
        if (double.IsNegativeInfinity(m)) return m;
        double s = 0;
        foreach (var x in a) s += Math.Exp(x - m);
        return m + Math.Log(s);
    }
}

/// <summary>Base of the estimators over sampled answers: options, factory and the <see cref="ISampleEstimator"/> plumbing.</summary>
internal abstract class SampledAnswerEstimatorFactory : ISampleEstimatorFactory
{
    /// <inheritdoc />
    public abstract string Name { get; }
    /// <inheritdoc />
    public abstract string Description { get; }
    /// <inheritdoc />
    public abstract IReadOnlyList<OptionSpec> Options { get; }
    /// <inheritdoc />
    public MetricKind Kind => MetricKind.SampleEstimator;
    /// <inheritdoc />
    public abstract ISampleEstimator Create(OptionValues options);
}

/// <summary>An estimator whose value is a function of the sampled answers only (no attention, no reducer).</summary>
/// <param name="needs">What it needs (always includes <see cref="MetricNeeds.SampledAnswers"/>).</param>
/// <param name="estimate">The computation.</param>
internal sealed class SampledAnswerEstimator(MetricNeeds needs, Func<EstimationContext, SampleEstimate> estimate) : ISampleEstimator
{
    public MetricNeeds Needs { get; } = needs | MetricNeeds.SampledAnswers;
    public IAttentionRowReducer? CreateReducer(ModelInfo model, int promptLength) => null;
    public SampleEstimate Estimate(EstimationContext context) => estimate(context);
}

/// <summary>The <c>include_eos</c> option of the predictive entropies, declared once.</summary>
internal sealed record IncludeEosOptions
{
    [Option("include_eos", SampledAnswers.IncludeEosDescription)]
    public bool IncludeEos { get; init; } = SampledAnswers.DefaultIncludeEos;
}
