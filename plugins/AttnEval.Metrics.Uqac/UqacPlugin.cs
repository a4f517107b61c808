using AttnEval.Abstractions;
using Microsoft.Extensions.DependencyInjection;

namespace AttnEval.Metrics.Uqac;

/// <summary>Registers the <c>uqac</c> estimator.</summary>
public sealed class UqacPlugin : IAttnEvalPlugin
{
    /// <inheritdoc />
    public string Name => "uqac";

    /// <inheritdoc />
    public void ConfigureServices(IServiceCollection services) =>
        services.AddSingleton<ISampleEstimatorFactory, UqacEstimatorFactory>();
}
