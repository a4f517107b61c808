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
        services.AddSingleton<ISampleEstimatorFactory, PredictiveEntropy>();
        services.AddSingleton<ISampleEstimatorFactory, LengthNormalizedPredictiveEntropy>();
        services.AddSingleton<ISampleEstimatorFactory, SemanticEntropy>();
        services.AddSingleton<ISampleEstimatorFactory, DiscreteSemanticEntropy>();
        services.AddSingleton<ISampleEstimatorFactory, LexicalSimilarity>();
        services.AddSingleton<ISampleEstimatorFactory, EigVEstimator>();
        services.AddSingleton<ISampleEstimatorFactory, DegreeEstimator>();
        services.AddSingleton<ISampleEstimatorFactory, EccentricityEstimator>();
    }
}
