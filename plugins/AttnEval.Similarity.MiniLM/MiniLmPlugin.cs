using AttnEval.Abstractions;
using Microsoft.Extensions.DependencyInjection;

namespace AttnEval.Similarity.MiniLM;

/// <summary>Registers <see cref="MiniLmSimilarity"/> as the host's <see cref="ISentenceSimilarity"/> (kind <c>similarity</c> in <c>attneval list</c>).</summary>
public sealed class MiniLmPlugin : IAttnEvalPlugin
{
    /// <inheritdoc />
    public string Name => "minilm";

    /// <inheritdoc />
    public void ConfigureServices(IServiceCollection services) =>
        services.AddSingleton<ISentenceSimilarity, MiniLmSimilarity>();
}
