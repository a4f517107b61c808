using Microsoft.Extensions.DependencyInjection;

namespace AttnEval.Abstractions;

/// <summary>
/// Entry point of a plugin assembly. The host finds every public non-abstract implementation in
/// <c>plugins/&lt;Name&gt;/&lt;Name&gt;.dll</c>, creates it with its parameterless constructor and lets it
/// register what it exports (<see cref="IModelBackend"/>, <see cref="ISampleEstimatorFactory"/>,
/// <see cref="IHeadAnalysisFactory"/>, <see cref="IDataScorerFactory"/>, <see cref="IJudgeFactory"/>)
/// as singletons in the host's container.
/// </summary>
public interface IAttnEvalPlugin
{
    /// <summary>Plugin name, shown by <c>attneval list</c>.</summary>
    string Name { get; }

    /// <summary>Registers the plugin's exports.</summary>
    void ConfigureServices(IServiceCollection services);
}
