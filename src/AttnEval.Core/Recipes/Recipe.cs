using System.Security.Cryptography;
using System.Text;
using AttnEval.Abstractions;
using AttnEval.Core.Datasets;

namespace AttnEval.Core.Recipes;

/// <summary>Chat template applied around the rendered prompt (<c>prompt.chat</c>).</summary>
public enum ChatFormat
{
    /// <summary><c>none</c>: the rendered template is the prompt.</summary>
    None,
    /// <summary><c>llama3</c>: Llama 3 header/eot tokens.</summary>
    Llama3,
    /// <summary><c>chatml</c>: <c>&lt;|im_start|&gt;role ... &lt;|im_end|&gt;</c>.</summary>
    ChatMl,
    /// <summary><c>auto</c>: the model's own Jinja chat template (<c>chat_template.jinja</c>, or <c>chat_template</c> of its
    /// <c>tokenizer_config.json</c>), rendered and tokenized as Hugging Face's <c>apply_chat_template</c> does.</summary>
    Auto,
}

/// <summary>Recipe spellings of <see cref="ChatFormat"/> and of the evaluation settings. Kinds are named by the kind registry
/// (<see cref="Plugins.IComponentCatalog.Kinds"/>, <see cref="Kinds.BuiltInKinds"/>).</summary>
public static class RecipeNames
{
    /// <summary>The recipe spelling of a chat format, e.g. <c>chatml</c>.</summary>
    public static string ToRecipeName(this ChatFormat chat) => chat switch
    {
        ChatFormat.None => "none",
        ChatFormat.Llama3 => "llama3",
        ChatFormat.ChatMl => "chatml",
        ChatFormat.Auto => "auto",
        _ => throw new ArgumentOutOfRangeException(nameof(chat), chat, null),
    };

    /// <summary>Every chat format spelling, in declaration order.</summary>
    public static IReadOnlyList<string> ChatFormats { get; } = Enum.GetValues<ChatFormat>().Select(k => k.ToRecipeName()).ToList().AsReadOnly();

    /// <summary>The evaluation metrics a recipe may ask for (<c>evaluation.metrics</c>), in canonical order.</summary>
    public static IReadOnlyList<string> EvaluationMetrics { get; } = ["auroc", "auprc", "prr", "prr50", "ece", "brier", "auarc"];

    /// <summary>The values of <c>evaluation.interval</c>: <c>centered</c> (default) and <c>percentile</c>.</summary>
    public static IReadOnlyList<string> IntervalMethods { get; } = ["centered", "percentile"];

    /// <summary>The recipe/summary name of an interval method.</summary>
    public static string IntervalName(Evaluation.IntervalMethod method) => method == Evaluation.IntervalMethod.Percentile ? "percentile" : "centered";

    /// <summary>The interval method named <paramref name="name"/>; null for an unknown name.</summary>
    public static Evaluation.IntervalMethod? ParseInterval(string? name) => name switch
    {
        "centered" => Evaluation.IntervalMethod.Centered,
        "percentile" => Evaluation.IntervalMethod.Percentile,
        _ => null,
    };

    /// <summary>The values of <c>evaluation.ties</c>: <c>expected</c> (default) and <c>stable</c>.</summary>
    public static IReadOnlyList<string> TieBreakings { get; } = ["expected", "stable"];

    /// <summary>The recipe/summary name of a tie convention (<c>expected</c> or <c>stable</c>).</summary>
    public static string TieBreakingName(Evaluation.TieBreaking ties) => ties == Evaluation.TieBreaking.Stable ? "stable" : "expected";

    /// <summary>The tie convention named <paramref name="name"/>; null for an unknown name.</summary>
    public static Evaluation.TieBreaking? ParseTieBreaking(string? name) => name switch
    {
        "expected" => Evaluation.TieBreaking.Expected,
        "stable" => Evaluation.TieBreaking.Stable,
        _ => null,
    };
}

/// <summary>The <c>prompt:</c> section.</summary>
/// <param name="Template">Prompt text with <c>{{field}}</c> placeholders (dotted paths allowed, spaces inside the
/// braces ignored); default <c>{{&lt;dataset.input&gt;}}</c>.</param>
/// <param name="Chat">Chat template applied around the rendered text; default <see cref="ChatFormat.None"/>.</param>
/// <param name="System">System message for chat formats, or null.</param>
public sealed record PromptSpec(string Template, ChatFormat Chat = ChatFormat.None, string? System = null)
{
    /// <summary>The model's chat template when <see cref="Chat"/> is <see cref="ChatFormat.Auto"/> (read and parsed when
    /// the recipe is validated); null otherwise.</summary>
    public Prompts.ChatTemplates.ChatTemplate? ModelTemplate { get; init; }

    /// <summary>True when the built prompt already holds the model's special tokens (a rendered chat template), so it is
    /// encoded without adding any (as <c>apply_chat_template</c> tokenizes).</summary>
    public bool HoldsSpecialTokens => Chat == ChatFormat.Auto;

    /// <summary>The placeholder field names of <see cref="Template"/>, in order of appearance (repeats kept).</summary>
    public IReadOnlyList<string> Fields => PromptTemplate.Parse(Template, out _).Where(p => p.Field is not null).Select(p => p.Field!).ToList();

    /// <summary>Replaces each <c>{{field}}</c> with <paramref name="field"/>(name).</summary>
    /// <param name="field">Returns the text of a field, or null when the item lacks it.</param>
    /// <exception cref="KeyNotFoundException">A placeholder names a field the item lacks.</exception>
    public string Render(Func<string, string?> field)
    {
        var sb = new StringBuilder();
        foreach (var part in PromptTemplate.Parse(Template, out _))
            sb.Append(part.Field is null ? part.Text : field(part.Field) ?? throw new KeyNotFoundException($"prompt field '{part.Field}' is missing"));
        return sb.ToString();
    }
}

/// <summary>The <c>generation:</c> section.</summary>
/// <param name="MaxNewTokens">Most tokens generated per answer, 1..1,000,000; default 256.</param>
/// <param name="Temperature">Temperature of the main answer, ≥ 0; 0 = greedy (default).</param>
/// <param name="TopP">Nucleus mass, 0 &lt; p ≤ 1; default 1 (off).</param>
/// <param name="TopK">Keep the k most likely tokens, ≥ 0; 0 = off (default).</param>
/// <param name="Seed">Seed of every sampling step; default 0.</param>
/// <param name="Samples">Extra sampled answers per prompt for metrics that need them, ≥ 0; default 0.</param>
/// <param name="SampleTemperature">Temperature of those sampled answers, &gt; 0; default 1.0.</param>
/// <param name="Stop">Stop strings; generation ends when the answer ends with one. Default none.</param>
/// <param name="BatchSize">Questions generated together in one batched decode, or documents handed together to a data scorer (<c>generation.batch_size</c>, ≥ 1; default 8):
/// their answers, and then their sampled answers, are each one <see cref="ILanguageModel.GenerateBatch"/> call. Greedy answers
/// equal one-at-a-time ones up to float rounding; sampled answers keep their per-question seeds.</param>
public sealed record GenerationSpec(
    int MaxNewTokens,
    double Temperature,
    double TopP,
    int TopK,
    long Seed,
    int Samples,
    double SampleTemperature,
    IReadOnlyList<string> Stop,
    int BatchSize = 8);

/// <summary>The <c>judge:</c> section: a judge name and its validated options (defaults applied).</summary>
/// <param name="Kind">Judge name from the catalog, e.g. <c>numeric-final-answer</c>.</param>
/// <param name="Options">Options validated against the judge's <see cref="OptionSpec"/>s.</param>
public sealed record JudgeSpec(string Kind, OptionValues Options);

/// <summary>One item of <c>metrics:</c>: a metric name and its validated options (defaults applied).</summary>
/// <param name="Name">Metric name from the catalog, e.g. <c>uqac</c>.</param>
/// <param name="Options">Options validated against the metric's <see cref="OptionSpec"/>s.</param>
public sealed record MetricSpec(string Name, OptionValues Options);

/// <summary>The <c>evaluation:</c> section (specs/uq-methods.md: AUROC, AUPRC, PRR, ECE, Brier, AUARC).</summary>
/// <param name="Metrics">Evaluation metrics to compute, a subset of <see cref="RecipeNames.EvaluationMetrics"/>;
/// default all of them.</param>
/// <param name="Bootstrap">Bootstrap resamples for confidence intervals, ≥ 0 (0 = none); default 1000.</param>
/// <param name="ConfidenceLevel">Level of the intervals, 0 &lt; x &lt; 1; default 0.95.</param>
/// <param name="EceBins">Equal-width bins of ECE, ≥ 1; default 20 (UQAC and LM-Polygraph, specs/uq-methods.md §5.4).</param>
/// <param name="Seed">Seed of the bootstrap; default 0.</param>
/// <param name="Ties">Tied uncertainties in PRR and AUARC (<c>evaluation.ties</c>): <c>expected</c> (default, the exact
/// expectation over tie orders) or <c>stable</c> (dataset order, the previous convention); see <see cref="Evaluation.TieBreaking"/>.</param>
/// <param name="Interval">How bootstrap intervals are read (<c>evaluation.interval</c>): <c>centered</c> (default, the
/// bias-centred percentile interval, which always holds the value) or <c>percentile</c> (the previous convention); see
/// <see cref="Evaluation.IntervalMethod"/>.</param>
public sealed record EvaluationSpec(IReadOnlyList<string> Metrics, int Bootstrap, double ConfidenceLevel, int EceBins, long Seed,
    Evaluation.TieBreaking Ties = Evaluation.TieBreaking.Expected, Evaluation.IntervalMethod Interval = Evaluation.IntervalMethod.Centered);

/// <summary>
/// A validated recipe (DESIGN.md §6): includes merged, <c>--set</c> overrides applied, defaults filled in,
/// every name checked against the component catalog and every relative path resolved to a full path.
/// Built by <see cref="RecipeLoader"/>.
/// </summary>
public sealed record Recipe
{
    /// <summary><c>name</c>: letters, digits, '.', '_' and '-'; names the run folder.</summary>
    public required string Name { get; init; }
    /// <summary><c>kind</c>: the name of a recipe kind of the catalog (<see cref="Plugins.IComponentCatalog.Kinds"/>); default
    /// <see cref="Kinds.BuiltInKinds.Uncertainty"/>.</summary>
    public string Kind { get; init; } = Kinds.BuiltInKinds.Default;
    /// <summary><c>description</c>, or null.</summary>
    public string? Description { get; init; }
    /// <summary><c>model</c>: full path, backend, device, dtype, tokenizer (full path or null), backend options.</summary>
    public required ModelSource Model { get; init; }
    /// <summary><c>dataset</c> with a full path and a known format, or null when the recipe has none.</summary>
    public DatasetSpec? Dataset { get; init; }
    /// <summary><c>prompt</c>.</summary>
    public required PromptSpec Prompt { get; init; }
    /// <summary><c>generation</c>.</summary>
    public required GenerationSpec Generation { get; init; }
    /// <summary><c>judge</c>, or null when the recipe names none.</summary>
    public JudgeSpec? Judge { get; init; }
    /// <summary><c>metrics</c>, in recipe order, names unique.</summary>
    public required IReadOnlyList<MetricSpec> Metrics { get; init; }
    /// <summary><c>evaluation</c>.</summary>
    public required EvaluationSpec Evaluation { get; init; }
    /// <summary><c>analysis</c>: free-form settings for head-analysis / data-scoring plugins. Values are null,
    /// bool, long, double, string, <c>IReadOnlyList&lt;object?&gt;</c> or <c>IReadOnlyDictionary&lt;string, object?&gt;</c>;
    /// an entry named after a catalog metric holds that metric's validated options (see <see cref="AnalysisOptions"/>).</summary>
    public IReadOnlyDictionary<string, object?> Analysis { get; init; } = new Dictionary<string, object?>();
    /// <summary><c>output.dir</c> as a full path (the parent of run folders); default <c>runs/</c>.</summary>
    public required string OutputDir { get; init; }
    /// <summary>Full path of the recipe file that was loaded (not part of <see cref="ToResolvedYaml"/>).</summary>
    public required string SourceFile { get; init; }

    /// <summary>The <c>analysis</c> entry named <paramref name="name"/> as option values, or
    /// <see cref="OptionValues.Empty"/> when there is none or it is not a map.</summary>
    public OptionValues AnalysisOptions(string name) =>
        Analysis.TryGetValue(name, out var v) && v is IReadOnlyDictionary<string, object?> map ? new OptionValues(map) : OptionValues.Empty;

    /// <summary>Canonical YAML of this recipe (fixed key order, every default written, full paths), for
    /// <c>recipe.resolved.yaml</c>. Loading it again gives a recipe with the same <see cref="Hash"/>.</summary>
    public string ToResolvedYaml() => RecipeWriter.Write(this);

    /// <summary>Lower-case hex SHA-256 of the UTF-8 bytes of <see cref="ToResolvedYaml"/>; a resumed run
    /// compares it with the stored recipe's to refuse a recipe that changed.</summary>
    public string Hash => HashOf(ToResolvedYaml());

    /// <summary>Lower-case hex SHA-256 of the UTF-8 bytes of <paramref name="resolvedYaml"/> (e.g. the text of a
    /// stored <c>recipe.resolved.yaml</c>).</summary>
    public static string HashOf(string resolvedYaml) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(resolvedYaml)));
}
