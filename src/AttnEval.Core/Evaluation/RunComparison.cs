using System.Globalization;
using System.Text.Json.Nodes;
using AttnEval.Core.Runs;

namespace AttnEval.Core.Evaluation;

/// <summary>One run of a comparison: its folder and what its summary says.</summary>
/// <param name="Dir">The run folder as given.</param>
/// <param name="Label">Short name shown in tables: the folder's name.</param>
/// <param name="Name">The recipe name (<c>summary.json</c> <c>name</c>).</param>
/// <param name="Model">The model (<c>summary.json</c> <c>model</c>).</param>
/// <param name="Samples">Number of samples.</param>
/// <param name="Accuracy">Share of judged answers that are correct, in [0, 1], or null.</param>
public sealed record ComparedRun(string Dir, string Label, string Name, string Model, int Samples, double? Accuracy);

/// <summary>A metric value of one method in one run, as its <c>summary.json</c> gives it (estimate and interval).</summary>
/// <param name="Value">The estimate, or null when the run could not compute it.</param>
/// <param name="Lower">Lower end of its bootstrap interval, or null.</param>
/// <param name="Upper">Upper end, or null.</param>
public sealed record ComparedValue(double? Value, double? Lower, double? Upper);

/// <summary>
/// The paired difference of one metric of one method between a run and the first (reference) run, on the samples both
/// judged and both scored with the method: <c>Δ = metric(run) − metric(reference)</c> on the same sample ids, with a
/// paired bootstrap interval (the same resampled ids for both runs, so the samples' shared difficulty cancels).
/// </summary>
/// <param name="Shared">Number of sample ids the two runs share with a verdict and a value of the method.</param>
/// <param name="Delta">Δ on the shared samples (not the difference of the two summaries, which may cover other samples).</param>
/// <param name="Lower">Lower end of the paired bootstrap interval of Δ.</param>
/// <param name="Upper">Upper end.</param>
/// <param name="Note">Why no difference was computed (no shared samples, one class only), or null.</param>
public sealed record PairedDifference(int Shared, double? Delta, double? Lower, double? Upper, string? Note);

/// <summary>One method across the compared runs.</summary>
/// <param name="Method">The estimator's name (a <c>metrics</c> key of <c>summary.json</c>).</param>
/// <param name="Values">Per evaluation metric (auroc, prr, …), per run: its value, or null where the run lacks the method.</param>
/// <param name="Paired">Per paired metric (auroc, prr), per run after the first: the difference to the first run.</param>
public sealed record ComparedMethod(string Method, IReadOnlyDictionary<string, IReadOnlyList<ComparedValue?>> Values,
    IReadOnlyDictionary<string, IReadOnlyList<PairedDifference>> Paired);

/// <summary>
/// <c>attneval compare</c>: the same uncertainty methods across several finished runs side by side — every evaluation
/// metric as each run's summary reports it, and, for AUROC and PRR, the paired difference of each run to the first on the
/// samples they share (paired nonparametric bootstrap, Efron and Tibshirani 1993 ch. 13: resample the shared ids once per
/// replicate and evaluate both runs on the same ids; the bootstrap settings and seed are the first run's).
/// </summary>
/// <remarks>AUROC is the error-detection AUROC of the uncertainty (<see cref="UncertaintyMetrics.AurocError"/>), PRR the
/// prediction-rejection ratio (<see cref="UncertaintyMetrics.Prr"/>), as the runs themselves compute them. Runs of other
/// kinds than <c>uncertainty</c> are refused.</remarks>
public sealed class RunComparison
{
    /// <summary>Metrics with a paired difference.</summary>
    public static IReadOnlyList<string> PairedMetrics { get; } = ["auroc", "prr"];

    /// <summary>The runs, the first being the reference of the paired differences.</summary>
    public required IReadOnlyList<ComparedRun> Runs { get; init; }
    /// <summary>Evaluation metrics in the order of the first run's summary (then any others).</summary>
    public required IReadOnlyList<string> Metrics { get; init; }
    /// <summary>Every method of any run, in the first run's order, then the others' new ones.</summary>
    public required IReadOnlyList<ComparedMethod> Methods { get; init; }
    /// <summary>Bootstrap resamples of the paired intervals.</summary>
    public required int Resamples { get; init; }
    /// <summary>Coverage of the paired intervals, e.g. 0.95.</summary>
    public required double Level { get; init; }
    /// <summary><see cref="Level"/> as a percentage, e.g. "95%".</summary>
    public string LevelText => Level.ToString("P0", CultureInfo.InvariantCulture).Replace(" ", "", StringComparison.Ordinal);

    /// <summary>Reads the runs and computes the comparison.</summary>
    /// <param name="runDirs">Two or more finished uncertainty run folders; the first is the reference.</param>
    /// <exception cref="ArgumentException">Fewer than two folders, or the same folder twice.</exception>
    /// <exception cref="DirectoryNotFoundException">A folder does not exist.</exception>
    /// <exception cref="FileNotFoundException">A run has not finished (no <c>summary.json</c>).</exception>
    /// <exception cref="InvalidDataException">Not a run folder, not an uncertainty run, or an unreadable summary or record
    /// (the message names the file).</exception>
    public static RunComparison Load(IReadOnlyList<string> runDirs)
    {
        ArgumentNullException.ThrowIfNull(runDirs);
        if (runDirs.Count < 2) throw new ArgumentException($"compare needs two or more run folders (got {runDirs.Count})");
        var dup = runDirs.GroupBy(d => Path.GetFullPath(d).TrimEnd(Path.DirectorySeparatorChar)).FirstOrDefault(g => g.Count() > 1);
        if (dup is not null) throw new ArgumentException($"{dup.First()}: given twice; compare different runs");

        var summaries = new List<JsonObject>();
        var runs = new List<ComparedRun>();
        var samples = new List<IReadOnlyList<JsonObject>>();
        foreach (var dir in runDirs)
        {
            var path = RunFolder.RequireSummary(dir);
            JsonObject summary;
            try { summary = JsonNode.Parse(File.ReadAllText(path))?.AsObject() ?? throw new InvalidDataException($"{path}: empty"); }
            catch (System.Text.Json.JsonException e) { throw new InvalidDataException($"{path}: not JSON ({e.Message})"); }
            var kind = (string?)summary["kind"];
            if (kind != "uncertainty")
                throw new InvalidDataException($"{path}: a {kind ?? "(no kind)"} run; compare reads uncertainty runs (kind: uncertainty)");
            summaries.Add(summary);
            runs.Add(new ComparedRun(dir, Path.GetFileName(Path.GetFullPath(dir).TrimEnd(Path.DirectorySeparatorChar)), (string?)summary["name"] ?? "",
                (string?)summary["model"] ?? "", (int?)summary["n_samples"] ?? 0, (double?)summary["accuracy"]));
            samples.Add(RunFolder.ReadSamples(dir));
        }

        var metrics = summaries.SelectMany(s => s["evaluation_metrics"]?.AsArray().Select(m => (string?)m) ?? []).OfType<string>().Distinct().ToList();
        var methodNames = summaries.SelectMany(s => s["methods"]?.AsObject().Select(kv => kv.Key) ?? []).Distinct().ToList();
        int resamples = (int?)summaries[0]["bootstrap"] ?? 1000;
        double level = (double?)summaries[0]["confidence_level"] ?? 0.95;
        long seed = (long?)summaries[0]["seed"] ?? 0;
        var ties = string.Equals((string?)summaries[0]["ties"], "stable", StringComparison.Ordinal) ? TieBreaking.Stable : TieBreaking.Expected;

        var methods = new List<ComparedMethod>();
        foreach (var method in methodNames)
        {
            var values = metrics.ToDictionary(m => m, m => (IReadOnlyList<ComparedValue?>)summaries.Select(s => Value(s, method, m)).ToList());
            var paired = PairedMetrics.ToDictionary(m => m, m => (IReadOnlyList<PairedDifference>)Enumerable.Range(1, runs.Count - 1)
                .Select(k => Paired(samples[0], samples[k], method, m, resamples, level, seed, ties)).ToList());
            methods.Add(new ComparedMethod(method, values, paired));
        }
        return new RunComparison { Runs = runs, Metrics = metrics, Methods = methods, Resamples = resamples, Level = level };
    }

    private static ComparedValue? Value(JsonObject summary, string method, string metric)
    {
        if (summary["methods"]?[method] is not JsonObject m) return null;
        if (m[metric] is not JsonObject v) return new ComparedValue(null, null, null);
        return new ComparedValue((double?)v["value"], (double?)v["ci_low"], (double?)v["ci_high"]);
    }

    /// <summary>(uncertainty, correct) of <paramref name="method"/> per sample id with a verdict and a finite value.</summary>
    private static Dictionary<string, (double U, bool Correct)> Scored(IReadOnlyList<JsonObject> records, string method)
    {
        var byId = new Dictionary<string, (double, bool)>(StringComparer.Ordinal);
        foreach (var r in records)
        {
            if ((string?)r["id"] is not { } id || r["correct"] is not JsonValue c || !c.TryGetValue<bool>(out var correct)) continue;
            if (r["metrics"]?[method]?["uncertainty"] is not JsonValue u || !u.TryGetValue<double>(out var value) || !double.IsFinite(value)) continue;
            byId[id] = (value, correct);
        }
        return byId;
    }

    private static PairedDifference Paired(IReadOnlyList<JsonObject> reference, IReadOnlyList<JsonObject> other, string method, string metric,
        int resamples, double level, long seed, TieBreaking ties)
    {
        var a = Scored(reference, method);
        var b = Scored(other, method);
        var ids = a.Keys.Where(b.ContainsKey).Order(StringComparer.Ordinal).ToArray();
        if (ids.Length == 0) return new PairedDifference(0, null, null, null, "no shared sample with a verdict and a value in both runs");
        var ua = ids.Select(i => a[i].U).ToArray();
        var ca = ids.Select(i => a[i].Correct ? 1.0 : 0.0).ToArray();
        var ub = ids.Select(i => b[i].U).ToArray();
        var cb = ids.Select(i => b[i].Correct ? 1.0 : 0.0).ToArray();
        double Statistic(double[] u, double[] c, int[] idx)
        {
            var su = idx.Select(i => u[i]).ToArray();
            var sc = idx.Select(i => c[i]).ToArray();
            return metric == "auroc" ? UncertaintyMetrics.AurocError(su, sc) : UncertaintyMetrics.Prr(su, sc, 1.0, ties).Value;
        }
        double Delta(int[] idx) => Statistic(ub, cb, idx) - Statistic(ua, ca, idx);
        var all = Enumerable.Range(0, ids.Length).ToArray();
        double delta = Delta(all);
        if (!double.IsFinite(delta))
            return new PairedDifference(ids.Length, null, null, null, "undefined on the shared samples (all correct or all wrong in a run)");
        var interval = Bootstrap.PercentileInterval(ids.Length, Delta, resamples, level, seed);
        return new PairedDifference(ids.Length, delta, Finite(interval.Lower), Finite(interval.Upper), null);
    }

    private static double? Finite(double x) => double.IsFinite(x) ? x : null;

    /// <summary>The comparison as JSON (<c>attneval compare --json</c>, <c>compare.json</c>).</summary>
    public JsonObject ToJson()
    {
        static JsonNode? Num(double? x) => x is { } v ? JsonValue.Create(v) : null;
        return new JsonObject
        {
            ["runs"] = new JsonArray(Runs.Select(r => (JsonNode)new JsonObject
            {
                ["dir"] = r.Dir, ["label"] = r.Label, ["name"] = r.Name, ["model"] = r.Model, ["n_samples"] = r.Samples, ["accuracy"] = Num(r.Accuracy),
            }).ToArray()),
            ["metrics"] = new JsonArray(Metrics.Select(m => (JsonNode)JsonValue.Create(m)).ToArray()),
            ["paired"] = new JsonObject
            {
                ["reference"] = Runs[0].Label, ["metrics"] = new JsonArray(PairedMetrics.Select(m => (JsonNode)JsonValue.Create(m)).ToArray()),
                ["bootstrap"] = Resamples, ["confidence_level"] = Level, ["interval"] = "percentile",
            },
            ["methods"] = new JsonObject(Methods.Select(m => KeyValuePair.Create(m.Method, (JsonNode?)new JsonObject
            {
                ["values"] = new JsonObject(m.Values.Select(kv => KeyValuePair.Create(kv.Key, (JsonNode?)new JsonArray(kv.Value.Select(v => v is null ? null
                    : (JsonNode)new JsonObject { ["value"] = Num(v.Value), ["ci_low"] = Num(v.Lower), ["ci_high"] = Num(v.Upper) }).ToArray())))),
                ["paired"] = new JsonObject(m.Paired.Select(kv => KeyValuePair.Create(kv.Key, (JsonNode?)new JsonArray(kv.Value.Select(p => (JsonNode)new JsonObject
                {
                    ["shared"] = p.Shared, ["delta"] = Num(p.Delta), ["ci_low"] = Num(p.Lower), ["ci_high"] = Num(p.Upper), ["note"] = p.Note,
                }).ToArray())))),
            }))),
        };
    }

    /// <summary>The console form: the runs, then per paired metric (AUROC, PRR) one row per method with each run's value
    /// and interval and the paired difference of each later run to the first. Every metric is in <see cref="ToJson"/> and
    /// the report page.</summary>
    public IEnumerable<string> Describe()
    {
        static string F(double? x) => x is { } v ? Reports.ReportStyle.Fixed(v) : "—";
        int width = Math.Max(6, Methods.Count == 0 ? 6 : Methods.Max(m => m.Method.Length));
        for (int k = 0; k < Runs.Count; k++)
            yield return $"run {k + 1}: {Runs[k].Label} ({Runs[k].Samples} samples, accuracy {F(Runs[k].Accuracy)})";
        foreach (var metric in PairedMetrics.Where(Metrics.Contains))
        {
            yield return "";
            yield return $"{metric.ToUpperInvariant()} (higher is better)".PadRight(width)
                         + string.Concat(Runs.Select((_, k) => $"  {"run " + (k + 1),-20}"))
                         + string.Concat(Runs.Skip(1).Select((_, k) => $"  Δ run {k + 2} − run 1 (paired)"));
            foreach (var m in Methods)
            {
                var cells = m.Values[metric].Select(v => v is null ? "(not run)" : v.Value is null ? "—" : $"{F(v.Value)} [{F(v.Lower)}, {F(v.Upper)}]");
                var deltas = m.Paired[metric].Select(p => p.Delta is null ? $"— ({p.Note})" : $"{(p.Delta >= 0 ? "+" : "")}{F(p.Delta)} [{F(p.Lower)}, {F(p.Upper)}] n={p.Shared}");
                yield return m.Method.PadRight(width) + string.Concat(cells.Select(c => $"  {c,-20}")) + string.Concat(deltas.Select(d => $"  {d}"));
            }
        }
        yield return "";
        yield return $"Δ: the later run minus run 1 on the samples both judged and scored, {LevelText} paired bootstrap interval ({Resamples} resamples); every metric is in compare.html and compare.json.";
    }
}
