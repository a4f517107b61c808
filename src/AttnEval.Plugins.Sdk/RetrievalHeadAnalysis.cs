using System.Globalization;
using System.Text.Json;
using AttnEval.Abstractions;

namespace AttnEval.Plugins.Sdk;

/// <summary>Validated settings of <see cref="RetrievalHeadAnalysis"/> (the option meanings are those of the retrieval-heads plugin's factory, specs/head-methods.md §1.5).</summary>
public sealed record RetrievalHeadOptions
{
    /// <summary><c>niah</c> or <c>dataset</c>.</summary>
    public string Protocol { get; init; } = RetrievalHeadRecipeOptions.Defaults.Protocol;
    /// <summary>Needles JSONL path.</summary>
    public string? Needles { get; init; }
    /// <summary>Haystack folder.</summary>
    public string? Haystack { get; init; }
    /// <summary>Context lengths (tokens).</summary>
    public IReadOnlyList<int> ContextLengths { get; init; } = Sdk.Haystack.Linspace(RetrievalHeadRecipeOptions.Defaults.ContextMin, RetrievalHeadRecipeOptions.Defaults.ContextMax, RetrievalHeadRecipeOptions.Defaults.ContextN);
    /// <summary>Depth percents.</summary>
    public IReadOnlyList<double> Depths { get; init; } = Sdk.Haystack.Depths(RetrievalHeadRecipeOptions.Defaults.DepthN, RetrievalHeadRecipeOptions.Defaults.DepthSpacing);
    /// <summary>Buffer tokens.</summary>
    public int BufferTokens { get; init; } = RetrievalHeadRecipeOptions.Defaults.BufferTokens;
    /// <summary>Question template with <c>{question}</c>.</summary>
    public string QuestionTemplate { get; init; } = RetrievalHeadRecipeOptions.Defaults.QuestionTemplate;
    /// <summary>Dataset protocol: needle fields.</summary>
    public IReadOnlyList<string> NeedleFields { get; init; } = [];
    /// <summary>Greedy steps.</summary>
    public int MaxNewTokens { get; init; } = RetrievalHeadRecipeOptions.Defaults.MaxNewTokens;
    /// <summary>Stop at newline.</summary>
    public bool StopOnNewline { get; init; } = RetrievalHeadRecipeOptions.Defaults.StopOnNewline;
    /// <summary>Span overlap.</summary>
    public double SpanOverlap { get; init; } = RetrievalHeadRecipeOptions.Defaults.SpanOverlap;
    /// <summary>Success threshold on ROUGE-1 recall ×100.</summary>
    public double SuccessThreshold { get; init; } = RetrievalHeadRecipeOptions.Defaults.SuccessThreshold;
    /// <summary>Score mode.</summary>
    public RetrievalScoreMode ScoreMode { get; init; } = RetrievalHeadRecipeOptions.Defaults.ScoreMode;
    /// <summary>Retrieval-head threshold on the mean score.</summary>
    public double Threshold { get; init; } = RetrievalHeadRecipeOptions.Defaults.Threshold;
    /// <summary>Output file name.</summary>
    public string HeadsFile { get; init; } = RetrievalHeadRecipeOptions.Defaults.HeadsFile;
    /// <summary>Existing heads.json to merge with.</summary>
    public string? MergeWith { get; init; }
    /// <summary>K of the ablation check (0 = 5 %).</summary>
    public int AblationK { get; init; }
    /// <summary>Random draws.</summary>
    public int AblationDraws { get; init; } = RetrievalHeadRecipeOptions.Defaults.AblationDraws;
    /// <summary>Uniform attention or zero output.</summary>
    public string AblationOp { get; init; } = RetrievalHeadRecipeOptions.Defaults.AblationOp;
    /// <summary>Trials re-run under ablation (0 = all).</summary>
    public int AblationTrials { get; init; }
    /// <summary>Random heads exclude the top N.</summary>
    public int AblationExcludeTop { get; init; } = RetrievalHeadRecipeOptions.Defaults.AblationExcludeTop;
    /// <summary>Heads never drawn at random besides the top <see cref="AblationExcludeTop"/>.</summary>
    public IReadOnlyList<HeadId> AblationExclude { get; init; } = [];
    /// <summary>"decode" (reference: masks act from the last prompt token on) or "all" (prefill too).</summary>
    public string MaskPhase { get; init; } = RetrievalHeadRecipeOptions.Defaults.MaskPhase;

    /// <summary>The <c>retrieval-heads</c> recipe options (specs/head-methods.md §1.5), declared once on
    /// <see cref="RetrievalHeadRecipeOptions"/>; the retrieval-heads plugin's factory returns them.</summary>
    public static IReadOnlyList<OptionSpec> Specs => OptionBinder.Specs<RetrievalHeadRecipeOptions>();

    /// <summary>Reads validated option values.</summary>
    /// <exception cref="ArgumentException">A head name in <c>ablation_exclude</c> that is not <c>"l-h"</c>.</exception>
    public static RetrievalHeadOptions From(OptionValues o) => OptionBinder.Bind<RetrievalHeadRecipeOptions>(o).ToSettings();
}

/// <summary>One trial: the prompt, the answer span to judge by, and where the needle sits in the prompt tokens.</summary>
/// <param name="Id">Stable id (record id in samples.jsonl).</param>
/// <param name="PromptTokens">Prompt token ids, BOS first when the model has one.</param>
/// <param name="RealNeedle">Answer text for the ROUGE-1 filter.</param>
/// <param name="SpanStart">Needle span start (inclusive).</param>
/// <param name="SpanEnd">Needle span end (exclusive).</param>
/// <param name="Info">Descriptive fields for the record (needle index, context length, depth, ...).</param>
public sealed record RetrievalTrial(string Id, IReadOnlyList<int> PromptTokens, string RealNeedle, int SpanStart, int SpanEnd, IReadOnlyDictionary<string, object?> Info);

/// <summary>
/// The retrieval-head analysis (Wu et al. 2024; specs/head-methods.md §1): for each trial, greedy decoding with the
/// copy-paste reducer, ROUGE-1 recall of <c>real_needle</c> in the response, and — for successful trials — every head's
/// retrieval score appended to its list; the head score is the mean of its list. Writes <c>heads.json</c> (official format)
/// and <c>heads.meta.json</c>, then runs the causal check: the success rate over the trials with the top-K heads ablated
/// against K random heads outside the top <c>ablation_exclude_top</c> (several draws).
/// </summary>
/// <remarks>As in the reference script, the ablation acts on the decode steps only by default (<c>mask_phase: decode</c>,
/// <see cref="HeadIntervention.FromPosition"/> = prompt length − 1: the prefill of <c>prompt[:-1]</c> is unmasked);
/// <c>mask_phase: all</c> masks the prefill too (spec §1.4).</remarks>
public sealed class RetrievalHeadAnalysis(RetrievalHeadOptions options) : IHeadAnalysis
{
    /// <summary>The settings.</summary>
    public RetrievalHeadOptions Options { get; } = options;

    /// <inheritdoc />
    public HeadAnalysisResult Run(HeadAnalysisContext context, CancellationToken cancellationToken = default)
    {
        var model = context.Model;
        var info = model.Info;
        var trials = BuildTrials(context);
        var lists = info.AllHeads().ToDictionary(h => h, _ => new List<double>());
        int success = 0, done = 0;
        foreach (var trial in trials)
        {
            cancellationToken.ThrowIfCancellationRequested();
            bool ok;
            Dictionary<HeadId, double> scores;
            if (context.ResumedRecords.TryGetValue(trial.Id, out var json)) (ok, scores) = FromRecord(json, info);
            else
            {
                var (response, recall, s) = RunTrial(model, trial, [], withScores: true, cancellationToken);
                ok = recall * 100 > Options.SuccessThreshold;
                scores = s!;
                var rec = new Dictionary<string, object?>(trial.Info)
                {
                    ["id"] = trial.Id, ["prompt_tokens"] = trial.PromptTokens.Count, ["needle_span"] = new[] { trial.SpanStart, trial.SpanEnd },
                    ["response"] = response, ["rouge1_recall"] = recall * 100, ["success"] = ok,
                    ["scores"] = scores.Where(kv => kv.Value != 0).OrderBy(kv => kv.Key).ToDictionary(kv => kv.Key.ToString(), kv => (object?)kv.Value),
                };
                context.Record(rec);
            }
            if (ok)
            {
                success++;
                foreach (var h in info.AllHeads()) lists[h].Add(scores.GetValueOrDefault(h));
            }
            context.Progress?.Report((++done, trials.Count, "trials"));
        }

        if (Options.MergeWith is { } merge)
        {
            var earlier = HeadScoreFile.Read(Path.GetFullPath(merge));
            foreach (var (h, l) in earlier)
                if (lists.TryGetValue(h, out var mine)) mine.InsertRange(0, l);
                else lists[h] = l;
        }
        var headsPath = Path.Combine(context.OutputDirectory, Options.HeadsFile);
        HeadScoreFile.Write(headsPath, lists);
        var means = HeadScoreFile.Means(lists);
        var ranked = HeadScoreFile.Ranked(means);
        int nHeads = info.Layers * info.Heads;
        int over = means.Count(kv => kv.Value > Options.Threshold);
        // With no successful trial no head has a score (n = 0): the means are NaN (null in summary.json), not zeros.
        string? inconclusive = success > 0 || lists.Values.Any(l => l.Count > 0) ? null
            : $"no successful trial: 0 of {trials.Count} reproduced the needle (ROUGE-1 recall ×100 > {Options.SuccessThreshold.ToString(CultureInfo.InvariantCulture)}), " +
              "so no head has a score (n = 0) and no ablation was run; check the prompt, max_new_tokens and that the model can answer";

        int k = Options.AblationK > 0 ? Options.AblationK : (int)Math.Ceiling(0.05 * nHeads);
        k = Math.Min(k, nHeads);
        var checkTrials = Options.AblationTrials > 0 ? trials.Take(Options.AblationTrials).ToList() : trials;
        AblationResult? ablation = null;
        if (checkTrials.Count > 0 && success > 0)
        {
            AblationCheck.RequireInModel(info, Options.AblationExclude, "retrieval-heads: ablation_exclude");
            var exclude = ranked.Take(Math.Max(Options.AblationExcludeTop, k)).ToList();
            if (nHeads - exclude.Union(Options.AblationExclude).Count() < k) exclude = ranked.Take(k).ToList();
            exclude = exclude.Union(Options.AblationExclude).ToList();
            ablation = AblationCheck.Run(info, ranked.Take(k).ToList(), Options.AblationDraws, exclude, context.Seed,
                heads => SuccessRate(model, checkTrials, heads, cancellationToken));
        }

        var meta = new Dictionary<string, object?>
        {
            ["model"] = info.Name, ["protocol"] = Options.Protocol, ["needles"] = Options.Needles, ["haystack"] = Options.Haystack,
            ["context_lengths"] = Options.ContextLengths, ["depth_percents"] = Options.Depths, ["buffer_tokens"] = Options.BufferTokens,
            ["success"] = $"rouge1_recall_stemmed*100 > {Options.SuccessThreshold.ToString(CultureInfo.InvariantCulture)}",
            ["topk_attention"] = 1, ["score_mode"] = Options.ScoreMode == RetrievalScoreMode.EventCount ? "event_count" : "unique_set",
            ["threshold"] = Options.Threshold, ["trials"] = trials.Count, ["successful_trials"] = success,
            ["ranked"] = ranked.Select(h => new Dictionary<string, object?> { ["layer"] = h.Layer, ["head"] = h.Head, ["mean"] = double.IsNaN(means[h]) ? null : means[h], ["n"] = lists[h].Count }).ToList(),
        };
        var metaName = Path.GetFileNameWithoutExtension(Options.HeadsFile) + ".meta.json";
        File.WriteAllText(Path.Combine(context.OutputDirectory, metaName), JsonSerializer.Serialize(meta, new JsonSerializerOptions { WriteIndented = true }));

        var summary = new Dictionary<string, object?>
        {
            ["trials"] = trials.Count,
            ["successful_trials"] = success,
            ["threshold"] = Options.Threshold,
            ["retrieval_heads"] = inconclusive is null ? over : null,
            ["retrieval_head_share"] = inconclusive is null ? (double)over / nHeads : null,
            ["top_heads"] = ranked.Take(10).Select(h => double.IsNaN(means[h]) ? $"{h} n = 0" : $"{h} {means[h].ToString("0.###", CultureInfo.InvariantCulture)}").ToList(),
        };
        if (inconclusive is not null) summary["warning"] = inconclusive;
        if (ablation is not null && Options.AblationExclude.Count > 0) summary["ablation_excluded_from_random"] = Options.AblationExclude.Select(h => h.ToString()).ToList();
        if (ablation is not null) summary["ablation"] = ablation.ToSummary($"needle success rate (ROUGE-1 recall ×100 > {Options.SuccessThreshold.ToString(CultureInfo.InvariantCulture)}), {Options.AblationOp}, mask_phase {Options.MaskPhase}, {checkTrials.Count} trials");
        else summary["ablation"] = "skipped: no successful trial";
        return new HeadAnalysisResult(means)
        {
            Summary = summary,
            Artifacts = [Options.HeadsFile, metaName],
            Conclusion = ablation is null ? null
                : $"ablation ({Options.AblationOp}, mask_phase {Options.MaskPhase}, {checkTrials.Count} trials): " + ablation.Verdict("needle success"),
            Inconclusive = inconclusive,
        };
    }

    /// <summary>Builds the trials of the configured protocol.</summary>
    /// <exception cref="InvalidDataException">Missing needles/haystack, or a needle that cannot be located in its prompt.</exception>
    public IReadOnlyList<RetrievalTrial> BuildTrials(HeadAnalysisContext context)
    {
        var tok = context.Model.Tokenizer;
        var trials = new List<RetrievalTrial>();
        if (Options.Protocol == "dataset")
        {
            if (context.Samples.Count == 0) throw new InvalidDataException("retrieval-heads: protocol 'dataset' needs the recipe's dataset: section");
            foreach (var s in context.Samples)
            {
                var answer = s.Target ?? throw new InvalidDataException($"retrieval-heads: sample {s.Id} has no target (the answer to judge by); set dataset.target");
                var needleText = Options.NeedleFields.Count == 0 ? answer
                    : string.Join(" ", Options.NeedleFields.Select(f => Convert.ToString(s.Field(f), CultureInfo.InvariantCulture)
                        ?? throw new InvalidDataException($"retrieval-heads: sample {s.Id} has no field '{f}' (needle_fields)")));
                var prompt = tok.Encode(context.RenderPrompt(s), addBos: true);
                var span = Locate(tok, prompt, needleText) ?? throw new InvalidDataException($"retrieval-heads: sample {s.Id}: needle '{needleText}' not found in the prompt tokens");
                trials.Add(new RetrievalTrial(s.Id, prompt, answer, span.Start, span.End, new Dictionary<string, object?> { ["sample"] = s.Id }));
            }
            return trials;
        }
        var needlesPath = Options.Needles ?? throw new InvalidDataException("retrieval-heads: protocol 'niah' needs the option 'needles' (a JSONL of {needle, question, real_needle})");
        var hayPath = Options.Haystack ?? throw new InvalidDataException("retrieval-heads: protocol 'niah' needs the option 'haystack' (a folder of .txt files)");
        var needles = Needle.ReadFile(Path.GetFullPath(needlesPath));
        var hay = new Haystack(tok, Path.GetFullPath(hayPath), Options.ContextLengths.Max());
        for (int n = 0; n < needles.Count; n++)
            foreach (var len in Options.ContextLengths)
                foreach (var depth in Options.Depths)
                {
                    var ctxText = hay.Build(needles[n].Text, len, depth, Options.BufferTokens);
                    var prompt = tok.Encode(ctxText + Options.QuestionTemplate.Replace("{question}", needles[n].Question, StringComparison.Ordinal), addBos: true);
                    var id = $"n{n}-L{len}-d{Haystack.Fmt(depth)}";
                    var span = Locate(tok, prompt, needles[n].RealNeedle)
                               ?? throw new InvalidDataException($"retrieval-heads: trial {id}: real_needle '{needles[n].RealNeedle}' not found in the prompt tokens (overlap > {Options.SpanOverlap})");
                    trials.Add(new RetrievalTrial(id, prompt, needles[n].RealNeedle, span.Start, span.End,
                        new Dictionary<string, object?> { ["needle"] = n, ["context_length"] = len, ["depth_percent"] = depth }));
                }
        return trials;
    }

    private (int Start, int End)? Locate(ITokenizer tok, IReadOnlyList<int> prompt, string text) =>
        Haystack.LocateSpan(prompt, tok.Encode(text.Trim()), Options.SpanOverlap) ?? Haystack.LocateSpan(prompt, tok.Encode(" " + text.Trim()), Options.SpanOverlap);

    private (string Response, double Recall, Dictionary<HeadId, double>? Scores) RunTrial(ILanguageModel model, RetrievalTrial trial,
        IReadOnlyList<HeadId> ablate, bool withScores, CancellationToken ct)
    {
        var info = model.Info;
        var reducer = withScores ? new CopyPasteReducer(info.Layers, info.Heads, trial.PromptTokens.Count) : null;
        int maxNew = Math.Min(Options.MaxNewTokens, info.ContextLength - trial.PromptTokens.Count);
        if (maxNew < 1) throw new InvalidDataException($"retrieval-heads: trial {trial.Id}: the prompt ({trial.PromptTokens.Count} tokens) fills the model's context ({info.ContextLength})");
        var seq = model.Generate(new GenerationRequest
        {
            PromptTokens = trial.PromptTokens,
            MaxNewTokens = maxNew,
            StopStrings = Options.StopOnNewline ? ["\n"] : [],
            Captures = reducer is null ? [] : [reducer],
            Interventions = ablate.Select(h => Ablation(h, Options.MaskPhase == "decode" ? trial.PromptTokens.Count - 1 : 0)).ToList(),
        }, ct).Sequences[0];
        double recall = RougeOne.Recall(trial.RealNeedle, seq.Text);
        Dictionary<HeadId, double>? scores = null;
        if (reducer is not null)
        {
            var all = trial.PromptTokens.Concat(seq.Tokens).ToList();
            scores = reducer.Scores(all, seq.Tokens.Count, trial.SpanStart, trial.SpanEnd, Options.ScoreMode);
        }
        return (seq.Text, recall, scores);
    }

    private HeadIntervention Ablation(HeadId h, int from) =>
        Options.AblationOp == "zero_output" ? new ZeroOutput(h) { FromPosition = from } : new UniformAttention(h) { FromPosition = from };

    private double SuccessRate(ILanguageModel model, IReadOnlyList<RetrievalTrial> trials, IReadOnlyList<HeadId> heads, CancellationToken ct) =>
        trials.Count(t => RunTrial(model, t, heads, withScores: false, ct).Recall * 100 > Options.SuccessThreshold) / (double)trials.Count;

    private static (bool Ok, Dictionary<HeadId, double> Scores) FromRecord(string json, ModelInfo info)
    {
        using var doc = JsonDocument.Parse(json);
        var root = doc.RootElement;
        bool ok = root.TryGetProperty("success", out var s) && s.ValueKind == JsonValueKind.True;
        var scores = info.AllHeads().ToDictionary(h => h, _ => 0.0);
        if (root.TryGetProperty("scores", out var sc) && sc.ValueKind == JsonValueKind.Object)
            foreach (var p in sc.EnumerateObject()) scores[HeadId.Parse(p.Name)] = p.Value.GetDouble();
        return (ok, scores);
    }
}
