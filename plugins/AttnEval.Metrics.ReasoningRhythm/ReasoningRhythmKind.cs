using System.Globalization;
using System.Text.Json.Nodes;
using AttnEval.Abstractions;

namespace AttnEval.Metrics.ReasoningRhythm;

/// <summary>
/// The <c>reasoning-rhythm</c> recipe kind (contract 1.5): for each dataset item, a greedy worked answer, then one
/// teacher-forced pass over prompt + answer whose attention rows are reduced on the fly to WAAD (windowed average attention
/// distance of the local heads) and FAI (future attention influence of the global heads), with the per-token entropy, the
/// peak sets, the top-FAI positions and the couplings of "Attention Illuminates LLM Reasoning: The Preplan-and-Anchor Rhythm"
/// (arXiv 2510.13554; specs/head-methods.md §5.1). One record per item; the summary pools the coupling rates over items.
/// </summary>
internal sealed class ReasoningRhythmKind : IRecipeKind
{
    /// <inheritdoc />
    public string Name => "reasoning-rhythm";

    /// <inheritdoc />
    public string Description => "WAAD/FAI preplan-and-anchor rhythm of worked answers (greedy unless generation.temperature is set): local/global head groups by backward distance, peaks and their couplings with entropy (arXiv 2510.13554; head-methods §5.1)";

    /// <inheritdoc />
    public IReadOnlyList<OptionSpec> Options => RhythmOptions.Specs;

    /// <inheritdoc />
    public RecipeKindInputs Inputs => RecipeKindInputs.Dataset | RecipeKindInputs.Prompt | RecipeKindInputs.Sampling;

    /// <inheritdoc />
    /// <exception cref="ArgumentException">A layer of <c>analysis.layers</c> the model does not have.</exception>
    /// <exception cref="NotSupportedException">The model cannot deliver attention rows.</exception>
    public void CheckModel(OptionValues options, ILanguageModel model)
    {
        ArgumentNullException.ThrowIfNull(model);
        RhythmOptions.From(options).ResolveLayers(model.Info.Layers);
        if (!model.SupportsAttentionCapture)
            throw new NotSupportedException($"reasoning-rhythm needs attention rows, which model '{model.Info.Name}' cannot deliver (its backend has no attention capture)");
    }

    /// <inheritdoc />
    /// <exception cref="ArgumentException">Bad <c>analysis</c> options (the message names <c>analysis.&lt;key&gt;</c>), e.g. a
    /// layer the model does not have (the host checks this first through <see cref="CheckModel"/>).</exception>
    /// <exception cref="NotSupportedException">The model cannot deliver attention rows.</exception>
    public RecipeKindResult Run(RecipeKindContext context, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(context);
        var o = RhythmOptions.From(context.Options);
        var model = context.Model;
        var layers = o.ResolveLayers(model.Info.Layers);
        if (!model.SupportsAttentionCapture)
            throw new NotSupportedException($"reasoning-rhythm needs attention rows, which model '{model.Info.Name}' cannot deliver (its backend has no attention capture)");

        var items = new List<RhythmItem>(context.Samples.Count);
        for (int i = 0; i < context.Samples.Count; i++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var sample = context.Samples[i];
            RhythmItem item;
            if (context.ResumedRecords.TryGetValue(sample.Id, out var json)) item = RhythmItem.FromJson(json);
            else
            {
                try { item = Analyse(context, sample, o, layers, cancellationToken); }
                catch (Exception e) when (e is ArgumentException or KeyNotFoundException)
                {
                    item = new RhythmItem { Id = sample.Id, Error = e.Message };
                }
                context.Record(item.ToRecord());
            }
            items.Add(item);
            context.Progress?.Report((i + 1, context.Samples.Count, sample.Id));
        }
        return Summarise(items, o, layers);
    }

    /// <summary>Generates the worked answer of one item and measures its rhythm.</summary>
    internal static RhythmItem Analyse(RecipeKindContext context, Sample sample, RhythmOptions o, IReadOnlyList<int> layers, CancellationToken ct)
    {
        var model = context.Model;
        var tok = model.Tokenizer;
        // The host encodes as its own runners do (BOS added unless the rendered chat template already holds special tokens);
        // a context built by hand without EncodePrompt gets the tokenizer's BOS.
        var promptTokens = context.EncodePrompt?.Invoke(sample) ?? tok.Encode(context.RenderPrompt(sample), addBos: true);
        var generated = model.Generate(new GenerationRequest
        {
            PromptTokens = promptTokens,
            MaxNewTokens = context.MaxNewTokens,
            StopStrings = context.Stop,
            // generation.temperature/top_p/top_k/seed (greedy by default; the paper sampled its rollouts at T = 0.7).
            Sampling = context.Sampling,
        }, ct);
        var sequence = generated.Sequences[0];
        var response = sequence.Tokens;
        if (response.Count == 0) return new RhythmItem { Id = sample.Id, Error = "the model generated no token" };

        var all = promptTokens.Concat(response).ToList();
        var reducer = new RhythmReducer(layers, model.Info.Heads, promptTokens.Count, all.Count, o.Window, o.HorizonLo, o.HorizonHi);
        var scores = model.Score(new ScoreRequest { Tokens = all, From = promptTokens.Count, Captures = [reducer] }, ct);
        reducer.Check();
        var series = RhythmMath.Combine(reducer, o.GroupFraction);
        var entropy = scores.Entropies.Select(e => (double)e).ToList();
        // A record must be JSON (no NaN or infinity); a model that produced them fails this item, not the writer.
        if (!series.Waad.All(double.IsFinite) || !series.Fai.All(f => f is null || double.IsFinite(f.Value)) || !entropy.All(double.IsFinite))
            return new RhythmItem { Id = sample.Id, Error = "the teacher-forced pass produced non-finite attention or entropy values" };
        return new RhythmItem
        {
            Id = sample.Id,
            PromptTokens = promptTokens.Count,
            Response = sequence.Text,
            Finish = sequence.Finish.ToString(),
            Tokens = response.Select(tok.TokenText).ToList(),
            TokenIds = response.ToList(),
            Waad = series.Waad,
            Fai = series.Fai,
            Entropy = entropy,
            WaadPeaks = RhythmMath.Peaks(series.Waad, o.PeakQuantile),
            FaiPeaks = RhythmMath.Peaks(series.Fai, o.PeakQuantile),
            TopFai = RhythmMath.TopPositions(series.Fai, o.TopFaiFraction),
            HeadsLocal = series.Local.Select(h => h.ToString()).ToList(),
            HeadsGlobal = series.Global.Select(h => h.ToString()).ToList(),
            HeadDistance = series.Distances.OrderBy(kv => kv.Key).ToDictionary(kv => kv.Key.ToString(), kv => kv.Value),
        };
    }

    /// <summary>Pools the items' coupling counts into the run's summary, conclusion and inconclusive reason.</summary>
    internal static RecipeKindResult Summarise(IReadOnlyList<RhythmItem> items, RhythmOptions o, IReadOnlyList<int> layers)
    {
        var ok = items.Where(i => i.Error is null).ToList();
        var c = ok.Aggregate(new CouplingCounts(), (acc, i) => acc + i.Couple(o.CouplingLag));
        double? Ratio(double num, int den) => den == 0 ? null : num / den;
        double? Lift(double? obs, double? rnd) => obs is { } a && rnd is { } b && b != 0 ? a / b - 1 : null;

        var entObs = Ratio(c.EntropyAtPeaks, c.WaadPeaks);
        var entRnd = Ratio(c.EntropyAll, c.Tokens);
        var nextObs = Ratio(c.NextEntropyAtPeaks, c.NextPeaks);
        var nextRnd = Ratio(c.NextEntropyAll, c.NextTokens);
        var faiObs = Ratio(c.FaiPeaksCoupled, c.FaiPeaks);
        var faiRnd = Ratio(c.FaiPositionsCoupled, c.FaiPositions);
        var couplings = new Dictionary<string, object?>
        {
            ["entropy_at_waad_peaks"] = Row("mean entropy (nats) of the token at a WAAD peak vs at a random response position", entObs, entRnd, Lift(entObs, entRnd), c.WaadPeaks, c.Tokens),
            ["next_entropy_at_waad_peaks"] = Row("the same with the next token's entropy (the distribution computed from the peak's own attention row)", nextObs, nextRnd, Lift(nextObs, nextRnd), c.NextPeaks, c.NextTokens),
            ["fai_peak_follows_waad_peak"] = Row($"share of FAI peaks with a WAAD peak at the same position or up to {o.CouplingLag} tokens before, vs random FAI-defined positions", faiObs, faiRnd, Lift(faiObs, faiRnd), c.FaiPeaks, c.FaiPositions),
        };
        var lengths = ok.Select(i => i.Tokens.Count).ToList();
        var summary = new Dictionary<string, object?>
        {
            ["items"] = items.Count,
            ["items_ok"] = ok.Count,
            ["errors"] = items.Count - ok.Count,
            ["response_tokens"] = lengths.Count == 0 ? null : new Dictionary<string, object?> { ["mean"] = lengths.Average(), ["min"] = lengths.Min(), ["max"] = lengths.Max() },
            ["options"] = o.ToSummary(layers),
            ["couplings"] = couplings,
            ["not_measured"] = new List<string>
            {
                "FAI peaks from receiver heads and from global heads coincide (paper: 22 % random vs 61 %): needs receiver heads (Thought Anchors, head-methods §5.2), which this kind does not detect",
            },
            ["head_groups"] = new Dictionary<string, object?>
            {
                ["local"] = HeadCounts(ok.SelectMany(i => i.HeadsLocal)),
                ["global"] = HeadCounts(ok.SelectMany(i => i.HeadsGlobal)),
            },
        };

        string? inconclusive = null;
        if (ok.Count == 0) inconclusive = items.Count == 0 ? "the dataset has no items" : $"every item failed ({items.Count}); first error: {items[0].Error}";
        else if (entObs is null && faiObs is null)
            inconclusive = string.Create(CultureInfo.InvariantCulture, $"no coupling could be measured: no WAAD peak and no FAI peak in {ok.Count} answers (mean {lengths.Average():0.#} tokens; FAI needs answers longer than horizon_lo = {o.HorizonLo})");

        string? conclusion = null;
        if (inconclusive is null)
        {
            var parts = new List<string>();
            parts.Add(entObs is { } eo && entRnd is { } er
                ? $"entropy at WAAD peaks {F(eo)} vs {F(er)} nats at random positions ({Pct(Lift(eo, er))})"
                : "no WAAD peak, so no entropy coupling");
            parts.Add(faiObs is { } fo && faiRnd is { } fr
                ? $"FAI peaks follow or coincide with a WAAD peak {Share(fo)} vs {Share(fr)} at random"
                : "no FAI peak, so no FAI/WAAD coupling");
            conclusion = char.ToUpperInvariant(parts[0][0]) + parts[0][1..] + "; " + parts[1] + $" ({ok.Count} answers, {c.Tokens} tokens).";
        }
        return new RecipeKindResult(summary) { Conclusion = conclusion, Inconclusive = inconclusive, Errors = items.Count - ok.Count };
    }

    /// <inheritdoc />
    public string RenderReport(RecipeKindReport report)
    {
        ArgumentNullException.ThrowIfNull(report);
        return RhythmReport.Render(report);
    }

    /// <inheritdoc />
    public IReadOnlyList<string> SummaryLines(RecipeKindResult result)
    {
        ArgumentNullException.ThrowIfNull(result);
        var lines = new List<string>();
        if (result.Summary.TryGetValue("couplings", out var v) && v is IReadOnlyDictionary<string, object?> couplings)
            foreach (var (key, row) in couplings)
                if (row is IReadOnlyDictionary<string, object?> r)
                    lines.Add($"{key}: observed {Show(r["observed"])}, random {Show(r["random"])}, lift {Pct(r["lift"] as double?)} (n = {r["n"]})");
        if (result.Conclusion is { } c) lines.Add(c);
        if (result.Inconclusive is { } w) lines.Add("inconclusive: " + w);
        return lines;
    }

    private static Dictionary<string, object?> Row(string description, double? observed, double? random, double? lift, int n, int baselineN) => new()
    {
        ["description"] = description,
        ["observed"] = observed,
        ["random"] = random,
        ["lift"] = lift,
        ["n"] = n,
        ["random_n"] = baselineN,
    };

    private static Dictionary<string, object?> HeadCounts(IEnumerable<string> heads) =>
        heads.GroupBy(h => h).OrderByDescending(g => g.Count()).ThenBy(g => HeadId.Parse(g.Key))
            .ToDictionary(g => g.Key, g => (object?)g.Count());

    /// <summary>Three significant digits (entropies of a near-deterministic model are in the thousandths).</summary>
    internal static string F(double x) => x.ToString("G3", CultureInfo.InvariantCulture);
    internal static string Share(double x) => (x * 100).ToString("0", CultureInfo.InvariantCulture) + " %";
    internal static string Pct(double? lift) => lift is { } l ? (l >= 0 ? "+" : "") + (l * 100).ToString("0", CultureInfo.InvariantCulture) + " %" : "n/a";
    private static string Show(object? v) => v is double d ? F(d) : v is null ? "n/a" : Convert.ToString(v, CultureInfo.InvariantCulture)!;
}
