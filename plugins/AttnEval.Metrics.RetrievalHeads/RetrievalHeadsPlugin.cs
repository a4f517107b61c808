using AttnEval.Abstractions;
using AttnEval.Plugins.Sdk;
using Microsoft.Extensions.DependencyInjection;

namespace AttnEval.Metrics.RetrievalHeads;

/// <summary>Registers <c>retrieval-heads</c>.</summary>
public sealed class RetrievalHeadsPlugin : IAttnEvalPlugin
{
    /// <inheritdoc />
    public string Name => "retrieval-heads";

    /// <inheritdoc />
    public void ConfigureServices(IServiceCollection services) => services.AddSingleton<IHeadAnalysisFactory, RetrievalHeadsFactory>();
}

/// <summary>Factory of <see cref="RetrievalHeadAnalysis"/>; recipe name <c>retrieval-heads</c>, options mirror specs/head-methods.md §1.5.</summary>
internal sealed class RetrievalHeadsFactory : IHeadAnalysisFactory
{
    /// <inheritdoc />
    public string Name => "retrieval-heads";
    /// <inheritdoc />
    public string Description => "Retrieval heads by copy-paste score over needle-in-a-haystack trials, with a top-K vs random-K ablation check (Wu et al. 2024, arXiv 2404.15574)";
    /// <inheritdoc />
    public MetricKind Kind => MetricKind.HeadAnalysis;

    /// <inheritdoc />
    public IReadOnlyList<OptionSpec> Options => RetrievalHeadOptions.Specs;

    /// <inheritdoc />
    public IHeadAnalysis Create(OptionValues options) => new RetrievalHeadAnalysis(RetrievalHeadOptions.From(options));
}
