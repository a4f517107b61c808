using AttnEval.Abstractions;
using AttnEval.Plugins.Sdk;

namespace AttnEval.Metrics.Baselines;

/// <summary>
/// Predictive entropy (Monte-Carlo sequence entropy): <c>U = −(1/K) Σ_k Λ_k</c> over K sampled answers, nats
/// (uq-methods.md §3; LM-Polygraph <c>monte_carlo_sequence_entropy.py</c>). No confidence. Needs
/// <c>generation.samples ≥ 1</c>; Λ_k includes the EOS log-prob unless <c>include_eos: false</c>
/// (<see cref="SampledAnswers"/>). Test values: TV-6 (1.4) and TV-7 (1.95).
/// </summary>
internal sealed class PredictiveEntropy : SampledAnswerEstimatorFactory
{
    /// <inheritdoc />
    public override string Name => "predictive-entropy";
    /// <inheritdoc />
    public override string Description => "predictive entropy -(1/K) sum_k log P(s_k | x) over sampled answers, nats (uq-methods §3)";
    /// <inheritdoc />
    public override IReadOnlyList<OptionSpec> Options => OptionBinder.Specs<IncludeEosOptions>();

    /// <summary>U = −mean_k Λ_k.</summary>
    /// <param name="logProbs">Λ_k, K ≥ 1 values (nats).</param>
    /// <exception cref="ArgumentException">An empty list.</exception>
    public static double Compute(IReadOnlyList<double> logProbs)
    {
        ArgumentNullException.ThrowIfNull(logProbs);
        if (logProbs.Count == 0) throw new ArgumentException("predictive entropy needs at least one sampled answer", nameof(logProbs));
        return -logProbs.Average();
    }

    /// <inheritdoc />
    public override ISampleEstimator Create(OptionValues options)
    {
        var eos = OptionBinder.Bind<IncludeEosOptions>(options).IncludeEos;
        return new SampledAnswerEstimator(MetricNeeds.None, ctx =>
            new SampleEstimate(Compute(SampledAnswers.SequenceLogProbs(SampledAnswers.Require(ctx, 1, Name), eos).LogProbs)));
    }
}

/// <summary>
/// Length-normalised predictive entropy (LN-PE): <c>U = −(1/K) Σ_k Λ_k / T_k</c>, nats per token
/// (uq-methods.md §3; LM-Polygraph <c>monte_carlo_normalized_sequence_entropy.py</c>). No confidence. T_k counts the
/// EOS token unless <c>include_eos: false</c> (<see cref="SampledAnswers"/>). Test values: TV-6 (0.816667), TV-7 (0.695833).
/// </summary>
internal sealed class LengthNormalizedPredictiveEntropy : SampledAnswerEstimatorFactory
{
    /// <inheritdoc />
    public override string Name => "ln-predictive-entropy";
    /// <inheritdoc />
    public override string Description => "length-normalised predictive entropy -(1/K) sum_k log P(s_k | x) / T_k, nats per token (uq-methods §3)";
    /// <inheritdoc />
    public override IReadOnlyList<OptionSpec> Options => OptionBinder.Specs<IncludeEosOptions>();

    /// <summary>U = −mean_k Λ_k / T_k.</summary>
    /// <param name="logProbs">Λ_k, K ≥ 1 values (nats).</param>
    /// <param name="lengths">T_k ≥ 1, same length.</param>
    /// <exception cref="ArgumentException">Empty or different-length lists, or a length below 1.</exception>
    public static double Compute(IReadOnlyList<double> logProbs, IReadOnlyList<int> lengths)
    {
        ArgumentNullException.ThrowIfNull(logProbs);
        ArgumentNullException.ThrowIfNull(lengths);
        if (logProbs.Count == 0 || logProbs.Count != lengths.Count)
            throw new ArgumentException($"need K ≥ 1 log-probabilities and as many lengths (got {logProbs.Count} and {lengths.Count})", nameof(lengths));
        double s = 0;
        for (var k = 0; k < logProbs.Count; k++)
        {
            if (lengths[k] < 1) throw new ArgumentException($"length of sampled answer {k} is {lengths[k]}; expected ≥ 1", nameof(lengths));
            s += logProbs[k] / lengths[k];
        }
        return -s / logProbs.Count;
    }

    /// <inheritdoc />
    public override ISampleEstimator Create(OptionValues options)
    {
        var eos = OptionBinder.Bind<IncludeEosOptions>(options).IncludeEos;
        return new SampledAnswerEstimator(MetricNeeds.None, ctx =>
        {
            var (lam, len) = SampledAnswers.SequenceLogProbs(SampledAnswers.Require(ctx, 1, Name), eos);
            return new SampleEstimate(Compute(lam, len));
        });
    }
}
