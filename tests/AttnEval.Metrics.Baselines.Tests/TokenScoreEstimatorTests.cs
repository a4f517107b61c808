using AttnEval.Metrics.Baselines;

namespace AttnEval.Metrics.Baselines.Tests;

/// <summary>Values of specs/uq-methods.md §7 TV-6 (generation 1: NLLs 0.1, 2.0, 0.3).</summary>
public class TokenScoreEstimatorTests
{
    private static readonly float[] LogProbs = [-0.1f, -2.0f, -0.3f];
    private static readonly float[] Entropies = [0.5f, 1.5f, 0.1f];

    [Fact]
    public void Msp_is_the_negative_sequence_log_probability()
    {
        var e = new MaximumSequenceProbability().Compute(LogProbs, Entropies);
        e.Uncertainty.Should().BeApproximately(2.4, 1e-6);
        e.Confidence.Should().BeApproximately(Math.Exp(-2.4), 1e-6);
    }

    [Fact]
    public void Perplexity_is_the_mean_negative_log_probability()
    {
        var e = new Perplexity().Compute(LogProbs, Entropies);
        e.Uncertainty.Should().BeApproximately(0.8, 1e-6);
        e.Confidence.Should().BeApproximately(Math.Exp(-0.8), 1e-6);
    }

    [Fact]
    public void Token_entropy_variants()
    {
        new MeanTokenEntropy().Compute(LogProbs, Entropies).Uncertainty.Should().BeApproximately(0.7, 1e-6);
        new MaxTokenEntropy().Compute(LogProbs, Entropies).Uncertainty.Should().BeApproximately(1.5, 1e-6);
        new MeanTokenEntropy().Compute(LogProbs, Entropies).Confidence.Should().BeNull();
    }
}
