using System.Text.Json.Nodes;
using AttnEval.Core.Evaluation;
using AttnEval.Core.Recipes;

namespace AttnEval.Core.Running;

/// <summary>
/// Computes <c>summary.json</c> of an uncertainty run from its <c>samples.jsonl</c> records and the recipe alone, so
/// every number can be traced to sample lines and recipe keys (DESIGN.md §10).
/// </summary>
/// <remarks>
/// For each estimator, the evaluated samples are those with a judge verdict (<c>correct</c>) and a value for that
/// estimator. Each evaluation metric (specs/uq-methods.md §5) is reported as
/// <c>{ value, ci_low, ci_high }</c> with a bootstrap interval over the samples (<c>interval</c>: <c>centered</c>, the
/// bias-centred percentile interval by default, or <c>percentile</c>; <c>evaluation.interval</c>)
/// (through <see cref="EvaluationSuite"/>; <c>evaluation.bootstrap</c> resamples, <c>evaluation.confidence_level</c>, <c>evaluation.seed</c>); a value that is
/// undefined (one class only, no confidence for ECE/Brier) is <c>null</c> with a <c>note</c>. <c>ties</c> records how PRR and
/// AUARC treated tied uncertainties (<c>expected</c> or <c>stable</c>, recipe key <c>evaluation.ties</c>); each method's
/// <c>options</c> are its validated recipe options (e.g. the semantic-entropy <c>variant</c> and <c>unique_responses</c>).
/// </remarks>
public static class RunSummary
{
    /// <summary>
    /// The records in dataset order: by their <c>index</c> (the sample's 0-based position in the run's dataset order, written
    /// by the runner), then by <c>id</c> (ordinal), so the same records give the same order whatever their line order in
    /// <c>samples.jsonl</c> (a merged, resumed or edited file). Records without an <c>index</c> (run folders written before
    /// it existed) follow, in file order. Every order-sensitive computation — the ties of PRR and AUARC under the stable
    /// convention, the bootstrap resamples, the report's curves, calibration folds — reads records through this.
    /// </summary>
    /// <param name="records">Parsed <c>samples.jsonl</c> lines.</param>
    /// <returns>A new list; the input is not changed.</returns>
    public static IReadOnlyList<JsonObject> DatasetOrder(IReadOnlyList<JsonObject> records)
    {
        ArgumentNullException.ThrowIfNull(records);
        return records
            .Select((r, line) => (Record: r, Line: line, Index: IndexOf(r)))
            .OrderBy(x => x.Index is null ? 1 : 0)
            .ThenBy(x => x.Index ?? x.Line)
            .ThenBy(x => x.Index is null ? null : (string?)x.Record["id"], StringComparer.Ordinal)
            .Select(x => x.Record)
            .ToList();
    }

    private static long? IndexOf(JsonObject record) =>
        record["index"] is JsonValue v && v.GetValueKind() == System.Text.Json.JsonValueKind.Number
        && long.TryParse(v.ToJsonString(), System.Globalization.NumberStyles.Integer, System.Globalization.CultureInfo.InvariantCulture, out var i) ? i : null;

    /// <summary>
    /// The <c>cost</c> section of <c>summary.json</c>: what each estimator adds to the time of generation, from
    /// <c>timings.jsonl</c> over the samples of <paramref name="records"/> that have a timing line. <c>generate_seconds</c> is
    /// the batched greedy decoding (its share per question), attention capture included; <c>samples_seconds</c> the
    /// sampled answers (spent once for all estimators that read them); per method, <c>seconds</c> is its own work plus the
    /// time its attention reducer spent receiving rows, and <c>fraction_of_generation</c> that divided by
    /// <c>generate_seconds</c>. Wall-clock times of this run on this machine: unlike every other section they differ
    /// between runs (which is why they live in <c>timings.jsonl</c>, not in the records). Null without timings (run folders
    /// written before timings existed).
    /// </summary>
    public static JsonObject? Cost(Recipe recipe, IReadOnlyList<JsonObject> records, IReadOnlyDictionary<string, JsonObject> timings)
    {
        ArgumentNullException.ThrowIfNull(recipe);
        var lines = records.Select(r => (string?)r["id"]).OfType<string>().Distinct().Select(id => timings.GetValueOrDefault(id)).OfType<JsonObject>().ToList();
        if (lines.Count == 0) return null;
        static double Seconds(JsonNode? n) => n is JsonValue v && v.TryGetValue<double>(out var d) ? d : 0;
        double generate = lines.Sum(l => Seconds(l["generate"])), samples = lines.Sum(l => Seconds(l["samples"]));
        var methods = new JsonObject();
        foreach (var m in recipe.Metrics)
        {
            double sec = lines.Sum(l => Seconds(l["metrics"]?[m.Name]));
            methods[m.Name] = new JsonObject
            {
                ["seconds"] = Math.Round(sec, 3),
                ["fraction_of_generation"] = generate > 0 ? Math.Round(sec / generate, 4) : null,
            };
        }
        return new JsonObject
        {
            ["n"] = lines.Count, ["batch_size"] = recipe.Generation.BatchSize,
            ["generate_seconds"] = Math.Round(generate, 3), ["samples_seconds"] = Math.Round(samples, 3),
            ["note"] = "wall-clock seconds of this run (timings.jsonl); they differ between runs",
            ["methods"] = methods,
        };
    }

    /// <summary>Builds the summary document (records in any line order: they are read in <see cref="DatasetOrder"/>).</summary>
    public static JsonObject Compute(Recipe recipe, IReadOnlyList<JsonObject> records)
    {
        var judged = DatasetOrder(records).Where(r => r["correct"] is JsonValue).ToList();
        var ev = recipe.Evaluation;
        var methods = new JsonObject();
        var options = new EvaluationOptions
        {
            BootstrapResamples = ev.Bootstrap, ConfidenceLevel = ev.ConfidenceLevel, Seed = ev.Seed, EceBins = ev.EceBins,
            Ties = ev.Ties, Interval = ev.Interval,
        };
        foreach (var m in recipe.Metrics)
        {
            var items = judged.Where(r => r["metrics"]?[m.Name]?["uncertainty"] is JsonValue)
                .Select(r => new EvaluationItem(
                    (double)r["metrics"]![m.Name]!["uncertainty"]!,
                    (double?)r["metrics"]![m.Name]!["confidence"],
                    (bool)r["correct"]!))
                .ToList();
            var result = EvaluationSuite.Evaluate(m.Name, items, ev.Metrics, options);
            var node = new JsonObject
            {
                ["n"] = result.Count,
                ["errors"] = records.Count(r => r["errors"]?[m.Name] is not null),
                // The metric's validated options (defaults filled in), so a number names the variant that produced it.
                ["options"] = JsonSerializerHelpers.ToNode(m.Options.Values),
            };
            foreach (var (name, mr) in result.Metrics)
            {
                var cell = new JsonObject { ["value"] = mr.Value };
                if (mr.Lower is not null) { cell["ci_low"] = mr.Lower; cell["ci_high"] = mr.Upper; }
                if (mr.Status != MetricStatus.Ok) cell["status"] = mr.Status == MetricStatus.Undefined ? "undefined" : "not-applicable";
                if (mr.Note is not null) cell["note"] = mr.Note;
                node[name] = cell;
            }
            methods[m.Name] = node;
        }
        int correct = judged.Count(r => (bool)r["correct"]!);
        return new JsonObject
        {
            ["schema_version"] = Runs.RunFolder.SchemaVersion,
            ["name"] = recipe.Name,
            ["kind"] = recipe.Kind,
            ["model"] = recipe.Model.Path,
            ["n_samples"] = records.Count,
            ["n_judged"] = judged.Count,
            ["n_correct"] = correct,
            ["accuracy"] = judged.Count == 0 ? null : (double)correct / judged.Count,
            ["n_errors"] = records.Count(r => r["error"] is not null),
            ["n_metric_errors"] = records.Count(r => r["errors"] is not null),
            ["evaluation_metrics"] = new JsonArray(ev.Metrics.Select(x => (JsonNode?)x).ToArray()),
            ["bootstrap"] = ev.Bootstrap,
            ["confidence_level"] = ev.ConfidenceLevel,
            ["ece_bins"] = ev.EceBins,
            ["ties"] = RecipeNames.TieBreakingName(ev.Ties),
            ["interval"] = RecipeNames.IntervalName(ev.Interval),
            ["seed"] = ev.Seed,
            ["methods"] = methods,
        };
    }
}
