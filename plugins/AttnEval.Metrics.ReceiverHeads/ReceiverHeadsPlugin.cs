using System.Globalization;
using AttnEval.Abstractions;
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
public sealed class ReceiverHeadsFactory : IHeadAnalysisFactory
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
    public IReadOnlyList<OptionSpec> Options { get; } =
    [
        new("top_k", OptionType.Integer, 20, "receiver heads = the top K heads by mean kurtosis (paper: 20); clamped to the number of heads with a score") { Min = 1 },
        new("proximity_ignore", OptionType.Integer, 4, "p: v_j averages M[i, j] over i ≥ j + p only (reference receiver-head functions: 4)") { Min = 0 },
        new("exclude_layer0", OptionType.Boolean, true, "leave layer 0 out of the receiver heads (paper/spec: its kurtosis can be NaN); its scores are still reported"),
        new("response", OptionType.String, "generate", "generate: the model's greedy continuation of the rendered prompt is the analysed chain; target: the dataset item's target text") { AllowedValues = ["generate", "target"] },
        new("max_new_tokens", OptionType.Integer, 256, "generate: tokens per response") { Min = 1 },
        new("stop", OptionType.StringList, null, "generate: strings that end a response"),
        new("boundaries", OptionType.String, "sentences", "sentences: '.', '?' or '!' before a space or newline, and blank lines (reference split_solution_into_chunks); sentences_and_lines: also every newline (one step per line)") { AllowedValues = ["sentences", "sentences_and_lines"] },
        new("include_prompt", OptionType.Boolean, false, "also split the rendered prompt (BOS excluded) into sentences placed before the response's (reference: the chain of thought only)"),
        new("min_sentences", OptionType.Integer, 2, "responses with fewer sentences are skipped (recorded with the reason)") { Min = 1 },
    ];

    /// <inheritdoc />
    /// <exception cref="ArgumentException">An option outside its range; the message names <c>metrics.receiver-heads.&lt;key&gt;</c>.</exception>
    public IHeadAnalysis Create(OptionValues options) => new ReceiverHeadAnalysis(ReceiverHeadOptions.From(options));
}

/// <summary>Validated settings of the receiver-head analysis; meanings in <see cref="ReceiverHeadsFactory.Options"/>.</summary>
internal sealed record ReceiverHeadOptions
{
    public int TopK { get; init; } = 20;
    public int ProximityIgnore { get; init; } = 4;
    public bool ExcludeLayer0 { get; init; } = true;
    public bool GenerateResponse { get; init; } = true;
    public int MaxNewTokens { get; init; } = 256;
    public IReadOnlyList<string> Stop { get; init; } = [];
    public SentenceBoundaries Boundaries { get; init; } = SentenceBoundaries.Sentences;
    public bool IncludePrompt { get; init; }
    public int MinSentences { get; init; } = 2;

    private const string Prefix = "metrics." + ReceiverHeadsFactory.MetricName + ".";

    /// <summary>Reads option values (defaults for absent keys) and checks their ranges.</summary>
    /// <exception cref="ArgumentException">A value out of range or not allowed; the message starts with <c>metrics.receiver-heads.&lt;key&gt;:</c>.</exception>
    public static ReceiverHeadOptions From(OptionValues o) => new()
    {
        TopK = Int(o, "top_k", 20, 1),
        ProximityIgnore = Int(o, "proximity_ignore", 4, 0),
        ExcludeLayer0 = o.GetBool("exclude_layer0", true),
        GenerateResponse = OneOf(o, "response", "generate", "generate", "target") == "generate",
        MaxNewTokens = Int(o, "max_new_tokens", 256, 1),
        Stop = o.GetStringList("stop"),
        Boundaries = OneOf(o, "boundaries", "sentences", "sentences", "sentences_and_lines") == "sentences" ? SentenceBoundaries.Sentences : SentenceBoundaries.SentencesAndLines,
        IncludePrompt = o.GetBool("include_prompt", false),
        MinSentences = Int(o, "min_sentences", 2, 1),
    };

    private static int Int(OptionValues o, string key, int fallback, int min)
    {
        long v = o.Has(key) ? Convert.ToInt64(o.Values[key], CultureInfo.InvariantCulture) : fallback;
        return v < min || v > int.MaxValue ? throw new ArgumentException($"{Prefix}{key}: {v} is out of range (≥ {min})") : (int)v;
    }

    private static string OneOf(OptionValues o, string key, string fallback, params string[] allowed)
    {
        var v = o.GetString(key, fallback);
        return allowed.Contains(v) ? v : throw new ArgumentException($"{Prefix}{key}: '{v}' is not one of {string.Join(", ", allowed)}");
    }
}
