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
            ["kind"] = recipe.Kind.ToRecipeName(),
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
