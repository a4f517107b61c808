using AttnEval.Abstractions;
using Microsoft.Extensions.DependencyInjection;

namespace AttnEvalMetric;

/// <summary>
/// The metric <c>my-metric</c>: the share of the answer's tokens whose probability is below <c>threshold</c>.
/// Uncertainty U = #{t : p_t &lt; threshold} / n over the n answer tokens (0 = every token likely, 1 = none);
/// confidence = 1 − U. Replace <see cref="Estimator.Estimate"/> with your method and keep the shape: declare what you
/// need (<see cref="MetricNeeds"/>), return an uncertainty (higher = less trustworthy) and, if you have one, a confidence
/// in [0, 1].
/// </summary>
public sealed class Metric : ISampleEstimatorFactory
{
    /// <inheritdoc />
    public string Name => "my-metric";

    /// <inheritdoc />
    public string Description => "share of answer tokens with probability below a threshold";

    /// <inheritdoc />
    public MetricKind Kind => MetricKind.SampleEstimator;

    /// <summary>Recipe options (<c>metrics: [{ name: my-metric, threshold: 0.3 }]</c>): the host checks type and range
    /// before any model loads, and refuses unknown keys.</summary>
    public IReadOnlyList<OptionSpec> Options { get; } =
    [
        new("threshold", OptionType.Number, 0.5, "a token counts as unlikely below this probability") { Min = 0, Max = 1 },
    ];

    /// <inheritdoc />
    public ISampleEstimator Create(OptionValues options) => new Estimator(options.GetDouble("threshold", 0.5));

    private sealed class Estimator(double threshold) : ISampleEstimator
    {
        // Only the answer's per-token log-probabilities: no attention rows, sampled answers or extra model calls.
        public MetricNeeds Needs => MetricNeeds.TokenScores;

        public IAttentionRowReducer? CreateReducer(ModelInfo model, int promptLength) => null;

        public SampleEstimate Estimate(EstimationContext context)
        {
            var logProbs = context.Answer.Scores.LogProbs;
            if (logProbs.Count == 0) throw new InvalidOperationException("the answer has no tokens");
            double logThreshold = Math.Log(threshold);
            int unlikely = logProbs.Count(lp => lp < logThreshold);
            double share = (double)unlikely / logProbs.Count;
            return new SampleEstimate(share, 1 - share);
        }
    }
}

/// <summary>The plugin's entry point: the host creates it and lets it register its exports.</summary>
public sealed class Plugin : IAttnEvalPlugin
{
    /// <inheritdoc />
    public string Name => "AttnEvalMetric";

    /// <inheritdoc />
    public void ConfigureServices(IServiceCollection services) => services.AddSingleton<ISampleEstimatorFactory, Metric>();
}
