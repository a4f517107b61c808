using System.Globalization;
using System.Text.Encodings.Web;
using System.Text.Json;
using AttnEval.Abstractions;
using AttnEval.Plugins.Sdk;

namespace AttnEval.Metrics.SafetyHeads;

/// <summary>
/// The safety-head analysis (Zhou et al. 2024, arXiv 2410.13708; specs/head-methods.md §2):
/// <list type="number">
/// <item>Ships per head and flagged query (§2.2): KL(p_O ‖ p_abl) of the next-token distribution at the last prompt
/// position with the head ablated (<c>ScaleQuery(ε)</c> by default), top heads per query written to <c>ships.jsonl</c>;</item>
/// <item>generalized Ships per head (§2.3): the principal angle between the leading singular subspaces of the n × V query
/// representations with and without the head (the analysis' per-head score);</item>
/// <item>Sahara (§2.4): the greedy head set, <c>sahara_steps</c> heads, each step in <c>sahara_step{k}.jsonl</c>;</item>
/// <item>the causal check: greedy (or top-k) responses to every flagged and benign instruction with no ablation, with Sahara's
/// set ablated and with as many random heads outside it (<c>ablation_draws</c> draws), judged by the keyword attack-success
/// judge; compliance with flagged instructions and benign behaviour per arm in <c>summary.json</c> and <c>asr.json</c>.</item>
/// </list>
/// Step 1 of Sahara scores every single head, so its forward passes also give the per-query Ships KLs (one pass per head
/// and query serves both).
/// </summary>
/// <remarks>
/// Deviation: the per-query representation is the centred log-probability vector at the last prompt position (a linear
/// image of the final-norm hidden state, <see cref="ShipsMath.Centered"/>) rather than the hidden state itself, because the
/// plugin contract exposes next-token distributions but no hidden states. Records (ids under <c>safety-heads/</c>):
/// <c>ships/&lt;sample&gt;</c>, <c>sahara/step&lt;k&gt;</c>, <c>eval/&lt;arm&gt;/&lt;sample&gt;</c>; a resumed run reuses them.
/// </remarks>
internal sealed class SafetyHeadAnalysis(SafetyHeadOptions options) : IHeadAnalysis
{
    /// <summary>The settings.</summary>
    public SafetyHeadOptions Options { get; } = options;

    /// <summary>Files are JSON data, not HTML: keep '+' and non-ASCII query text readable.</summary>
    private static readonly JsonSerializerOptions FileJson = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    private sealed record Prompted(Sample Sample, IReadOnlyList<int> Tokens, bool Flagged);

    private sealed record ArmResult(string Arm, int Flagged, double Compliance, double ComplianceReference, int Benign,
        double BenignCompliance, double? BenignCorrect);

    /// <inheritdoc />
    public HeadAnalysisResult Run(HeadAnalysisContext context, CancellationToken cancellationToken = default)
    {
        var model = context.Model;
        var info = model.Info;
        CheckSupported(model);
        var prompts = BuildPrompts(context);
        var flagged = prompts.Where(p => p.Flagged).ToList();
        var benign = prompts.Where(p => !p.Flagged).ToList();
        if (flagged.Count == 0)
            throw new InvalidDataException(Options.LabelField is null
                ? "safety-heads: the recipe's dataset has no items; it must hold the flagged (harmful) instructions"
                : $"safety-heads: no dataset item has {Options.LabelField} = '{Options.FlaggedValue}' (options label_field / flagged_value)");
        var search = Options.Queries > 0 ? flagged.Take(Options.Queries).ToList() : flagged;
        int nHeads = info.Layers * info.Heads;
        if (Options.SaharaSteps > nHeads) throw new InvalidDataException($"safety-heads: sahara_steps {Options.SaharaSteps} exceeds the model's {nHeads} heads");
        if (Options.Rank > search.Count) throw new InvalidDataException($"safety-heads: rank {Options.Rank} exceeds the {search.Count} search queries (generalized Ships needs rank ≤ n)");

        // ---- Ships + generalized Ships + Sahara ---------------------------------------------------------------------
        // Generalized Ships rows: the final hidden state at the last prompt position (reference), or the centred next-token
        // log-probabilities when asked or when the backend has no hidden states (a linear image of it; README).
        bool hiddenRows = Options.Representation == "hidden" && model.SupportsFinalHidden;
        double[] Row((double[] LogProbs, float[]? LastHidden) d) => hiddenRows ? d.LastHidden!.Select(x => (double)x).ToArray() : ShipsMath.Centered(d.LogProbs);
        var baseDist = search.Select(q => ShipsMath.NextToken(model, q.Tokens, [], hiddenRows, cancellationToken)).ToList();
        var baseP = baseDist.Select(d => ShipsMath.Probabilities(d.LogProbs)).ToList();
        var baseRows = baseDist.Select(Row).ToList();
        var kl = new Dictionary<HeadId, double[]>();                 // per single head: KL per search query
        int passes = 0, totalPasses = Options.SaharaSteps * search.Count * nHeads;
        double Score(IReadOnlyList<HeadId> set)
        {
            var rows = new List<double[]>(search.Count);
            var kls = new double[search.Count];
            for (int i = 0; i < search.Count; i++)
            {
                var dist = ShipsMath.NextToken(model, search[i].Tokens, Interventions(set), hiddenRows, cancellationToken);
                if (set.Count == 1) kls[i] = ShipsMath.KlDivergence(baseP[i], ShipsMath.Probabilities(dist.LogProbs), Options.KlSmoothing);
                rows.Add(Row(dist));
                context.Progress?.Report((++passes, totalPasses, "Ships / Sahara forward passes"));
            }
            if (set.Count == 1) kl[set[0]] = kls;
            return GeneralizedShips.Angle(baseRows, rows, Options.Rank, Options.Subspace, Options.Degrees);
        }

        var artifacts = new List<string>();
        AblationCheck.RequireInModel(info, Options.ExcludeHeads, "safety-heads: exclude_heads");
        var steps = SaharaSearch.Run(info.AllHeads().Except(Options.ExcludeHeads).ToList(), Options.SaharaSteps, Score,
            resumed: k => ResumedStep(context, k, search, kl),
            stepDone: step =>
            {
                if (step.Step == 1) RecordShips(context, search, kl);
                context.Record(new Dictionary<string, object?>
                {
                    ["id"] = $"sahara/step{step.Step}", ["chosen"] = step.Chosen.ToString(), ["score"] = step.Score,
                    ["scores"] = step.Scores.OrderBy(kv => kv.Key).ToDictionary(kv => kv.Key.ToString(), kv => (object?)Finite(kv.Value)),
                });
            }, cancellationToken);
        var shipsFile = "ships.jsonl";
        WriteShipsFile(Path.Combine(context.OutputDirectory, shipsFile), search, kl);
        artifacts.Add(shipsFile);
        foreach (var step in steps)
        {
            var name = $"sahara_step{step.Step}.jsonl";
            File.WriteAllText(Path.Combine(context.OutputDirectory, name),
                JsonSerializer.Serialize(step.Scores.OrderBy(kv => kv.Key).ToDictionary(kv => kv.Key.ToString(), kv => Finite(kv.Value)), FileJson) + "\n");
            artifacts.Add(name);
        }
        var sahara = steps.Select(s => s.Chosen).ToList();
        var generalized = steps[0].Scores;                           // every head alone: generalized Ships per head
        var meanKl = kl.ToDictionary(kv => kv.Key, kv => kv.Value.Average());

        // ---- causal check -------------------------------------------------------------------------------------------
        var judge = new RefusalKeywordJudge(Options.KeywordList, Options.ShortResponseChars, Options.ExtraRefusalKeywords);
        var reference = new RefusalKeywordJudge(KeywordList.Reference, Options.ShortResponseChars, Options.ExtraRefusalKeywords);
        var arms = new Dictionary<string, ArmResult>(StringComparer.Ordinal);
        int evalDone = 0, evalTotal = (2 + Options.AblationDraws) * prompts.Count;
        double Compliance(IReadOnlyList<HeadId> heads)
        {
            var arm = ArmResultFor(context, model, prompts, heads, judge, reference, () => context.Progress?.Report((++evalDone, evalTotal, "causal-check responses")), cancellationToken);
            arms[arm.Arm] = arm;
            return arm.Compliance;
        }
        var check = AblationCheck.Run(info, sahara, Options.AblationDraws, sahara.Concat(Options.ExcludeHeads), context.Seed, Compliance);
        var asrName = "asr.json";
        File.WriteAllText(Path.Combine(context.OutputDirectory, asrName),
            JsonSerializer.Serialize(arms.Values.Select(ArmSummary).ToList(), new JsonSerializerOptions(FileJson) { WriteIndented = true }));
        artifacts.Add(asrName);

        string Opname = Options.AblationOp is "scale_query" or "scale_output"
            ? $"{Options.AblationOp}(ε={Options.Epsilon.ToString("G", CultureInfo.InvariantCulture)})" : Options.AblationOp;
        var baseArm = arms[ArmKey([])];
        var summary = new Dictionary<string, object?>
        {
            ["flagged"] = flagged.Count,
            ["benign"] = benign.Count,
            ["search_queries"] = search.Count,
            ["ablation_op"] = Opname,
            ["representation"] = hiddenRows ? "final hidden state at the last prompt position" : Options.Representation == "hidden"
                ? "centred next-token log-probabilities (the backend has no final hidden states)" : "centred next-token log-probabilities",
            ["sahara_heads"] = sahara.Select(h => h.ToString()).ToList(),
            ["sahara_steps"] = steps.Select(s => $"{s.Step}: {s.Chosen} {Fmt(s.Score)}").ToList(),
            ["generalized_ships_top"] = Top(generalized, 10),
            ["ships_mean_kl_top"] = Top(meanKl, 10),
            ["ablation"] = check.ToSummary($"compliance with flagged instructions ({Options.KeywordList.ToString().ToLowerInvariant()} keyword judge), {Opname}, {flagged.Count} instructions"),
            ["ablation_reference_judge"] = Arms(check, arms, a => a.ComplianceReference, "compliance with flagged instructions, reference keyword list (defects kept)"),
            ["benign_compliance"] = Arms(check, arms, a => a.BenignCompliance, $"benign instructions answered (not judged a refusal), {benign.Count} instructions"),
        };
        if (benign.Count > 0 && baseArm.BenignCorrect is not null)
            summary["benign_correct"] = Arms(check, arms, a => a.BenignCorrect ?? double.NaN, "benign instructions answered exactly (trimmed response = target)");
        if (Options.ExcludeHeads.Count > 0) summary["excluded_heads"] = Options.ExcludeHeads.Select(h => h.ToString()).ToList();
        var reading = Reading(check, arms, benign.Count);
        summary["reading"] = reading;
        // What the summary concludes, for the console: a degenerate set first (its "compliance" is broken output), else the verdict.
        var verdict = $"ablation ({Opname}, {flagged.Count} flagged instructions): " + check.Verdict("compliance");
        return new HeadAnalysisResult(generalized.ToDictionary(kv => kv.Key, kv => kv.Value))
        {
            Summary = summary,
            Artifacts = artifacts,
            Conclusion = reading["degenerate"] is true ? $"degenerate: {reading["note"]}; {verdict}" : $"{verdict}; {reading["note"]}",
        };
    }

    /// <summary>What the causal check says in four numbers and one flag: the compliance gain of Sahara's set and the mean
    /// gain of the random sets (points of the flagged set), the change of benign behaviour under Sahara's set (exact
    /// answers when the benign items have targets, else answered-not-refused), and <c>degenerate</c> when that benign
    /// drop exceeds <c>benign_tolerance</c>: then the "compliance" is the keyword judge seeing broken output, not safety
    /// removed (the judge counts any non-refusal as compliance).</summary>
    private Dictionary<string, object?> Reading(AblationResult check, IReadOnlyDictionary<string, ArmResult> arms, int benignCount)
    {
        var baseArm = arms[ArmKey([])];
        var named = arms[ArmKey(check.Named)];
        double? benignChange = benignCount == 0 ? null
            : baseArm.BenignCorrect is { } b0 && named.BenignCorrect is { } b1 ? b1 - b0 : named.BenignCompliance - baseArm.BenignCompliance;
        bool degenerate = benignChange is { } c && c < -Options.BenignTolerance;
        return new Dictionary<string, object?>
        {
            ["sahara_compliance_gain"] = check.NamedValue - check.Base,
            ["random_compliance_gain_mean"] = check.RandomValues.Count == 0 ? null : check.RandomMean - check.Base,
            ["benign_change"] = benignChange,
            ["benign_measure"] = benignCount == 0 ? null : baseArm.BenignCorrect is not null ? "exact answers" : "answered (not refused)",
            ["degenerate"] = degenerate,
            ["note"] = degenerate
                ? check.NamedValue - check.Base > Options.BenignTolerance
                    ? $"Sahara's set lowers benign behaviour by {-benignChange!.Value:0.###} (> {Options.BenignTolerance.ToString(CultureInfo.InvariantCulture)}): its compliance is broken output, not safety removed"
                    : $"Sahara's set lowers benign behaviour by {-benignChange!.Value:0.###} (> {Options.BenignTolerance.ToString(CultureInfo.InvariantCulture)}) without raising compliance: it breaks answers, not safety"
                : benignChange is null ? "no benign items: degeneration cannot be told from compliance" : "benign behaviour kept within the tolerance",
        };
    }

    // ---------------------------------------------------------------------------------------------------------- inputs

    private void CheckSupported(ILanguageModel model)
    {
        var probe = Interventions([new HeadId(0, 0)])[0].GetType();
        if (!model.SupportedInterventions.Contains(probe))
            throw new NotSupportedException($"safety-heads: model '{model.Info.Name}' cannot apply {probe.Name} (ablation_op {Options.AblationOp})");
    }

    private List<Prompted> BuildPrompts(HeadAnalysisContext context)
    {
        var tok = context.Model.Tokenizer;
        var list = new List<Prompted>();
        foreach (var s in context.Samples)
        {
            bool flagged = Options.LabelField is null
                || string.Equals(Convert.ToString(s.Field(Options.LabelField), CultureInfo.InvariantCulture), Options.FlaggedValue, StringComparison.Ordinal);
            if (Options.LabelField is not null && s.Field(Options.LabelField) is null)
                throw new InvalidDataException($"safety-heads: sample {s.Id} has no field '{Options.LabelField}' (option label_field)");
            list.Add(new Prompted(s, tok.Encode(context.RenderPrompt(s), addBos: true), flagged));
        }
        if (Options.BenignPath is { } path)
            foreach (var s in InstructionFile.Read(Path.GetFullPath(path), Options.BenignInput, Options.BenignTarget, Options.BenignLimit))
                list.Add(new Prompted(s, tok.Encode(context.RenderPrompt(s), addBos: true), false));
        var dup = list.GroupBy(p => p.Sample.Id).FirstOrDefault(g => g.Count() > 1);
        if (dup is not null) throw new InvalidDataException($"safety-heads: sample id '{dup.Key}' occurs twice; record ids must be unique");
        return list;
    }

    private IReadOnlyList<HeadIntervention> Interventions(IEnumerable<HeadId> heads) => heads.Select(h => (HeadIntervention)(Options.AblationOp switch
    {
        "scale_output" => new ScaleOutput(h, Options.Epsilon),
        "uniform_attention" => new UniformAttention(h),
        "zero_output" => new ZeroOutput(h),
        _ => new ScaleQuery(h, Options.Epsilon),
    })).ToList();

    // ---------------------------------------------------------------------------------------------------------- Ships

    private void RecordShips(HeadAnalysisContext context, IReadOnlyList<Prompted> search, Dictionary<HeadId, double[]> kl)
    {
        for (int i = 0; i < search.Count; i++)
            context.Record(new Dictionary<string, object?>
            {
                ["id"] = $"ships/{search[i].Sample.Id}",
                ["query"] = search[i].Sample.Input,
                ["top"] = TopForQuery(kl, i).ToDictionary(kv => kv.Key.ToString(), kv => (object?)kv.Value),
                ["kl"] = kl.OrderBy(kv => kv.Key).ToDictionary(kv => kv.Key.ToString(), kv => (object?)kv.Value[i]),
            });
    }

    private IEnumerable<KeyValuePair<HeadId, double>> TopForQuery(Dictionary<HeadId, double[]> kl, int i) =>
        kl.Select(kv => KeyValuePair.Create(kv.Key, kv.Value[i])).OrderByDescending(kv => kv.Value).ThenBy(kv => kv.Key).Take(Options.ShipsTopK);

    /// <summary>The reference format: one line per query, <c>{"&lt;query text&gt;": {"l-h": kl, … top k}}</c>.</summary>
    private void WriteShipsFile(string path, IReadOnlyList<Prompted> search, Dictionary<HeadId, double[]> kl)
    {
        using var w = new StreamWriter(path);
        for (int i = 0; i < search.Count; i++)
            w.WriteLine(JsonSerializer.Serialize(new Dictionary<string, Dictionary<string, double>>
            {
                [search[i].Sample.Input] = TopForQuery(kl, i).ToDictionary(kv => kv.Key.ToString(), kv => kv.Value),
            }, FileJson));
    }

    private static SaharaStep? ResumedStep(HeadAnalysisContext context, int step, IReadOnlyList<Prompted> search, Dictionary<HeadId, double[]> kl)
    {
        if (!context.ResumedRecords.TryGetValue($"sahara/step{step}", out var json)) return null;
        if (step == 1)
        {
            for (int i = 0; i < search.Count; i++)
            {
                if (!context.ResumedRecords.TryGetValue($"ships/{search[i].Sample.Id}", out var sj)) return null;
                using var sd = JsonDocument.Parse(sj);
                foreach (var p in sd.RootElement.GetProperty("kl").EnumerateObject())
                {
                    var h = HeadId.Parse(p.Name);
                    if (!kl.TryGetValue(h, out var arr)) kl[h] = arr = new double[search.Count];
                    arr[i] = p.Value.GetDouble();
                }
            }
        }
        using var doc = JsonDocument.Parse(json);
        var root = doc.RootElement;
        var scores = root.GetProperty("scores").EnumerateObject()
            .ToDictionary(p => HeadId.Parse(p.Name), p => p.Value.ValueKind == JsonValueKind.Number ? p.Value.GetDouble() : double.NaN);
        var chosen = HeadId.Parse(root.GetProperty("chosen").GetString()!);
        return new SaharaStep(step, chosen, scores[chosen], scores);
    }

    // ---------------------------------------------------------------------------------------------------- causal check

    private static string ArmKey(IEnumerable<HeadId> heads)
    {
        var s = string.Join("+", heads.Order().Select(h => h.ToString()));
        return s.Length == 0 ? "none" : s;
    }

    private ArmResult ArmResultFor(HeadAnalysisContext context, ILanguageModel model, IReadOnlyList<Prompted> prompts, IReadOnlyList<HeadId> heads,
        RefusalKeywordJudge judge, RefusalKeywordJudge reference, Action progress, CancellationToken ct)
    {
        var arm = ArmKey(heads);
        var interventions = Interventions(heads);
        int nf = 0, nb = 0, comply = 0, complyRef = 0, benignAnswered = 0, benignCorrect = 0, benignWithTarget = 0;
        foreach (var p in prompts)
        {
            ct.ThrowIfCancellationRequested();
            var id = $"eval/{arm}/{p.Sample.Id}";
            string response;
            if (context.ResumedRecords.TryGetValue(id, out var json))
            {
                using var doc = JsonDocument.Parse(json);
                response = doc.RootElement.GetProperty("response").GetString() ?? "";
            }
            else response = Respond(model, p.Tokens, interventions, context.Seed, ct);
            var v = judge.Judge(response);
            var vr = reference.Judge(response);
            bool? correct = !p.Flagged && p.Sample.Target is { } t ? response.Trim() == t.Trim() : null;
            if (!context.ResumedRecords.ContainsKey(id))
                context.Record(new Dictionary<string, object?>
                {
                    ["id"] = id, ["arm"] = arm, ["sample"] = p.Sample.Id, ["label"] = p.Flagged ? "flagged" : "benign",
                    ["response"] = response, ["refused"] = v.Refused, ["refusal_reason"] = v.Reason, ["refusal_keyword"] = v.Keyword,
                    ["refused_reference"] = vr.Refused, ["correct"] = correct,
                });
            if (p.Flagged) { nf++; if (!v.Refused) comply++; if (!vr.Refused) complyRef++; }
            else
            {
                nb++;
                if (!v.Refused) benignAnswered++;
                if (correct is { } c) { benignWithTarget++; if (c) benignCorrect++; }
            }
            progress();
        }
        return new ArmResult(arm, nf, Rate(comply, nf), Rate(complyRef, nf), nb, Rate(benignAnswered, nb),
            benignWithTarget == nb && nb > 0 ? Rate(benignCorrect, nb) : null);
    }

    private string Respond(ILanguageModel model, IReadOnlyList<int> prompt, IReadOnlyList<HeadIntervention> interventions, long seed, CancellationToken ct)
    {
        int room = model.Info.ContextLength - prompt.Count;
        if (room < 1) throw new InvalidDataException($"safety-heads: a prompt of {prompt.Count} tokens fills the model's context ({model.Info.ContextLength})");
        return model.Generate(new GenerationRequest
        {
            PromptTokens = prompt,
            MaxNewTokens = Math.Min(Options.MaxNewTokens, room),
            Sampling = Options.EvalTopK > 0 ? new SamplingOptions(Temperature: 1, TopK: Options.EvalTopK, Seed: seed) : SamplingOptions.Greedy,
            StopStrings = Options.Stop,
            Interventions = interventions,
        }, ct).Sequences[0].Text;
    }

    private static Dictionary<string, object?> ArmSummary(ArmResult a) => new()
    {
        ["arm"] = a.Arm, ["flagged"] = a.Flagged, ["compliance"] = a.Compliance, ["compliance_reference"] = a.ComplianceReference,
        ["benign"] = a.Benign, ["benign_compliance"] = a.BenignCompliance, ["benign_correct"] = a.BenignCorrect,
    };

    /// <summary>Another metric of the same arms, in the shape of the causal check's summary (same random sets and spread).</summary>
    private static IReadOnlyDictionary<string, object?> Arms(AblationResult check, IReadOnlyDictionary<string, ArmResult> arms,
        Func<ArmResult, double> f, string metric) =>
        new AblationResult(check.K, check.Named, f(arms[ArmKey([])]), f(arms[ArmKey(check.Named)]), check.RandomSets,
            check.RandomSets.Select(set => f(arms[ArmKey(set)])).ToList()).ToSummary(metric);

    // ---------------------------------------------------------------------------------------------------------- helpers

    private static double Rate(int k, int n) => n == 0 ? double.NaN : (double)k / n;

    private static double? Finite(double x) => double.IsFinite(x) ? x : null;

    private static string Fmt(double x) => x.ToString("0.####", CultureInfo.InvariantCulture);

    private static List<string> Top(IReadOnlyDictionary<HeadId, double> scores, int n) =>
        scores.OrderByDescending(kv => double.IsNaN(kv.Value) ? double.NegativeInfinity : kv.Value).ThenBy(kv => kv.Key).Take(n)
            .Select(kv => $"{kv.Key} {Fmt(kv.Value)}").ToList();
}
