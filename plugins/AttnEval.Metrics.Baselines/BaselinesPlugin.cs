using AttnEval.Abstractions;
using Microsoft.Extensions.DependencyInjection;

namespace AttnEval.Metrics.Baselines;

/// <summary>Registers the baseline estimators.</summary>
public sealed class BaselinesPlugin : IAttnEvalPlugin
{
    /// <inheritdoc />
    public string Name => "baselines";

    /// <inheritdoc />
    public void ConfigureServices(IServiceCollection services)
    {
        services.AddSingleton<ISampleEstimatorFactory, MaximumSequenceProbability>();
        services.AddSingleton<ISampleEstimatorFactory, Perplexity>();
        services.AddSingleton<ISampleEstimatorFactory, MeanTokenEntropy>();
        services.AddSingleton<ISampleEstimatorFactory, MaxTokenEntropy>();
    }
}
