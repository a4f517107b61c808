using AttnEval.Plugins.Sdk;

namespace AttnEval.Metrics.AttentionUq;

/// <summary>The recipe options of the attention-uq estimators, declared once (key, meaning and range in the attribute,
/// default in the initializer). The factories give <see cref="OptionBinder.Specs{T}"/> of these and read values through
/// <see cref="OptionChecks"/> (its <c>metrics.&lt;name&gt;.&lt;key&gt;</c> messages) with these defaults.</summary>
internal sealed record AttentionScoreOptions
{
    public static AttentionScoreOptions Defaults { get; } = new();

    [Option("layer", "layer l* whose diagonal is read (0-based); unset: ⌊L/2⌋ (uq-attention-methods §2.1)", Min = 0)]
    public int? Layer { get; init; }

    [Option("gen_only", "sum over the answer positions but the last (P…T−2) from the generation rows instead of all T positions of a teacher-forced pass (uq-attention-methods §2.2)")]
    public bool GenOnly { get; init; }
}

/// <summary>The <c>csl</c> options.</summary>
internal sealed record CslOptions
{
    public static CslOptions Defaults { get; } = new();

    [Option("template_file", "eliciting template (UTF-8, byte-exact, one {q}); unset: AttnEval's own short template. LM-Polygraph's template gives its numbers (uq-attention-methods §3.1)", FilePath = true)]
    public string? TemplateFile { get; init; }

    [Option("question", "text put in {q}: the rendered prompt (LM-Polygraph passes its formatted input text) or the sample's input field alone (use it with chat-format prompts)", Allowed = ["prompt", "input"])]
    public string Question { get; init; } = "prompt";
}

/// <summary>The <c>focus</c> options.</summary>
internal sealed record FocusOptions
{
    public static FocusOptions Defaults { get; } = new();

    [Option("gamma", "γ, the share of the attention-weighted earlier penalties a keyword inherits (uq-attention-methods §4.1)", Min = 0)]
    public double Gamma { get; init; } = 0.9;

    [Option("p", "distribution entries below p are dropped before reweighting (uq-attention-methods §4.2); the teacher-forced pass reads the top ⌈1/p⌉", Min = 1e-9, Max = 1)]
    public double P { get; init; } = 0.01;

    [Option("idf_file", "token IDF table, lines '<token id> <idf>' plus an optional 'default <idf>'; unset: every idf 1 (uq-attention-methods §4.4; README)", FilePath = true)]
    public string? IdfFile { get; init; }

    [Option("keywords", "keyword mask K: heuristic (content words; spaCy replacement, README) or all (every token)", Allowed = ["heuristic", "all"])]
    public string Keywords { get; init; } = "heuristic";
}

/// <summary>The <c>rauq</c> options.</summary>
internal sealed record RauqOptions
{
    public static RauqOptions Defaults { get; } = new();

    [Option("alpha", "α of c(j) = α·s_j + (1−α)·a_j·c(j−1); unset: 0.2 (probability) or 0.8 (use_entropy), LM-Polygraph's base-model defaults; instruct models: 0.5 / 0.9 (uq-attention-methods §1.2)", Min = 0, Max = 1)]
    public double? Alpha { get; init; }

    [Option("use_entropy", "token confidence s_i = ln V − H_i + 1e−10 instead of p_i (uq-attention-methods §1.2 step 3)")]
    public bool UseEntropy { get; init; }

    [Option("layers", "layers 𝓛 whose u_l compete (0-based); unset: ⌊L/3⌋…⌈2L/3⌉ inclusive (uq-attention-methods §1.2 step 1)", Min = 0)]
    public IReadOnlyList<int>? Layers { get; init; }
}

/// <summary>The <c>exp-attention-*</c> option.</summary>
internal sealed record ExpAttentionOptions
{
    [Option("coef", "β of the decay β^(j−k) that replaces attention, > 0 (required; the prototypes ran 0.9 and 0.8; uq-attention-methods §5.1)", Min = 0, Required = true)]
    public double? Coef { get; init; }
}
