using System.Globalization;
using AttnEval.Abstractions;
using AttnEval.Plugins.Sdk;
using Microsoft.Extensions.DependencyInjection;

namespace AttnEval.Metrics.AttentionSinks;

/// <summary>Registers <c>attention-sinks</c>.</summary>
public sealed class AttentionSinksPlugin : IAttnEvalPlugin
{
    /// <inheritdoc />
    public string Name => "attention-sinks";

    /// <inheritdoc />
    public void ConfigureServices(IServiceCollection services) => services.AddSingleton<IHeadAnalysisFactory, AttentionSinksFactory>();
}

/// <summary>
/// Factory of the <c>attention-sinks</c> analysis (hidden attention sinks, Yu et al., ICML 2024, arXiv 2406.15765, "ACT";
/// specs/head-methods.md §5.3): per head and sequence, <c>c_j = Σ_{i≥j} A[i, j] / (N − j)</c>, the sink set
/// <c>S = { j : c_j &gt; τ }</c> minus its first index, the hidden-sink mass <c>mean_i Σ_{j∈S, j≤i} A[i, j]</c> (the head
/// score, averaged over sequences) and the count of non-initial sinks; optionally ACT's calibrated vs uncalibrated
/// accuracy A/B through <see cref="ReweightColumns"/>. Options are checked by <see cref="Create"/>.
/// </summary>
internal sealed class AttentionSinksFactory : IHeadAnalysisFactory
{
    /// <summary>The recipe name.</summary>
    public const string MetricName = "attention-sinks";

    /// <inheritdoc />
    public string Name => MetricName;
    /// <inheritdoc />
    public string Description => "Hidden attention sinks per head: sink sets c_j > τ beyond the first, hidden-sink mass and count, optional ACT calibration A/B (Yu et al. ICML 2024, arXiv 2406.15765)";
    /// <inheritdoc />
    public MetricKind Kind => MetricKind.HeadAnalysis;

    /// <inheritdoc />
    public IReadOnlyList<OptionSpec> Options => OptionBinder.Specs<AttentionSinkOptions>();

    /// <inheritdoc />
    /// <exception cref="ArgumentException">An option outside its range; the message names <c>metrics.attention-sinks.&lt;key&gt;</c>.</exception>
    public IHeadAnalysis Create(OptionValues options) => new AttentionSinkAnalysis(AttentionSinkOptions.From(options));
}

/// <summary>Which rows the sinks are detected on (option <c>sequence</c>).</summary>
internal enum SinkSequence
{
    /// <summary>The rendered prompt's rows (one forward pass).</summary>
    Prompt,
    /// <summary>Prompt + greedy continuation, captured while generating.</summary>
    Generate,
}

/// <summary>Validated settings of the attention-sink analysis, declared once as its recipe options (key, meaning and range
/// in the attribute, default in the initializer).</summary>
internal sealed record AttentionSinkOptions
{
    private const string Prefix = "metrics." + AttentionSinksFactory.MetricName + ".";

    [Option("tau", "τ: column j is a sink when the mean attention it receives from the rows that see it exceeds τ (reference/spec: 0.1)", Min = 0, Max = 1)]
    public double Tau { get; init; } = 0.1;

    [Option("sequence", "prompt: the rendered prompt's rows (one forward pass, as ACT detects on its input); generate: prompt + greedy continuation, captured while generating")]
    public SinkSequence Sequence { get; init; } = SinkSequence.Prompt;

    [Option("max_new_tokens", "generate, and the ACT check: tokens per response", Min = 1)]
    public int MaxNewTokens { get; init; } = 64;

    [Option("min_rows", "a column needs at least this many rows (N − j) to be a sink; 1 = every column (reference); larger values keep the last positions, whose c_j averages few rows, out", Min = 1)]
    public int MinRows { get; init; } = 1;

    [Option("stop", "generate and ACT check: strings that end a response")]
    public IReadOnlyList<string> Stop { get; init; } = [];

    [Option("act_check", "run ACT's A/B: greedy answers to every item uncalibrated and with the hidden sinks of act heads reweighted by β; accuracy of both (needs targets and a backend with ReweightColumns)")]
    public bool ActCheck { get; init; }

    [Option("act_beta", "β of ACT: hidden-sink columns scaled by β, the freed mass given to the other columns (reference 0.4)", Min = 0, Max = 1)]
    public double ActBeta { get; init; } = 0.4;

    [Option("act_heads", "heads calibrated in the A/B (\"l-h\"); default the act_top_k heads by hidden-sink mass")]
    public IReadOnlyList<string> ActHeadNames { get; init; } = [];

    [Option("act_top_k", "act_check without act_heads: calibrate this many heads, the highest hidden-sink mass", Min = 1)]
    public int ActTopK { get; init; } = 4;

    /// <summary>Sinks are detected on prompt + greedy continuation.</summary>
    public bool Generate => Sequence == SinkSequence.Generate;

    /// <summary>The parsed <c>act_heads</c>.</summary>
    public IReadOnlyList<HeadId> ActHeads { get; init; } = [];

    /// <summary>Reads option values (defaults for absent keys) and checks their ranges.</summary>
    /// <exception cref="ArgumentException">A value out of range or not allowed; the message starts with <c>metrics.attention-sinks.&lt;key&gt;:</c>.</exception>
    public static AttentionSinkOptions From(OptionValues o)
    {
        var options = OptionBinder.Bind<AttentionSinkOptions>(o, Prefix);
        return options with { ActHeads = AblationCheck.ParseHeads(options.ActHeadNames, Prefix + "act_heads") };
    }
}
