using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;
using AttnEval.Abstractions;
using AttnEval.Plugins.Sdk;

namespace AttnEval.Metrics.AttentionSinks;

/// <summary>
/// The hidden-sink protocol (specs/head-methods.md §5.3). For each dataset item: one forward pass over the rendered
/// prompt (or prompt + greedy continuation) with a <see cref="ColumnSumReducer"/>, then per head the sink set and its
/// hidden-sink mass (<see cref="SinkMath.Detect"/>). Head score = hidden-sink mass averaged over the sequences. With
/// <c>act_check</c>, ACT's A/B on the same items: greedy answers uncalibrated and with <see cref="ReweightColumns"/>
/// (the item's hidden sinks of each calibrated head, β) on the calibrated heads, judged against the target.
/// </summary>
internal sealed partial class AttentionSinkAnalysis(AttentionSinkOptions options) : IHeadAnalysis
{
    public AttentionSinkOptions Options { get; } = options;

    public const string ArtifactName = "attention-sinks.json";

    private sealed record Item(Sample Sample, IReadOnlyList<int> PromptIds, IReadOnlyList<int> Tokens, HeadSinks[] Heads, string? Response);

    public HeadAnalysisResult Run(HeadAnalysisContext context, CancellationToken cancellationToken = default)
    {
        var model = context.Model;
        var info = model.Info;
        var tok = model.Tokenizer;
        if (!model.SupportsAttentionCapture)
            throw new NotSupportedException($"attention-sinks: model '{info.Name}' cannot deliver attention rows");
        if (context.Samples.Count == 0)
            throw new InvalidDataException("attention-sinks: the recipe's dataset has no items; sinks are measured on each item's prompt");
        AblationCheck.RequireInModel(info, Options.ActHeads, "attention-sinks: act_heads");
        int nHeads = info.Layers * info.Heads;
        int total = context.Samples.Count * (Options.ActCheck ? 2 : 1);
        var items = new List<Item>();
        var skipped = new List<string>();
        foreach (var sample in context.Samples)
        {
            cancellationToken.ThrowIfCancellationRequested();
            context.Progress?.Report((items.Count + skipped.Count, total, "sequences"));
            var promptIds = tok.Encode(context.RenderPrompt(sample), addBos: true);
            var reducer = new ColumnSumReducer(info.Layers);
            IReadOnlyList<int> tokens;
            string? response = null;
            if (Options.Generate)
            {
                var seq = model.Generate(Request(promptIds, [], reducer), cancellationToken).Sequences[0];
                response = seq.Text;
                tokens = promptIds.Concat(seq.Tokens).Take(reducer.Rows(0)).ToList();   // the last generated token is never fed
            }
            else
            {
                if (promptIds.Count < 2) { skipped.Add(sample.Id); continue; }
                model.Score(new ScoreRequest { Tokens = promptIds, From = promptIds.Count - 1, Captures = [reducer] }, cancellationToken);
                tokens = promptIds;
            }
            var heads = new HeadSinks[nHeads];
            for (int l = 0; l < info.Layers; l++)
                for (int h = 0; h < info.Heads; h++)
                    heads[l * info.Heads + h] = SinkMath.Detect(reducer.ColumnSums(l, h), Options.Tau, Options.MinRows);
            items.Add(new Item(sample, promptIds, tokens, heads, response));
            context.Record(ItemRecord(info, tok, items[^1]));
        }
        if (items.Count == 0) throw new InvalidDataException("attention-sinks: every prompt has fewer than 2 tokens");

        var scores = new Dictionary<HeadId, double>();
        var perHead = new Dictionary<string, object?>();
        int bosMajority = 0;
        foreach (var head in info.AllHeads())
        {
            int idx = head.Layer * info.Heads + head.Head;
            var hs = items.Select(it => it.Heads[idx]).ToList();
            scores[head] = hs.Average(s => s.HiddenMass);
            double bosRate = hs.Count(s => s.First == 0) / (double)hs.Count;
            if (bosRate > 0.5) bosMajority++;
            perHead[head.ToString()] = new Dictionary<string, object?>
            {
                ["hidden_mass"] = scores[head],
                ["hidden_count_mean"] = hs.Average(s => s.Hidden.Count),
                ["first_is_position0_rate"] = bosRate,
                ["no_sink_rate"] = hs.Count(s => s.First is null) / (double)hs.Count,
                ["c0_mean"] = hs.Average(s => s.InitialScore),
            };
        }
        var sinkTokens = items
            .SelectMany(it => it.Heads.SelectMany(hs => hs.Hidden.Select(j => tok.TokenText(it.Tokens[j]))))
            .GroupBy(t => t).OrderByDescending(g => g.Count()).ThenBy(g => g.Key, StringComparer.Ordinal).Take(10)
            .Select(g => new Dictionary<string, object?> { ["token"] = g.Key, ["count"] = g.Count() }).ToList();
        var ranked = scores.OrderByDescending(kv => kv.Value).ThenBy(kv => kv.Key).ToList();
        double pairs = (double)items.Count * nHeads;
        var summary = new Dictionary<string, object?>
        {
            ["tau"] = Options.Tau,
            ["min_rows"] = Options.MinRows,
            ["sequence"] = Options.Generate ? "prompt + greedy continuation" : "prompt",
            ["n_sequences"] = items.Count,
            ["n_skipped"] = skipped.Count,
            ["tokens_mean"] = items.Average(it => it.Tokens.Count),
            ["first_sink_is_position0_share"] = items.Sum(it => it.Heads.Count(h => h.First == 0)) / pairs,
            ["heads_with_position0_first_in_most_sequences"] = bosMajority,
            ["n_heads"] = nHeads,
            ["hidden_sinks_per_head_sequence"] = items.Sum(it => it.Heads.Sum(h => h.Hidden.Count)) / pairs,
            ["hidden_sink_tokens_top"] = sinkTokens,
            ["top_heads"] = ranked.Take(10).Select(kv => $"{kv.Key} {kv.Value.ToString("0.####", CultureInfo.InvariantCulture)}").ToList(),
        };
        if (Options.ActCheck)
            summary["act"] = ActCheck(context, model, items, scores, cancellationToken, total);
        File.WriteAllText(Path.Combine(context.OutputDirectory, ArtifactName), JsonSerializer.Serialize(new Dictionary<string, object?>
        {
            ["method"] = "hidden attention sinks (Yu et al. 2024, arXiv 2406.15765): c_j = Σ_{i≥j} A[i,j]/(N−j), S = {c_j > τ} minus the first",
            ["tau"] = Options.Tau, ["min_rows"] = Options.MinRows, ["n_sequences"] = items.Count,
            ["heads"] = perHead,
        }, new JsonSerializerOptions { WriteIndented = true }));
        return new HeadAnalysisResult(scores)
        {
            Summary = summary,
            Artifacts = [ArtifactName],
            Conclusion = string.Create(CultureInfo.InvariantCulture,
                $"position 0 is the first sink of {bosMajority}/{nHeads} heads in most sequences; {(double)summary["hidden_sinks_per_head_sequence"]!:0.##} hidden sinks per head and sequence; most hidden-sink mass: {string.Join(", ", ranked.Take(3).Select(kv => $"{kv.Key} {kv.Value:0.###}"))}"),
        };
    }

    private GenerationRequest Request(IReadOnlyList<int> promptIds, IReadOnlyList<HeadIntervention> interventions, IAttentionRowReducer? capture) => new()
    {
        PromptTokens = promptIds,
        MaxNewTokens = Options.MaxNewTokens,
        StopStrings = Options.Stop,
        Captures = capture is null ? [] : [capture],
        Interventions = interventions,
    };

    private static Dictionary<string, object?> ItemRecord(ModelInfo info, ITokenizer tok, Item it)
    {
        var hidden = new Dictionary<string, object?>();
        var mass = new Dictionary<string, object?>();
        var first = new Dictionary<string, object?>();
        foreach (var head in info.AllHeads())
        {
            var hs = it.Heads[head.Layer * info.Heads + head.Head];
            if (hs.Hidden.Count > 0) hidden[head.ToString()] = hs.Hidden.ToList();
            mass[head.ToString()] = hs.HiddenMass;
            first[head.ToString()] = hs.First;
        }
        var positions = it.Heads.SelectMany(h => h.Hidden).Distinct().Order().ToList();
        var rec = new Dictionary<string, object?>
        {
            ["id"] = it.Sample.Id,
            ["n_tokens"] = it.Tokens.Count,
            ["hidden_sinks"] = hidden,
            ["hidden_mass"] = mass,
            ["first_sink"] = first,
            ["sink_tokens"] = positions.ToDictionary(p => p.ToString(CultureInfo.InvariantCulture), p => (object?)tok.TokenText(it.Tokens[p])),
        };
        if (it.Response is not null) rec["response"] = it.Response;
        return rec;
    }

    /// <summary>ACT's A/B: the item's greedy answer uncalibrated and with the calibrated heads' hidden sinks (restricted to
    /// the prompt's positions, from the uncalibrated pass) reweighted by β; accuracy of both against the targets.</summary>
    private Dictionary<string, object?> ActCheck(HeadAnalysisContext context, ILanguageModel model, List<Item> items,
        IReadOnlyDictionary<HeadId, double> scores, CancellationToken ct, int total)
    {
        var info = model.Info;
        if (!model.SupportedInterventions.Contains(typeof(ReweightColumns)))
            return new() { ["status"] = $"not run: model '{info.Name}' cannot apply ReweightColumns" };
        var heads = Options.ActHeads.Count > 0 ? Options.ActHeads
            : scores.Where(kv => kv.Value > 0).OrderByDescending(kv => kv.Value).ThenBy(kv => kv.Key).Take(Options.ActTopK).Select(kv => kv.Key).ToList();
        var judged = items.Where(it => it.Sample.Target is not null).ToList();
        if (heads.Count == 0 || judged.Count == 0)
            return new() { ["status"] = heads.Count == 0 ? "not run: no head has hidden sinks" : "not run: no item has a target" };
        int baseRight = 0, calRight = 0, changed = 0, calibratedItems = 0, done = items.Count;
        foreach (var it in judged)
        {
            ct.ThrowIfCancellationRequested();
            context.Progress?.Report((done++, total, "ACT A/B"));
            string baseText = it.Response ?? model.Generate(Request(it.PromptIds, [], null), ct).Sequences[0].Text;
            var interventions = heads
                .Select(h => (Head: h, Cols: it.Heads[h.Layer * info.Heads + h.Head].Hidden.Where(j => j < it.PromptIds.Count).ToList()))
                .Where(x => x.Cols.Count > 0)
                .Select(x => (HeadIntervention)new ReweightColumns(x.Head, x.Cols, Options.ActBeta)).ToList();
            if (interventions.Count > 0) calibratedItems++;
            string calText = interventions.Count == 0 ? baseText : model.Generate(Request(it.PromptIds, interventions, null), ct).Sequences[0].Text;
            bool b = AnswerMatch.Correct(baseText, it.Sample.Target!), c = AnswerMatch.Correct(calText, it.Sample.Target!);
            if (b) baseRight++;
            if (c) calRight++;
            if (!string.Equals(baseText, calText, StringComparison.Ordinal)) changed++;
            context.Record(new Dictionary<string, object?>
            {
                ["id"] = "act/" + it.Sample.Id, ["uncalibrated"] = baseText, ["calibrated"] = calText,
                ["uncalibrated_correct"] = b, ["calibrated_correct"] = c, ["calibrated_heads"] = interventions.Count,
            });
        }
        return new()
        {
            ["status"] = "ok",
            ["heads"] = heads.Select(h => h.ToString()).ToList(),
            ["beta"] = Options.ActBeta,
            ["n"] = judged.Count,
            ["items_calibrated"] = calibratedItems,
            ["accuracy_uncalibrated"] = baseRight / (double)judged.Count,
            ["accuracy_calibrated"] = calRight / (double)judged.Count,
            ["answers_changed"] = changed,
            ["judge"] = "last number of the response = last number of the target (else normalised exact match)",
            ["note"] = "sink sets per item from the uncalibrated pass, prompt positions only; ACT recomputes them inside every forward pass",
        };
    }
}

/// <summary>The A/B's correctness: the last number of the response equals the last number of the target when the target
/// has one, else the whitespace-normalised, case-insensitive texts are equal.</summary>
internal static partial class AnswerMatch
{
    [GeneratedRegex(@"-?\d+(?:\.\d+)?")]
    private static partial Regex Number();

    public static bool Correct(string response, string target)
    {
        var t = Number().Matches(target);
        if (t.Count > 0)
        {
            var r = Number().Matches(response);
            return r.Count > 0 && decimal.Parse(r[^1].Value, CultureInfo.InvariantCulture) == decimal.Parse(t[^1].Value, CultureInfo.InvariantCulture);
        }
        static string Norm(string s) => string.Join(' ', s.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries)).ToLowerInvariant();
        return Norm(response) == Norm(target);
    }
}
