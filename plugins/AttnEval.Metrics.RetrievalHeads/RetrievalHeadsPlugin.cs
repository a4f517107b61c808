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
public sealed class RetrievalHeadsFactory : IHeadAnalysisFactory
{
    /// <inheritdoc />
    public string Name => "retrieval-heads";
    /// <inheritdoc />
    public string Description => "Retrieval heads by copy-paste score over needle-in-a-haystack trials, with a top-K vs random-K ablation check (Wu et al. 2024, arXiv 2404.15574)";
    /// <inheritdoc />
    public MetricKind Kind => MetricKind.HeadAnalysis;

    /// <inheritdoc />
    public IReadOnlyList<OptionSpec> Options { get; } =
    [
        new("protocol", OptionType.String, "niah", "niah: needles × haystack × context lengths × depths (spec §1.2); dataset: the recipe's items (prompt template, target = answer)") { AllowedValues = ["niah", "dataset"] },
        new("needles", OptionType.String, null, "niah: JSONL of {needle, question, real_needle} (spec §1.2)"),
        new("haystack", OptionType.FolderPath, null, "niah: folder of .txt haystack files"),
        new("context_lengths", OptionType.IntegerList, null, "niah: explicit context lengths in tokens; overrides context_min/max/n") { Min = 1 },
        new("context_min", OptionType.Integer, 1000, "niah: smallest context length, tokens (reference README uses 0; 1000 avoids the degenerate 0)") { Min = 1 },
        new("context_max", OptionType.Integer, 50000, "niah: largest context length, tokens; 5000 is the reference's cheap mode") { Min = 1 },
        new("context_n", OptionType.Integer, 20, "niah: number of context lengths, round(linspace(min, max, n))") { Min = 1 },
        new("depth_n", OptionType.Integer, 10, "niah: number of depths, round(linspace(0, 100, n))") { Min = 1 },
        new("depth_spacing", OptionType.String, "linear", "niah: linear or sigmoid (logistic L=100, x0=50, k=0.1)") { AllowedValues = ["linear", "sigmoid"] },
        new("buffer_tokens", OptionType.Integer, 200, "niah: tokens kept free for question and answer (final_context_length_buffer)") { Min = 0 },
        new("question_template", OptionType.String, "Based on the content of the book, Question: {question}\nAnswer:", "niah: text after the context; {question} is replaced"),
        new("needle_fields", OptionType.StringList, null, "dataset: fields whose values, joined by spaces, form the needle located in the prompt; default the target"),
        new("max_new_tokens", OptionType.Integer, 50, "greedy decode steps per trial (reference 50)") { Min = 1 },
        new("stop_on_newline", OptionType.Boolean, true, "stop decoding at a newline (reference)"),
        new("span_overlap", OptionType.Number, 0.9, "needle span: set overlap with real_needle tokens must exceed this") { Min = 0, Max = 1 },
        new("success_threshold", OptionType.Number, 50, "a trial counts when ROUGE-1 recall ×100 of real_needle in the response exceeds this (reference 50; below 0 counts every trial, non-official)") { Min = -1, Max = 100 },
        new("score_mode", OptionType.String, "event_count", "event_count (official code) or unique_set (paper form)") { AllowedValues = ["event_count", "unique_set"] },
        new("threshold", OptionType.Number, 0.1, "a head is a retrieval head when its mean score exceeds this (paper: 0.1)") { Min = 0 },
        new("heads_file", OptionType.String, "heads.json", "file written in the run folder, Retrieval_Head format"),
        new("merge_with", OptionType.FilePath, null, "an existing heads.json whose lists are kept in front of this run's (the reference appends re-runs)"),
        new("ablation_k", OptionType.Integer, 0, "heads ablated in the causal check; 0 = ceil(5 % of all heads)") { Min = 0 },
        new("ablation_draws", OptionType.Integer, 5, "random head sets drawn for the check") { Min = 0 },
        new("ablation_op", OptionType.String, "uniform_attention", "uniform_attention (Wu et al. masking) or zero_output") { AllowedValues = ["uniform_attention", "zero_output"] },
        new("ablation_trials", OptionType.Integer, 0, "trials re-run under ablation; 0 = all") { Min = 0 },
        new("ablation_exclude_top", OptionType.Integer, 100, "random heads are drawn outside the top N by score (reference: top 100)") { Min = 0 },
        new("ablation_exclude", OptionType.StringList, null, "heads never drawn at random (\"l-h\"), e.g. a head whose single ablation breaks every token; reported with the check"),
        new("mask_phase", OptionType.String, "decode", "decode: ablate only the decode steps, from the last prompt token on (reference script); all: the prefill too (spec §1.4)") { AllowedValues = ["decode", "all"] },
    ];

    /// <inheritdoc />
    public IHeadAnalysis Create(OptionValues options) => new RetrievalHeadAnalysis(RetrievalHeadOptions.From(options));
}
