using AttnEval.Abstractions;

namespace AttnEval.Metrics.Baselines;

/// <summary>
/// An estimator computed from the answer's own token scores (log-probabilities ℓ_t and full-vocabulary
/// entropies H_t, both in nats), specs/uq-methods.md §3. An empty answer has no tokens: the estimators
/// then throw, which costs that sample's value only.
/// </summary>
internal abstract class TokenScoreEstimator : ISampleEstimator, ISampleEstimatorFactory
{
    /// <inheritdoc />
    public abstract string Name { get; }
    /// <inheritdoc />
    public abstract string Description { get; }
    /// <inheritdoc />
    public IReadOnlyList<OptionSpec> Options => [];
    /// <inheritdoc />
    public MetricKind Kind => MetricKind.SampleEstimator;
    /// <inheritdoc />
    public MetricNeeds Needs => MetricNeeds.TokenScores;
    /// <inheritdoc />
    public ISampleEstimator Create(OptionValues options) => this;
    /// <inheritdoc />
    public IAttentionRowReducer? CreateReducer(ModelInfo model, int promptLength) => null;

    /// <inheritdoc />
    public SampleEstimate Estimate(EstimationContext context)
    {
        var s = context.Answer.Scores;
        if (s.Tokens.Count == 0) throw new InvalidOperationException($"{Name}: the answer has no tokens");
        return Compute(s.LogProbs, s.Entropies);
    }

    /// <summary>Computes the estimate from ℓ_t (length T ≥ 1, each ≤ 0) and H_t (length T, each ≥ 0).</summary>
    public abstract SampleEstimate Compute(IReadOnlyList<float> logProbs, IReadOnlyList<float> entropies);

    /// <summary>Σ_t ℓ_t accumulated in double precision.</summary>
    protected static double Sum(IReadOnlyList<float> xs)
    {
        double s = 0;
        foreach (var x in xs) s += x;
        return s;
    }
}

/// <summary>Maximum sequence probability: U = −Σ_t ℓ_t = −log P(y*|x); confidence P(y*|x) = exp(−U) ∈ (0, 1]
/// (LM-Polygraph <c>max_probability.py</c>; uq-methods.md §3).</summary>
internal sealed class MaximumSequenceProbability : TokenScoreEstimator
{
    /// <inheritdoc />
    public override string Name => "msp";
    /// <inheritdoc />
    public override string Description => "maximum sequence probability: -log P(answer | prompt) (uq-methods §3)";
    /// <inheritdoc />
    public override SampleEstimate Compute(IReadOnlyList<float> logProbs, IReadOnlyList<float> entropies)
    {
        var u = -Sum(logProbs);
        return new SampleEstimate(u, Math.Exp(-u));
    }
}

/// <summary>Log-perplexity: U = −(1/T) Σ_t ℓ_t; confidence = exp(−U), the geometric-mean token probability
/// (LM-Polygraph <c>perplexity.py</c>; uq-methods.md §3).</summary>
internal sealed class Perplexity : TokenScoreEstimator
{
    /// <inheritdoc />
    public override string Name => "perplexity";
    /// <inheritdoc />
    public override string Description => "log-perplexity of the answer: -(1/T) sum log p (uq-methods §3)";
    /// <inheritdoc />
    public override SampleEstimate Compute(IReadOnlyList<float> logProbs, IReadOnlyList<float> entropies)
    {
        var u = -Sum(logProbs) / logProbs.Count;
        return new SampleEstimate(u, Math.Exp(-u));
    }
}

/// <summary>Mean token entropy: U = (1/T) Σ_t H_t over the full vocabulary, in nats; no confidence
/// (LM-Polygraph <c>token_entropy.py</c>; uq-methods.md §3).</summary>
internal sealed class MeanTokenEntropy : TokenScoreEstimator
{
    /// <inheritdoc />
    public override string Name => "mean-token-entropy";
    /// <inheritdoc />
    public override string Description => "mean full-vocabulary entropy of the answer's tokens, nats (uq-methods §3)";
    /// <inheritdoc />
    public override SampleEstimate Compute(IReadOnlyList<float> logProbs, IReadOnlyList<float> entropies) =>
        new(Sum(entropies) / entropies.Count);
}

/// <summary>Max token entropy: U = max_t H_t, in nats; no confidence (the max variant of uq-methods.md §3).</summary>
internal sealed class MaxTokenEntropy : TokenScoreEstimator
{
    /// <inheritdoc />
    public override string Name => "max-token-entropy";
    /// <inheritdoc />
    public override string Description => "largest full-vocabulary token entropy of the answer, nats (uq-methods §3)";
    /// <inheritdoc />
    public override SampleEstimate Compute(IReadOnlyList<float> logProbs, IReadOnlyList<float> entropies) =>
        new(entropies.Max());
}
