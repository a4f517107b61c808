namespace AttnEval.Plugins.Sdk;

/// <summary>The <c>retrieval-heads</c> recipe options as a recipe writes them, declared once (key, meaning and range in the
/// attribute, default in the initializer); <see cref="ToSettings"/> turns them into <see cref="RetrievalHeadOptions"/>,
/// whose defaults are these.</summary>
internal sealed record RetrievalHeadRecipeOptions
{
    /// <summary>The defaults.</summary>
    public static RetrievalHeadRecipeOptions Defaults { get; } = new();

    [Option("protocol", "niah: needles × haystack × context lengths × depths (spec §1.2); dataset: the recipe's items (prompt template, target = answer)", Allowed = ["niah", "dataset"])]
    public string Protocol { get; init; } = "niah";
    [Option("needles", "niah: JSONL of {needle, question, real_needle} (spec §1.2)")]
    public string? Needles { get; init; }
    [Option("haystack", "niah: folder of .txt haystack files", FolderPath = true)]
    public string? Haystack { get; init; }
    [Option("context_lengths", "niah: explicit context lengths in tokens; overrides context_min/max/n", Min = 1)]
    public IReadOnlyList<int>? ContextLengths { get; init; }
    [Option("context_min", "niah: smallest context length, tokens (reference README uses 0; 1000 avoids the degenerate 0)", Min = 1)]
    public int ContextMin { get; init; } = 1000;
    [Option("context_max", "niah: largest context length, tokens; 5000 is the reference's cheap mode", Min = 1)]
    public int ContextMax { get; init; } = 50000;
    [Option("context_n", "niah: number of context lengths, round(linspace(min, max, n))", Min = 1)]
    public int ContextN { get; init; } = 20;
    [Option("depth_n", "niah: number of depths, round(linspace(0, 100, n))", Min = 1)]
    public int DepthN { get; init; } = 10;
    [Option("depth_spacing", "niah: linear or sigmoid (logistic L=100, x0=50, k=0.1)", Allowed = ["linear", "sigmoid"])]
    public string DepthSpacing { get; init; } = "linear";
    [Option("buffer_tokens", "niah: tokens kept free for question and answer (final_context_length_buffer)", Min = 0)]
    public int BufferTokens { get; init; } = 200;
    [Option("question_template", "niah: text after the context; {question} is replaced")]
    public string QuestionTemplate { get; init; } = "Based on the content of the book, Question: {question}\nAnswer:";
    [Option("needle_fields", "dataset: fields whose values, joined by spaces, form the needle located in the prompt; default the target")]
    public IReadOnlyList<string> NeedleFields { get; init; } = [];
    [Option("max_new_tokens", "greedy decode steps per trial (reference 50)", Min = 1)]
    public int MaxNewTokens { get; init; } = 50;
    [Option("stop_on_newline", "stop decoding at a newline (reference)")]
    public bool StopOnNewline { get; init; } = true;
    [Option("span_overlap", "needle span: set overlap with real_needle tokens must exceed this", Min = 0, Max = 1)]
    public double SpanOverlap { get; init; } = 0.9;
    [Option("success_threshold", "a trial counts when ROUGE-1 recall ×100 of real_needle in the response exceeds this (reference 50; below 0 counts every trial, non-official)", Min = -1, Max = 100)]
    public double SuccessThreshold { get; init; } = 50;
    [Option("score_mode", "event_count (official code) or unique_set (paper form)")]
    public RetrievalScoreMode ScoreMode { get; init; } = RetrievalScoreMode.EventCount;
    [Option("threshold", "a head is a retrieval head when its mean score exceeds this (paper: 0.1)", Min = 0)]
    public double Threshold { get; init; } = 0.1;
    [Option("heads_file", "file written in the run folder, Retrieval_Head format")]
    public string HeadsFile { get; init; } = "heads.json";
    [Option("merge_with", "an existing heads.json whose lists are kept in front of this run's (the reference appends re-runs)", FilePath = true)]
    public string? MergeWith { get; init; }
    [Option("ablation_k", "heads ablated in the causal check; 0 = ceil(5 % of all heads)", Min = 0)]
    public int AblationK { get; init; }
    [Option("ablation_draws", "random head sets drawn for the check", Min = 0)]
    public int AblationDraws { get; init; } = 5;
    [Option("ablation_op", "uniform_attention (Wu et al. masking) or zero_output", Allowed = ["uniform_attention", "zero_output"])]
    public string AblationOp { get; init; } = "uniform_attention";
    [Option("ablation_trials", "trials re-run under ablation; 0 = all", Min = 0)]
    public int AblationTrials { get; init; }
    [Option("ablation_exclude_top", "random heads are drawn outside the top N by score (reference: top 100)", Min = 0)]
    public int AblationExcludeTop { get; init; } = 100;
    [Option("ablation_exclude", "heads never drawn at random (\"l-h\"), e.g. a head whose single ablation breaks every token; reported with the check")]
    public IReadOnlyList<string> AblationExclude { get; init; } = [];
    [Option("mask_phase", "decode: ablate only the decode steps, from the last prompt token on (reference script); all: the prefill too (spec §1.4)", Allowed = ["decode", "all"])]
    public string MaskPhase { get; init; } = "decode";

    /// <summary>The analysis settings: context lengths from <c>context_lengths</c> or the linspace, depths from the grid, heads parsed.</summary>
    /// <exception cref="ArgumentException">A head name in <c>ablation_exclude</c> that is not <c>"l-h"</c>.</exception>
    public RetrievalHeadOptions ToSettings() => new()
    {
        Protocol = Protocol,
        Needles = Needles,
        Haystack = Haystack,
        ContextLengths = ContextLengths ?? Sdk.Haystack.Linspace(ContextMin, ContextMax, ContextN),
        Depths = Sdk.Haystack.Depths(DepthN, DepthSpacing),
        BufferTokens = BufferTokens,
        QuestionTemplate = QuestionTemplate,
        NeedleFields = NeedleFields,
        MaxNewTokens = MaxNewTokens,
        StopOnNewline = StopOnNewline,
        SpanOverlap = SpanOverlap,
        SuccessThreshold = SuccessThreshold,
        ScoreMode = ScoreMode,
        Threshold = Threshold,
        HeadsFile = HeadsFile,
        MergeWith = MergeWith,
        AblationK = AblationK,
        AblationDraws = AblationDraws,
        AblationOp = AblationOp,
        AblationTrials = AblationTrials,
        AblationExcludeTop = AblationExcludeTop,
        MaskPhase = MaskPhase,
        AblationExclude = AblationCheck.ParseHeads(AblationExclude, "metrics.retrieval-heads.ablation_exclude"),
    };
}
