using AttnEval.Abstractions;
using Microsoft.Extensions.DependencyInjection;

namespace AttnEval.Metrics.AttentionUq;

/// <summary>Registers <c>rauq</c>, <c>attention-score</c>, <c>csl</c>, <c>focus</c>, <c>attention-entropy</c>,
/// <c>attention-recursive</c>, <c>exp-attention-entropy</c> and <c>exp-attention-recursive</c>
/// (specs/uq-attention-methods.md §1–§5).</summary>
public sealed class AttentionUqPlugin : IAttnEvalPlugin
{
    /// <inheritdoc />
    public string Name => "attention-uq";

    /// <inheritdoc />
    public void ConfigureServices(IServiceCollection services)
    {
        services.AddSingleton<ISampleEstimatorFactory, RauqEstimatorFactory>();
        services.AddSingleton<ISampleEstimatorFactory, AttentionScoreEstimatorFactory>();
        services.AddSingleton<ISampleEstimatorFactory, CslEstimatorFactory>();
        services.AddSingleton<ISampleEstimatorFactory, FocusEstimatorFactory>();
        services.AddSingleton<ISampleEstimatorFactory, AttentionEntropyEstimatorFactory>();
        services.AddSingleton<ISampleEstimatorFactory, AttentionRecursiveEstimatorFactory>();
        services.AddSingleton<ISampleEstimatorFactory, ExpAttentionEntropyEstimatorFactory>();
        services.AddSingleton<ISampleEstimatorFactory, ExpAttentionRecursiveEstimatorFactory>();
    }
}
