using AttnEval.Abstractions;
using Microsoft.Extensions.DependencyInjection;

namespace AttnEval.Metrics.Sar;

/// <summary>Registers <c>token-sar</c>, <c>sent-sar</c> and <c>sar</c>.</summary>
public sealed class SarPlugin : IAttnEvalPlugin
{
    /// <inheritdoc />
    public string Name => "sar";

    /// <inheritdoc />
    public void ConfigureServices(IServiceCollection services)
    {
        services.AddSingleton<ISampleEstimatorFactory, TokenSarEstimator>();
        services.AddSingleton<ISampleEstimatorFactory, SentSarEstimator>();
        services.AddSingleton<ISampleEstimatorFactory, SarEstimator>();
    }
}
