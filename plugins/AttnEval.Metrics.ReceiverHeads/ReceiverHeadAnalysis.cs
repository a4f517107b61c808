using System.Globalization;
using System.Text.Json;
using AttnEval.Abstractions;

namespace AttnEval.Metrics.ReceiverHeads;

/// <summary>
/// The receiver-head protocol (specs/head-methods.md §5.2). For each dataset item: render the prompt, take the response
/// (the model's greedy continuation, or the item's target), split it into sentences with token spans, score prompt +
/// response teacher-forced once with a <see cref="SentenceBlockReducer"/> (sentence-block sums of every head, streamed),
/// then per head <c>M</c> → <c>v</c> → kurtosis. Head score = kurtosis averaged over the responses where it is defined;
/// receiver heads = the <c>top_k</c> best (layer 0 left out by default); each response's per-sentence receiver score
/// <c>r_j</c> = mean of <c>v_j</c> over the receiver heads, in its record.
/// </summary>
internal sealed class ReceiverHeadAnalysis(ReceiverHeadOptions options) : IHeadAnalysis
{
    public ReceiverHeadOptions Options { get; } = options;

    public const string ArtifactName = "receiver-heads.json";

    private sealed record Response(Sample Sample, string Text, List<Sentence> Sentences, float[][] Vertical, double[] Kurtosis);

    public HeadAnalysisResult Run(HeadAnalysisContext context, CancellationToken cancellationToken = default)
    {
        var model = context.Model;
        var info = model.Info;
        if (!model.SupportsAttentionCapture)
            throw new NotSupportedException($"receiver-heads: model '{info.Name}' cannot deliver attention rows");
        if (context.Samples.Count == 0)
            throw new InvalidDataException("receiver-heads: the recipe's dataset has no items; each item's response is analysed");
        int nHeads = info.Layers * info.Heads;
        var responses = new List<Response>();
        var skipped = new List<(string Id, string Why)>();
        for (int k = 0; k < context.Samples.Count; k++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var sample = context.Samples[k];
            context.Progress?.Report((k, context.Samples.Count, "responses"));
            var r = Analyse(model, context.RenderPrompt(sample), sample, cancellationToken, out var why);
            if (r is null) skipped.Add((sample.Id, why!));
            else responses.Add(r);
        }
        context.Progress?.Report((context.Samples.Count, context.Samples.Count, "responses"));

        // mean kurtosis per head over the responses where it is finite
        var scores = new Dictionary<HeadId, double>();
        var used = new Dictionary<HeadId, int>();
        foreach (var head in info.AllHeads())
        {
            int idx = head.Layer * info.Heads + head.Head;
            var finite = responses.Select(r => r.Kurtosis[idx]).Where(double.IsFinite).ToList();
            scores[head] = finite.Count == 0 ? double.NaN : finite.Average();
            used[head] = finite.Count;
        }
        var receivers = Receivers(scores, Options.TopK, Options.ExcludeLayer0);

        var anchors = new List<(string Position, string Text)>();   // each response's highest-r sentence
        foreach (var r in responses)
        {
            var rj = ReceiverScores(r.Vertical, receivers, info.Heads);
            int best = -1;
            for (int j = 0; j < rj.Length; j++) if (double.IsFinite(rj[j]) && (best < 0 || rj[j] > rj[best])) best = j;
            context.Record(new Dictionary<string, object?>
            {
                ["id"] = r.Sample.Id,
                ["response"] = r.Text,
                ["sentences"] = r.Sentences.Select(s => s.Text).ToList(),
                ["sentence_segments"] = r.Sentences.Select(s => s.Segment).ToList(),
                ["sentence_tokens"] = r.Sentences.Select(s => s.TokenCount).ToList(),
                ["receiver_scores"] = rj.Select(Finite).ToList(),
                ["top_sentence"] = best < 0 ? null : best,
                ["kurtosis"] = info.AllHeads().ToDictionary(h => h.ToString(), h => (object?)Finite(r.Kurtosis[h.Layer * info.Heads + h.Head])),
            });
            if (best >= 0) anchors.Add((Position(r.Sentences, best), r.Sentences[best].Text.Trim()));
        }
        foreach (var (id, why) in skipped)
            context.Record(new Dictionary<string, object?> { ["id"] = id, ["skipped"] = why });

        WriteArtifact(Path.Combine(context.OutputDirectory, ArtifactName), scores, used, receivers, responses.Count);
        var counts = responses.Select(r => r.Sentences.Count).ToList();
        var summary = new Dictionary<string, object?>
        {
            ["receiver_heads"] = receivers.Select(h => h.ToString()).ToList(),
            ["receiver_kurtosis"] = receivers.Select(h => scores[h]).ToList(),
            ["top_k"] = Options.TopK,
            ["proximity_ignore"] = Options.ProximityIgnore,
            ["layer0_excluded"] = Options.ExcludeLayer0,
            ["response"] = Options.GenerateResponse ? "greedy generation" : "dataset target",
            ["boundaries"] = Options.Boundaries == SentenceBoundaries.Sentences ? "sentences" : "sentences_and_lines",
            ["include_prompt"] = Options.IncludePrompt,
            ["n_responses"] = responses.Count,
            ["n_skipped"] = skipped.Count,
            ["sentences_mean"] = counts.Count == 0 ? null : counts.Average(),
            ["sentences_min"] = counts.Count == 0 ? null : counts.Min(),
            ["sentences_max"] = counts.Count == 0 ? null : counts.Max(),
            ["heads_without_score"] = scores.Where(kv => !double.IsFinite(kv.Value)).Select(kv => kv.Key.ToString()).ToList(),
            ["responses_per_head_min"] = used.Count == 0 ? 0 : used.Values.Min(),
            ["top_sentence_positions"] = Tally(anchors.Select(a => a.Position)),
            ["top_sentence_texts"] = Tally(anchors.Select(a => a.Text)),
        };
        string? inconclusive = receivers.Count == 0
            ? responses.Count == 0
                ? $"no response had {Options.MinSentences} or more sentences, so no head has a kurtosis"
                : $"no head has a finite kurtosis: with proximity_ignore = {Options.ProximityIgnore} the responses have too few sentences ({counts.Min()}–{counts.Max()}) for two vertical scores"
            : null;
        return new HeadAnalysisResult(scores)
        {
            Summary = summary,
            Artifacts = [ArtifactName],
            Inconclusive = inconclusive,
            Conclusion = receivers.Count == 0 ? null : string.Create(CultureInfo.InvariantCulture,
                $"receiver heads (top {receivers.Count} by mean kurtosis over {responses.Count} responses): {string.Join(", ", receivers.Take(5).Select(h => $"{h} κ={scores[h]:0.##}"))}{(receivers.Count > 5 ? ", …" : "")}"),
        };
    }

    /// <summary>Generates (or takes) one response, maps its sentences and scores it with the sentence-block reducer.
    /// Null (with the reason) when it has fewer than <c>min_sentences</c> sentences.</summary>
    private Response? Analyse(ILanguageModel model, string prompt, Sample sample, CancellationToken ct, out string? why)
    {
        var tok = model.Tokenizer;
        var info = model.Info;
        var promptIds = tok.Encode(prompt, addBos: true);
        IReadOnlyList<int> responseIds;
        if (Options.GenerateResponse)
        {
            var g = model.Generate(new GenerationRequest { PromptTokens = promptIds, MaxNewTokens = Options.MaxNewTokens, StopStrings = Options.Stop }, ct);
            responseIds = g.Sequences[0].Tokens;
        }
        else
        {
            var target = sample.Target ?? throw new InvalidDataException($"receiver-heads: item {sample.Id} has no target (response: target)");
            responseIds = tok.Encode(target);
        }
        var all = promptIds.Concat(responseIds).ToList();
        var sentenceOf = new int[all.Count];
        Array.Fill(sentenceOf, -1);
        var sentences = new List<Sentence>();
        if (Options.IncludePrompt)
        {
            int skip = tok.BosId is { } bos && promptIds.Count > 0 && promptIds[0] == bos ? 1 : 0;
            SentenceTokens.Add(tok, promptIds.Skip(skip).ToList(), skip, "prompt", Options.Boundaries, sentences, sentenceOf);
        }
        SentenceTokens.Add(tok, responseIds, promptIds.Count, "response", Options.Boundaries, sentences, sentenceOf);
        string text = tok.Decode(responseIds);
        if (sentences.Count < Options.MinSentences || responseIds.Count == 0)
        {
            why = $"{sentences.Count} sentence(s), fewer than min_sentences = {Options.MinSentences}";
            return null;
        }
        why = null;
        var reducer = new SentenceBlockReducer(sentenceOf, sentences.Count, info.Layers);
        model.Score(new ScoreRequest { Tokens = all, From = promptIds.Count, Captures = [reducer] }, ct);
        var vertical = new float[info.Layers * info.Heads][];
        var kurtosis = new double[info.Layers * info.Heads];
        for (int l = 0; l < info.Layers; l++)
            for (int h = 0; h < info.Heads; h++)
            {
                var v = ReceiverMath.VerticalScores(reducer.Matrix(l, h), sentences.Count, Options.ProximityIgnore);
                vertical[l * info.Heads + h] = v.Select(x => (float)x).ToArray();
                kurtosis[l * info.Heads + h] = ReceiverMath.ExcessKurtosis(v);
            }
        return new Response(sample, text, sentences, vertical, kurtosis);
    }

    /// <summary>Where a sentence sits, for tallies across responses of different lengths: <c>prompt[2]</c>,
    /// <c>response[0]</c>, <c>response[-1]</c> (the last).</summary>
    private static string Position(List<Sentence> sentences, int index)
    {
        var seg = sentences[index].Segment;
        int first = sentences.FindIndex(s => s.Segment == seg), count = sentences.Count(s => s.Segment == seg);
        int k = index - first;
        return k == count - 1 && k > 0 ? $"{seg}[-1]" : $"{seg}[{k}]";
    }

    /// <summary>The ten most frequent values with their counts, most frequent first (ties in ordinal order).</summary>
    private static List<Dictionary<string, object?>> Tally(IEnumerable<string> values) =>
        values.GroupBy(v => v).OrderByDescending(g => g.Count()).ThenBy(g => g.Key, StringComparer.Ordinal).Take(10)
            .Select(g => new Dictionary<string, object?> { ["value"] = g.Key, ["responses"] = g.Count() }).ToList();

    /// <summary>The top <paramref name="k"/> heads by score among those with a finite score (layer 0 left out when asked);
    /// ties by head id. Fewer than k when fewer heads qualify.</summary>
    internal static IReadOnlyList<HeadId> Receivers(IReadOnlyDictionary<HeadId, double> scores, int k, bool excludeLayer0) =>
        scores.Where(kv => double.IsFinite(kv.Value) && !(excludeLayer0 && kv.Key.Layer == 0))
            .OrderByDescending(kv => kv.Value).ThenBy(kv => kv.Key).Take(k).Select(kv => kv.Key).ToList();

    /// <summary><c>r_j</c> = mean of <c>v_j</c> over the receiver heads whose <c>v_j</c> is finite; NaN when none is.</summary>
    internal static double[] ReceiverScores(float[][] vertical, IReadOnlyList<HeadId> receivers, int headsPerLayer)
    {
        int n = vertical.Length == 0 ? 0 : vertical[0].Length;
        var r = new double[n];
        for (int j = 0; j < n; j++)
        {
            double sum = 0; int c = 0;
            foreach (var h in receivers)
            {
                double x = vertical[h.Layer * headsPerLayer + h.Head][j];
                if (double.IsFinite(x)) { sum += x; c++; }
            }
            r[j] = c == 0 ? double.NaN : sum / c;
        }
        return r;
    }

    private void WriteArtifact(string path, IReadOnlyDictionary<HeadId, double> scores, IReadOnlyDictionary<HeadId, int> used,
        IReadOnlyList<HeadId> receivers, int n)
    {
        var doc = new Dictionary<string, object?>
        {
            ["method"] = "receiver heads (Bogdan et al. 2025, arXiv 2506.19143): mean over responses of the excess kurtosis of sentence vertical scores",
            ["top_k"] = Options.TopK,
            ["proximity_ignore"] = Options.ProximityIgnore,
            ["n_responses"] = n,
            ["receiver_heads"] = receivers.Select(h => h.ToString()).ToList(),
            ["mean_kurtosis"] = scores.OrderBy(kv => kv.Key).ToDictionary(kv => kv.Key.ToString(), kv => Finite(kv.Value)),
            ["responses_with_score"] = used.OrderBy(kv => kv.Key).ToDictionary(kv => kv.Key.ToString(), kv => kv.Value),
        };
        File.WriteAllText(path, JsonSerializer.Serialize(doc, new JsonSerializerOptions { WriteIndented = true }));
    }

    private static double? Finite(double x) => double.IsFinite(x) ? x : null;
}
