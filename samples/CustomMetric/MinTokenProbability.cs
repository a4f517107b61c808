using AttnEval.Abstractions;
using Microsoft.Extensions.DependencyInjection;

namespace CustomMetric;

/// <summary>
/// Example metric: the answer is as trustworthy as its least likely token. Uncertainty U = −min_t ℓ_t (nats) over the
/// answer's tokens, skipping the last <c>skip_last</c> tokens (e.g. an end-of-sequence token); confidence = exp(−U).
/// </summary>
public sealed class MinTokenProbability : ISampleEstimatorFactory
{
    /// <inheritdoc />
    public string Name => "min-token-probability";

    /// <inheritdoc />
    public string Description => "sample plugin: -log of the least likely answer token";

    /// <inheritdoc />
    public MetricKind Kind => MetricKind.SampleEstimator;

    /// <inheritdoc />
    public IReadOnlyList<OptionSpec> Options { get; } =
    [
        new("skip_last", OptionType.Integer, 0L, "trailing answer tokens to ignore (e.g. 1 to skip EOS)") { Min = 0, Max = 16 },
    ];

    /// <inheritdoc />
    public ISampleEstimator Create(OptionValues options) => new Estimator(options.GetInt("skip_last", 0));

    private sealed class Estimator(int skipLast) : ISampleEstimator
    {
        public MetricNeeds Needs => MetricNeeds.TokenScores;

        public IAttentionRowReducer? CreateReducer(ModelInfo model, int promptLength) => null;

        public SampleEstimate Estimate(EstimationContext context)
        {
            var lp = context.Answer.Scores.LogProbs;
            int n = lp.Count - skipLast;
            if (n <= 0) throw new InvalidOperationException($"the answer has {lp.Count} tokens, none left after skip_last={skipLast}");
            double min = 0;
            for (int t = 0; t < n; t++) min = Math.Min(min, lp[t]);
            return new SampleEstimate(-min, Math.Exp(min));
        }
    }
}

/// <summary>The plugin's entry point: the host creates it and lets it register its exports.</summary>
public sealed class CustomMetricPlugin : IAttnEvalPlugin
{
    /// <inheritdoc />
    public string Name => "custom-metric-sample";

    /// <inheritdoc />
    public void ConfigureServices(IServiceCollection services) =>
        services.AddSingleton<ISampleEstimatorFactory, MinTokenProbability>();
}
