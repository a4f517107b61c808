using System.Globalization;
using AttnEval.Abstractions;
using AttnEval.Plugins.Sdk;
using Microsoft.Extensions.DependencyInjection;

namespace AttnEval.Metrics.ReceiverHeads;

/// <summary>Registers <c>receiver-heads</c>.</summary>
public sealed class ReceiverHeadsPlugin : IAttnEvalPlugin
{
    /// <inheritdoc />
    public string Name => "receiver-heads";

    /// <inheritdoc />
    public void ConfigureServices(IServiceCollection services) => services.AddSingleton<IHeadAnalysisFactory, ReceiverHeadsFactory>();
}

/// <summary>
/// Factory of the <c>receiver-heads</c> analysis (Thought Anchors, Bogdan, Macar, Nanda, Conmy 2025, arXiv 2506.19143;
/// specs/head-methods.md §5.2): per response, the sentence-averaged attention <c>M[i, j]</c> of every head, the vertical
/// score <c>v_j = nanmean_{i ≥ j+p} M[i, j]</c>, the excess kurtosis of <c>{v_j}</c>; the head score is the kurtosis
/// averaged over responses, and the <c>top_k</c> heads are the receiver heads. Options are checked by <see cref="Create"/>.
/// </summary>
internal sealed class ReceiverHeadsFactory : IHeadAnalysisFactory
{
    /// <summary>The recipe name.</summary>
    public const string MetricName = "receiver-heads";

    /// <inheritdoc />
    public string Name => MetricName;
    /// <inheritdoc />
    public string Description => "Thought Anchors receiver heads: per-head kurtosis of the sentence vertical attention scores, averaged over responses, and per-sentence receiver scores (Bogdan et al. 2025, arXiv 2506.19143)";
    /// <inheritdoc />
    public MetricKind Kind => MetricKind.HeadAnalysis;

    /// <inheritdoc />
    public IReadOnlyList<OptionSpec> Options => OptionBinder.Specs<ReceiverHeadOptions>();

    /// <inheritdoc />
    /// <exception cref="ArgumentException">An option outside its range; the message names <c>metrics.receiver-heads.&lt;key&gt;</c>.</exception>
    public IHeadAnalysis Create(OptionValues options) => new ReceiverHeadAnalysis(ReceiverHeadOptions.From(options));
}

/// <summary>Where the analysed chain comes from (option <c>response</c>).</summary>
internal enum ResponseSource
{
    /// <summary>The model's greedy continuation of the rendered prompt.</summary>
    Generate,
    /// <summary>The dataset item's target text.</summary>
    Target,
}

/// <summary>Validated settings of the receiver-head analysis, declared once as its recipe options (key, meaning and range
/// in the attribute, default in the initializer).</summary>
internal sealed record ReceiverHeadOptions
{
    [Option("top_k", "receiver heads = the top K heads by mean kurtosis (paper: 20); clamped to the number of heads with a score", Min = 1)]
    public int TopK { get; init; } = 20;

    [Option("proximity_ignore", "p: v_j averages M[i, j] over i ≥ j + p only (reference receiver-head functions: 4)", Min = 0)]
    public int ProximityIgnore { get; init; } = 4;

    [Option("exclude_layer0", "leave layer 0 out of the receiver heads (paper/spec: its kurtosis can be NaN); its scores are still reported")]
    public bool ExcludeLayer0 { get; init; } = true;

    [Option("response", "generate: the model's greedy continuation of the rendered prompt is the analysed chain; target: the dataset item's target text")]
    public ResponseSource Response { get; init; } = ResponseSource.Generate;

    [Option("max_new_tokens", "generate: tokens per response", Min = 1)]
    public int MaxNewTokens { get; init; } = 256;

    [Option("stop", "generate: strings that end a response")]
    public IReadOnlyList<string> Stop { get; init; } = [];

    [Option("boundaries", "sentences: '.', '?' or '!' before a space or newline, and blank lines (reference split_solution_into_chunks); sentences_and_lines: also every newline (one step per line)")]
    public SentenceBoundaries Boundaries { get; init; } = SentenceBoundaries.Sentences;

    [Option("include_prompt", "also split the rendered prompt (BOS excluded) into sentences placed before the response's (reference: the chain of thought only)")]
    public bool IncludePrompt { get; init; }

    [Option("min_sentences", "responses with fewer sentences are skipped (recorded with the reason)", Min = 1)]
    public int MinSentences { get; init; } = 2;

    /// <summary>The greedy continuation is analysed (else the target).</summary>
    public bool GenerateResponse => Response == ResponseSource.Generate;

    /// <summary>Reads option values (defaults for absent keys) and checks their ranges.</summary>
    /// <exception cref="ArgumentException">A value out of range or not allowed; the message starts with <c>metrics.receiver-heads.&lt;key&gt;:</c>.</exception>
    public static ReceiverHeadOptions From(OptionValues o) => OptionBinder.Bind<ReceiverHeadOptions>(o, "metrics." + ReceiverHeadsFactory.MetricName + ".");
}
