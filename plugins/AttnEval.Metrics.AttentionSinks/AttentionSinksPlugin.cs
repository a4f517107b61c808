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
public sealed class AttentionSinksFactory : IHeadAnalysisFactory
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
    public IReadOnlyList<OptionSpec> Options { get; } =
    [
        new("tau", OptionType.Number, 0.1, "τ: column j is a sink when the mean attention it receives from the rows that see it exceeds τ (reference/spec: 0.1)") { Min = 0, Max = 1 },
        new("sequence", OptionType.String, "prompt", "prompt: the rendered prompt's rows (one forward pass, as ACT detects on its input); generate: prompt + greedy continuation, captured while generating") { AllowedValues = ["prompt", "generate"] },
        new("max_new_tokens", OptionType.Integer, 64, "generate, and the ACT check: tokens per response") { Min = 1 },
        new("min_rows", OptionType.Integer, 1, "a column needs at least this many rows (N − j) to be a sink; 1 = every column (reference); larger values keep the last positions, whose c_j averages few rows, out") { Min = 1 },
        new("stop", OptionType.StringList, null, "generate and ACT check: strings that end a response"),
        new("act_check", OptionType.Boolean, false, "run ACT's A/B: greedy answers to every item uncalibrated and with the hidden sinks of act heads reweighted by β; accuracy of both (needs targets and a backend with ReweightColumns)"),
        new("act_beta", OptionType.Number, 0.4, "β of ACT: hidden-sink columns scaled by β, the freed mass given to the other columns (reference 0.4)") { Min = 0, Max = 1 },
        new("act_heads", OptionType.StringList, null, "heads calibrated in the A/B (\"l-h\"); default the act_top_k heads by hidden-sink mass"),
        new("act_top_k", OptionType.Integer, 4, "act_check without act_heads: calibrate this many heads, the highest hidden-sink mass") { Min = 1 },
    ];

    /// <inheritdoc />
    /// <exception cref="ArgumentException">An option outside its range; the message names <c>metrics.attention-sinks.&lt;key&gt;</c>.</exception>
    public IHeadAnalysis Create(OptionValues options) => new AttentionSinkAnalysis(AttentionSinkOptions.From(options));
}

/// <summary>Validated settings of the attention-sink analysis; meanings in <see cref="AttentionSinksFactory.Options"/>.</summary>
internal sealed record AttentionSinkOptions
{
    public double Tau { get; init; } = 0.1;
    public bool Generate { get; init; }
    public int MaxNewTokens { get; init; } = 64;
    public int MinRows { get; init; } = 1;
    public IReadOnlyList<string> Stop { get; init; } = [];
    public bool ActCheck { get; init; }
    public double ActBeta { get; init; } = 0.4;
    public IReadOnlyList<HeadId> ActHeads { get; init; } = [];
    public int ActTopK { get; init; } = 4;

    private const string Prefix = "metrics." + AttentionSinksFactory.MetricName + ".";

    /// <summary>Reads option values (defaults for absent keys) and checks their ranges.</summary>
    /// <exception cref="ArgumentException">A value out of range or not allowed; the message starts with <c>metrics.attention-sinks.&lt;key&gt;:</c>.</exception>
    public static AttentionSinkOptions From(OptionValues o) => new()
    {
        Tau = Real(o, "tau", 0.1, 0, 1),
        Generate = OneOf(o, "sequence", "prompt", "prompt", "generate") == "generate",
        MaxNewTokens = Int(o, "max_new_tokens", 64, 1),
        MinRows = Int(o, "min_rows", 1, 1),
        Stop = o.GetStringList("stop"),
        ActCheck = o.GetBool("act_check", false),
        ActBeta = Real(o, "act_beta", 0.4, 0, 1),
        ActHeads = AblationCheck.ParseHeads(o.GetStringList("act_heads"), Prefix + "act_heads"),
        ActTopK = Int(o, "act_top_k", 4, 1),
    };

    private static int Int(OptionValues o, string key, int fallback, int min)
    {
        long v = o.Has(key) ? Convert.ToInt64(o.Values[key], CultureInfo.InvariantCulture) : fallback;
        return v < min || v > int.MaxValue ? throw new ArgumentException($"{Prefix}{key}: {v} is out of range (≥ {min})") : (int)v;
    }

    private static double Real(OptionValues o, string key, double fallback, double min, double max)
    {
        double v = o.GetDouble(key, fallback);
        return double.IsNaN(v) || v < min || v > max
            ? throw new ArgumentException(string.Create(CultureInfo.InvariantCulture, $"{Prefix}{key}: {v} is out of range [{min}, {max}]"))
            : v;
    }

    private static string OneOf(OptionValues o, string key, string fallback, params string[] allowed)
    {
        var v = o.GetString(key, fallback);
        return allowed.Contains(v) ? v : throw new ArgumentException($"{Prefix}{key}: '{v}' is not one of {string.Join(", ", allowed)}");
    }
}
