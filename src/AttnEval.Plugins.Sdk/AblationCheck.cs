using AttnEval.Abstractions;

namespace AttnEval.Plugins.Sdk;

/// <summary>
/// The causal check every head analysis runs (issue 6): a task metric with no ablation, with the named heads ablated, and
/// with the same number of random heads ablated, over several seeded draws, reported with their spread. Mirrors Wu et al.
/// 2024 §4 (top-K retrieval heads vs K random non-retrieval heads) and Hua et al. 2025 App. D.
/// </summary>
/// <param name="K">Number of heads ablated in each arm.</param>
/// <param name="Named">The named heads (the analysis' top K).</param>
/// <param name="Base">Metric with no ablation.</param>
/// <param name="NamedValue">Metric with <see cref="Named"/> ablated.</param>
/// <param name="RandomSets">The random head sets, one per draw.</param>
/// <param name="RandomValues">Metric with each random set ablated.</param>
public sealed record AblationResult(int K, IReadOnlyList<HeadId> Named, double Base, double NamedValue,
    IReadOnlyList<IReadOnlyList<HeadId>> RandomSets, IReadOnlyList<double> RandomValues)
{
    /// <summary>Mean metric over the random draws (NaN with no draws).</summary>
    public double RandomMean => RandomValues.Count == 0 ? double.NaN : RandomValues.Average();

    /// <summary>Sample standard deviation over the random draws (0 with fewer than two).</summary>
    public double RandomStd => RandomValues.Count < 2 ? 0 : Math.Sqrt(RandomValues.Sum(v => (v - RandomMean) * (v - RandomMean)) / (RandomValues.Count - 1));

    /// <summary>The check's verdict in one line: the metric with no ablation, with the named heads ablated, and with the
    /// random sets (mean and range), then whether the named heads move it further from the base than every random set
    /// does (the claim the check tests) or not.</summary>
    /// <param name="measure">What the metric is, e.g. <c>needle success</c>.</param>
    public string Verdict(string measure)
    {
        var f = System.Globalization.CultureInfo.InvariantCulture;
        var head = $"{measure} {Base.ToString("0.000", f)} → {NamedValue.ToString("0.000", f)} with the top {K} ablated ({string.Join(" ", Named)})";
        if (RandomValues.Count == 0) return head + "; no random sets drawn, so the named heads are not compared with any";
        var named = Math.Abs(NamedValue - Base);
        var strongestRandom = RandomValues.Max(v => Math.Abs(v - Base));
        return head + $", {RandomMean.ToString("0.000", f)} mean [{RandomValues.Min().ToString("0.000", f)}, {RandomValues.Max().ToString("0.000", f)}] with {RandomValues.Count} random sets of {K}: " +
               (named > strongestRandom ? "the named heads matter (they change it more than every random set)"
                                        : "not shown (a random set changes it as much as the named heads)");
    }

    /// <summary>For <c>summary.json</c>: k, heads, base, named, named_delta, random mean/std/min/max/values/delta and the random sets.</summary>
    public IReadOnlyDictionary<string, object?> ToSummary(string metricName) => new Dictionary<string, object?>
    {
        ["metric"] = metricName,
        ["k"] = K,
        ["heads"] = Named.Select(h => h.ToString()).ToList(),
        ["base"] = Base,
        ["named"] = NamedValue,
        ["named_delta"] = NamedValue - Base,
        ["random_mean"] = RandomMean,
        ["random_std"] = RandomStd,
        ["random_min"] = RandomValues.Count == 0 ? double.NaN : RandomValues.Min(),
        ["random_max"] = RandomValues.Count == 0 ? double.NaN : RandomValues.Max(),
        ["random_delta"] = RandomMean - Base,
        ["random_values"] = RandomValues.ToList(),
        ["random_heads"] = RandomSets.Select(s => string.Join(" ", s.Select(h => h.ToString()))).ToList(),
    };
}

/// <summary>Runs <see cref="AblationResult"/> checks.</summary>
public static class AblationCheck
{
    /// <summary>Reads a list option of head names (<c>"l-h"</c> or <c>"L{l}H{h}"</c>), such as the heads kept out of the random draws.</summary>
    /// <param name="names">The option's values.</param>
    /// <param name="option">The option's recipe path for the message, e.g. <c>metrics.retrieval-heads.ablation_exclude</c>.</param>
    /// <exception cref="ArgumentException">A value that is not a head name; the message names the option and index.</exception>
    public static IReadOnlyList<HeadId> ParseHeads(IReadOnlyList<string> names, string option) =>
        names.Select((h, i) => HeadId.TryParse(h, out var id) ? id
            : throw new ArgumentException($"{option}[{i}]: '{h}' is not a head (expected \"layer-head\", e.g. \"0-3\")")).ToList();

    /// <summary>Refuses heads outside the model's L × H (known only once the model is loaded).</summary>
    /// <param name="model">The model's shape.</param>
    /// <param name="heads">Heads named by an option.</param>
    /// <param name="what">Analysis and option for the message, e.g. <c>safety-heads: exclude_heads</c>.</param>
    /// <exception cref="InvalidDataException">A head outside the model.</exception>
    public static void RequireInModel(ModelInfo model, IEnumerable<HeadId> heads, string what)
    {
        foreach (var h in heads)
            if (h.Layer >= model.Layers || h.Head >= model.Heads)
                throw new InvalidDataException($"{what} names head {h}, outside {model.Layers} layers × {model.Heads} heads");
    }

    /// <summary><paramref name="k"/> distinct heads drawn uniformly from the model's heads outside <paramref name="exclude"/>
    /// (the reference script assumes 32×32; this uses the model's L×H).</summary>
    /// <exception cref="ArgumentException">Fewer than <paramref name="k"/> heads remain.</exception>
    public static IReadOnlyList<HeadId> RandomHeads(ModelInfo model, int k, IReadOnlySet<HeadId> exclude, Random rng)
    {
        var pool = model.AllHeads().Where(h => !exclude.Contains(h)).ToArray();
        if (pool.Length < k) throw new ArgumentException($"only {pool.Length} heads remain outside the {exclude.Count} excluded; cannot draw {k} random heads");
        rng.Shuffle(pool);
        return pool.Take(k).Order().ToList();
    }

    /// <summary>Evaluates <paramref name="metric"/> with no heads, the named heads and <paramref name="draws"/> random sets.</summary>
    /// <param name="model">The model's shape.</param>
    /// <param name="named">Heads to ablate (K = its count).</param>
    /// <param name="draws">Number of random draws, ≥ 0.</param>
    /// <param name="exclude">Heads never drawn at random (the named ones are always excluded).</param>
    /// <param name="seed">Seed of the draws.</param>
    /// <param name="metric">The task metric given the heads to ablate (empty = none).</param>
    public static AblationResult Run(ModelInfo model, IReadOnlyList<HeadId> named, int draws, IEnumerable<HeadId> exclude, long seed,
        Func<IReadOnlyList<HeadId>, double> metric)
    {
        var ex = new HashSet<HeadId>(exclude);
        ex.UnionWith(named);
        var rng = new Random(unchecked((int)(seed ^ (seed >> 32))));
        var sets = Enumerable.Range(0, draws).Select(_ => RandomHeads(model, named.Count, ex, rng)).ToList();
        double b = metric([]);
        double n = metric(named);
        var values = sets.Select(s => metric(s)).ToList();
        return new AblationResult(named.Count, named, b, n, sets, values);
    }
}
