using System.Globalization;
using System.Text.Json.Nodes;

namespace AttnEval.Core.Evaluation;

/// <summary>One episode as the paired analysis reads it (see <c>AgentEvaluationContext</c>'s record keys).</summary>
/// <param name="Condition">Condition name.</param>
/// <param name="Pair">Pairing key: the same for one item and run under every condition.</param>
/// <param name="Item">Item id (for RandomRight / Pass@2 over runs), or null.</param>
/// <param name="Correct">Whether the answer is correct.</param>
/// <param name="Pred">Normalised answer ("" when none).</param>
/// <param name="Confidence">Confidence in [0, 1], or null.</param>
/// <param name="Misled">True/false when the condition injected a misleading answer, else null.</param>
/// <param name="Abstained">Whether the agent gave no answer or an abstention.</param>
/// <param name="Stats">Per-episode numbers averaged per condition (null values are skipped).</param>
public sealed record PairedEpisode(string Condition, string Pair, string? Item, bool Correct, string Pred, double? Confidence, bool? Misled,
    bool Abstained, IReadOnlyDictionary<string, double?> Stats)
{
    /// <summary>Reads an episode record; null when it carries <c>error</c> or lacks <c>condition</c>, <c>pair</c> or <c>correct</c>.</summary>
    public static PairedEpisode? FromRecord(JsonObject r)
    {
        if (r["error"] is not null || (string?)r["condition"] is not { } c || (string?)r["pair"] is not { } p || r["correct"] is not JsonValue cv) return null;
        var stats = new Dictionary<string, double?>(StringComparer.Ordinal);
        foreach (var (k, v) in r["stats"]?.AsObject() ?? [])
            stats[k] = PairedConditions.Number(v);
        double? conf = PairedConditions.Number(r["confidence"]);
        return new PairedEpisode(c, p, (string?)r["item"], cv.GetValue<bool>(), (string?)r["pred"] ?? "", conf,
            r["misled"] is JsonValue m ? m.GetValue<bool>() : null, r["abstained"] is JsonValue a && a.GetValue<bool>(), stats);
    }

}

/// <summary>
/// Paired comparison of conditions against a reference (specs/head-methods.md §4.2.3): over the N pairs present in both
/// the reference 0 and condition c, <c>Acc</c>, <c>ΔAcc = Acc₀ − Acc_c</c> with a paired percentile-bootstrap interval
/// (pairs resampled), <c>RelDrop = ΔAcc/Acc₀</c>, <c>RR = Acc_c/Acc₀</c>, <c>FlipRate</c> (prediction changed; with
/// interval), <c>HarmFlip</c>/<c>BenFlip</c> (ΔAcc = HarmFlip − BenFlip), the exact McNemar test on paired correctness,
/// <c>MisleadRate</c>, <c>Abstain</c>, and for confidences AUROC(conf → correct), ECE (equal-width bins), Brier, Spearman
/// ρ and point-biserial r, <c>ΔAUROC = AUROC₀ − AUROC_c</c> (paired bootstrap) and <c>ΔECE</c>, and the mean confidence
/// shift <c>conf_c − conf₀</c> over harmful flips, benign flips and stable pairs. RandomRight and Pass@2 are reported for
/// the reference when items have two or more runs.
/// </summary>
public static class PairedConditions
{
    /// <summary>Exact two-sided McNemar p-value: with b = pairs correct only under the reference and c = pairs correct
    /// only under the condition, <c>p = min(1, 2 · P[X ≤ min(b, c)])</c> for X ~ Binomial(b + c, ½); 1 when b + c = 0.</summary>
    /// <exception cref="ArgumentOutOfRangeException">A negative count.</exception>
    public static double McNemarExact(int b, int c)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(b);
        ArgumentOutOfRangeException.ThrowIfNegative(c);
        int n = b + c, k = Math.Min(b, c);
        if (n == 0) return 1;
        // Σ_{i≤k} C(n, i) / 2^n in log space (n may be in the thousands).
        double logHalfN = n * Math.Log(0.5), sum = 0, logC = 0;
        for (int i = 0; i <= k; i++)
        {
            if (i > 0) logC += Math.Log(n - i + 1) - Math.Log(i);
            sum += Math.Exp(logC + logHalfN);
        }
        return Math.Min(1, 2 * sum);
    }

    /// <summary>Spearman's ρ (Pearson correlation of mid-ranks); NaN when either side is constant or fewer than 2 items.</summary>
    public static double Spearman(IReadOnlyList<double> x, IReadOnlyList<double> y) => Pearson(MidRanks(x), MidRanks(y));

    /// <summary>Pearson correlation (the point-biserial r when one side is 0/1); NaN when either side is constant or fewer than 2 items.</summary>
    /// <exception cref="ArgumentException">Different lengths.</exception>
    public static double Pearson(IReadOnlyList<double> x, IReadOnlyList<double> y)
    {
        if (x.Count != y.Count) throw new ArgumentException($"lists of different lengths ({x.Count} and {y.Count})", nameof(y));
        int n = x.Count;
        if (n < 2) return double.NaN;
        double mx = x.Average(), my = y.Average(), sxy = 0, sxx = 0, syy = 0;
        for (int i = 0; i < n; i++)
        {
            sxy += (x[i] - mx) * (y[i] - my);
            sxx += (x[i] - mx) * (x[i] - mx);
            syy += (y[i] - my) * (y[i] - my);
        }
        return sxx == 0 || syy == 0 ? double.NaN : sxy / Math.Sqrt(sxx * syy);
    }

    private static double[] MidRanks(IReadOnlyList<double> v)
    {
        var order = Enumerable.Range(0, v.Count).OrderBy(i => v[i]).ToArray();
        var ranks = new double[v.Count];
        for (int i = 0; i < order.Length;)
        {
            int j = i;
            while (j + 1 < order.Length && v[order[j + 1]] == v[order[i]]) j++;
            for (int t = i; t <= j; t++) ranks[order[t]] = (i + j) / 2.0 + 1;
            i = j + 1;
        }
        return ranks;
    }

    /// <summary>Computes the per-condition table.</summary>
    /// <param name="episodes">All episodes (any order).</param>
    /// <param name="reference">The reference condition's name.</param>
    /// <param name="conditions">Conditions in report order (others found in the episodes are appended in ordinal order).</param>
    /// <param name="options">Bootstrap resamples, level and seed; ECE bins.</param>
    /// <returns>A JSON object: <c>reference</c>, <c>n_runs</c>, <c>random_right</c>, <c>pass_at_2</c>, and <c>conditions</c>
    /// (name → metrics; intervals as <c>{value, ci_low, ci_high}</c>; undefined values null).</returns>
    public static JsonObject Analyze(IReadOnlyList<PairedEpisode> episodes, string reference, IReadOnlyList<string> conditions, EvaluationOptions options)
    {
        ArgumentNullException.ThrowIfNull(episodes);
        var byCond = episodes.GroupBy(e => e.Condition, StringComparer.Ordinal)
            .ToDictionary(g => g.Key, g => g.GroupBy(e => e.Pair, StringComparer.Ordinal).ToDictionary(x => x.Key, x => x.First(), StringComparer.Ordinal), StringComparer.Ordinal);
        var order = conditions.Concat(byCond.Keys.Except(conditions, StringComparer.Ordinal).Order(StringComparer.Ordinal)).Distinct(StringComparer.Ordinal).ToList();
        var refEps = byCond.GetValueOrDefault(reference) ?? new Dictionary<string, PairedEpisode>(StringComparer.Ordinal);
        var table = new JsonObject();
        foreach (var name in order)
        {
            var eps = byCond.GetValueOrDefault(name);
            if (eps is null) { table[name] = new JsonObject { ["n"] = 0 }; continue; }
            var node = Single(eps.Values.ToList(), options);
            if (name != reference)
            {
                var pairs = eps.Keys.Where(refEps.ContainsKey).Order(StringComparer.Ordinal).Select(k => (Ref: refEps[k], Cur: eps[k])).ToList();
                Paired(node, pairs, options);
            }
            table[name] = node;
        }

        var result = new JsonObject { ["reference"] = reference };
        var refList = refEps.Values.Where(e => e.Item is not null).GroupBy(e => e.Item!, StringComparer.Ordinal).ToList();
        int runs = refList.Count == 0 ? 1 : refList.Max(g => g.Count());
        result["n_runs"] = runs;
        if (runs >= 2)
        {
            var multi = refList.Where(g => g.Count() >= 2).Select(g => g.OrderBy(e => e.Pair, StringComparer.Ordinal).Take(2).ToList()).ToList();
            int atLeastOne = multi.Count(g => g[0].Correct || g[1].Correct);
            int exactlyOne = multi.Count(g => g[0].Correct ^ g[1].Correct);
            result["random_right"] = atLeastOne == 0 ? null : (double)exactlyOne / atLeastOne;
            result["pass_at_2"] = multi.Count == 0 ? null : (double)atLeastOne / multi.Count;
        }
        result["conditions"] = table;
        return result;
    }

    private static JsonObject Single(List<PairedEpisode> eps, EvaluationOptions o)
    {
        var node = new JsonObject
        {
            ["n"] = eps.Count,
            ["accuracy"] = eps.Average(e => e.Correct ? 1.0 : 0.0),
            ["abstain"] = eps.Average(e => e.Abstained ? 1.0 : 0.0),
        };
        var misled = eps.Where(e => e.Misled is not null).ToList();
        if (misled.Count > 0) node["mislead_rate"] = misled.Average(e => e.Misled!.Value ? 1.0 : 0.0);
        var withConf = eps.Where(e => e.Confidence is not null).ToList();
        node["n_confidence"] = withConf.Count;
        if (withConf.Count > 0)
        {
            var conf = withConf.Select(e => Math.Clamp(e.Confidence!.Value, 0, 1)).ToList();
            var lab = withConf.Select(e => e.Correct ? 1.0 : 0.0).ToList();
            node["auroc"] = Num(UncertaintyMetrics.Auroc(conf, withConf.Select(e => e.Correct).ToList()));
            node["ece"] = Num(UncertaintyMetrics.Ece(conf, lab, o.EceBins, o.EceBinning));
            node["brier"] = Num(UncertaintyMetrics.Brier(conf, lab));
            node["spearman"] = Num(Spearman(conf, lab));
            node["point_biserial"] = Num(Pearson(conf, lab));
            node["mean_confidence"] = conf.Average();
        }
        var stats = new JsonObject();
        foreach (var key in eps.SelectMany(e => e.Stats.Keys).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal))
        {
            var vals = eps.Select(e => e.Stats.GetValueOrDefault(key)).Where(v => v is not null && double.IsFinite(v.Value)).Select(v => v!.Value).ToList();
            stats[key] = vals.Count == 0 ? null : vals.Average();
        }
        node["stats"] = stats;
        return node;
    }

    private static void Paired(JsonObject node, List<(PairedEpisode Ref, PairedEpisode Cur)> pairs, EvaluationOptions o)
    {
        int n = pairs.Count;
        node["n_pairs"] = n;
        if (n == 0) return;
        var r = pairs.Select(p => p.Ref.Correct ? 1.0 : 0.0).ToArray();
        var c = pairs.Select(p => p.Cur.Correct ? 1.0 : 0.0).ToArray();
        var flip = pairs.Select(p => p.Ref.Pred != p.Cur.Pred ? 1.0 : 0.0).ToArray();
        double accRef = r.Average(), accCur = c.Average(), delta = accRef - accCur;
        node["accuracy_reference"] = accRef;
        node["accuracy_paired"] = accCur;
        node["delta_acc"] = WithInterval(delta, n, idx => idx.Average(i => r[i] - c[i]), o, 1);
        node["rel_drop"] = accRef == 0 ? null : delta / accRef;
        node["rr"] = accRef == 0 ? null : accCur / accRef;
        node["flip_rate"] = WithInterval(flip.Average(), n, idx => idx.Average(i => flip[i]), o, 2);
        int harm = pairs.Count(p => p.Ref.Correct && !p.Cur.Correct), ben = pairs.Count(p => !p.Ref.Correct && p.Cur.Correct);
        node["harm_flip"] = (double)harm / n;
        node["ben_flip"] = (double)ben / n;
        node["mcnemar"] = new JsonObject { ["b"] = harm, ["c"] = ben, ["p_value"] = McNemarExact(harm, ben) };

        var conf = pairs.Where(p => p.Ref.Confidence is not null && p.Cur.Confidence is not null).ToList();
        if (conf.Count > 0)
        {
            var cr = conf.Select(p => Math.Clamp(p.Ref.Confidence!.Value, 0, 1)).ToArray();
            var cc = conf.Select(p => Math.Clamp(p.Cur.Confidence!.Value, 0, 1)).ToArray();
            var lr = conf.Select(p => p.Ref.Correct).ToArray();
            var lc = conf.Select(p => p.Cur.Correct).ToArray();
            double DeltaAuroc(IReadOnlyList<int> idx) =>
                UncertaintyMetrics.Auroc(idx.Select(i => cr[i]).ToList(), idx.Select(i => lr[i]).ToList())
                - UncertaintyMetrics.Auroc(idx.Select(i => cc[i]).ToList(), idx.Select(i => lc[i]).ToList());
            node["delta_auroc"] = WithInterval(DeltaAuroc(Enumerable.Range(0, conf.Count).ToList()), conf.Count, DeltaAuroc, o, 3);
            node["delta_ece"] = Num(UncertaintyMetrics.Ece(cr, lr.Select(x => x ? 1.0 : 0.0).ToList(), o.EceBins, o.EceBinning)
                                    - UncertaintyMetrics.Ece(cc, lc.Select(x => x ? 1.0 : 0.0).ToList(), o.EceBins, o.EceBinning));
            JsonNode? Shift(Func<(PairedEpisode Ref, PairedEpisode Cur), bool> which)
            {
                var sel = conf.Where(which).Select(p => p.Cur.Confidence!.Value - p.Ref.Confidence!.Value).ToList();
                return sel.Count == 0 ? null : new JsonObject { ["n"] = sel.Count, ["mean"] = sel.Average() };
            }
            node["confidence_shift"] = new JsonObject
            {
                ["harmful"] = Shift(p => p.Ref.Correct && !p.Cur.Correct),
                ["benign"] = Shift(p => !p.Ref.Correct && p.Cur.Correct),
                ["stable"] = Shift(p => p.Ref.Correct == p.Cur.Correct),
            };
        }
    }

    private static JsonObject WithInterval(double value, int n, Func<IReadOnlyList<int>, double> statistic, EvaluationOptions o, int salt)
    {
        var node = new JsonObject { ["value"] = Num(value) };
        if (o.BootstrapResamples > 0 && double.IsFinite(value))
        {
            var ci = Bootstrap.PercentileInterval(n, idx => statistic(idx), o.BootstrapResamples, o.ConfidenceLevel, o.Seed + salt);
            node["ci_low"] = Num(ci.Lower);
            node["ci_high"] = Num(ci.Upper);
        }
        return node;
    }

    private static JsonNode? Num(double v) => double.IsFinite(v) ? JsonValue.Create(v) : null;

    /// <summary>A JSON number as a double (whatever CLR type backs it), else null.</summary>
    internal static double? Number(JsonNode? n) => n is JsonValue v && v.GetValueKind() == System.Text.Json.JsonValueKind.Number
        ? double.Parse(v.ToJsonString(), CultureInfo.InvariantCulture) : null;

    /// <summary>Formats a value for reports (three decimals, invariant culture; "n/a" for null).</summary>
    public static string Format(JsonNode? v) => Number(v) is { } d ? d.ToString("0.000", CultureInfo.InvariantCulture) : "n/a";
}
