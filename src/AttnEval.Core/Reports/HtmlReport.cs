using System.Globalization;
using System.Text.Json.Nodes;
using HandlebarsDotNet;

namespace AttnEval.Core.Reports;

/// <summary>
/// Renders <c>report.html</c> from a run folder's <c>summary.json</c> and <c>samples.jsonl</c> records with a
/// Handlebars template. Every value goes through Handlebars' HTML encoding: model output is untrusted input
/// (DESIGN.md §7), so no text from a record is ever written raw.
/// </summary>
public static class HtmlReport
{
    private static readonly Lazy<HandlebarsTemplate<object, object>> Template = new(() =>
    {
        using var stream = typeof(HtmlReport).Assembly.GetManifestResourceStream("AttnEval.Core.Reports.report.hbs")
                           ?? throw new InvalidOperationException("report template missing from AttnEval.Core");
        using var reader = new StreamReader(stream);
        return Handlebars.Create().Compile(reader.ReadToEnd());
    });

    /// <summary>Builds the HTML text.</summary>
    /// <param name="summary">The parsed <c>summary.json</c>.</param>
    /// <param name="records">The parsed <c>samples.jsonl</c> records, in file order.</param>
    /// <param name="runDir">Shown in the header.</param>
    public static string Render(JsonObject summary, IReadOnlyList<JsonObject> records, string runDir)
    {
        var methods = summary["methods"]?.AsObject() ?? [];
        var metricNames = summary["evaluation_metrics"]?.AsArray().Select(x => (string)x!).ToList() ?? [];
        var methodNames = methods.Select(kv => kv.Key).ToList();
        var model = new Dictionary<string, object?>
        {
            ["name"] = (string?)summary["name"] ?? "run",
            ["kind"] = (string?)summary["kind"] ?? "",
            ["model"] = (string?)summary["model"] ?? "",
            ["n_samples"] = summary["n_samples"]?.ToString() ?? "0",
            ["accuracy"] = Fmt(summary["accuracy"]),
            ["n_errors"] = summary["n_errors"]?.ToString() ?? "0",
            ["run_dir"] = runDir,
            ["ci_level"] = Fmt(summary["confidence_level"]),
            ["bootstrap"] = summary["bootstrap"]?.ToString() ?? "0",
            ["metric_names"] = metricNames,
            ["method_names"] = methodNames,
            ["methods"] = methods.Select(kv => new Dictionary<string, object?>
            {
                ["name"] = kv.Key,
                ["n"] = kv.Value?["n"]?.ToString() ?? "",
                ["cells"] = metricNames.Select(m => Cell(kv.Value?[m])).ToList(),
            }).ToList(),
            ["samples"] = records.Select(r => new Dictionary<string, object?>
            {
                ["id"] = (string?)r["id"],
                ["answer"] = (string?)r["answer"] ?? "",
                ["verdict"] = r["error"] is not null ? "error: " + (string?)r["error"] : r["correct"] is null ? "" : (bool)r["correct"]! ? "correct" : "wrong",
                ["verdict_class"] = r["error"] is not null ? "err" : r["correct"] is JsonValue v && (bool)v ? "ok" : "bad",
                ["extracted"] = (string?)r["judge"]?["extracted"] ?? "",
                ["expected"] = (string?)r["judge"]?["expected"] ?? "",
                ["values"] = methodNames.Select(m =>
                    r["metrics"]?[m]?["uncertainty"] is { } u ? Fmt(u) :
                    r["errors"]?[m] is { } e ? "error: " + (string?)e : "").ToList(),
            }).ToList(),
        };
        return Template.Value(model);
    }

    /// <summary>Renders and writes <c>report.html</c> into a run folder from its files.</summary>
    /// <exception cref="FileNotFoundException">The folder has no <c>summary.json</c>.</exception>
    public static string Write(string runDir)
    {
        var summaryPath = Path.Combine(runDir, Runs.RunFolder.SummaryFile);
        if (!File.Exists(summaryPath)) throw new FileNotFoundException($"{summaryPath}: no summary (the run has not finished); run it again with --resume {runDir}", summaryPath);
        var summary = JsonNode.Parse(File.ReadAllText(summaryPath))!.AsObject();
        var html = (string?)summary["kind"] is "head-attribution" or "data-scoring"
            ? AnalysisReport.Render(summary, Runs.RunFolder.ReadSamples(runDir), runDir)
            : Render(summary, Runs.RunFolder.ReadSamples(runDir), runDir);
        var path = Path.Combine(runDir, "report.html");
        Runs.RunFolder.WriteAtomic(path, html);
        return path;
    }

    private static string Cell(JsonNode? node)
    {
        if (node is null) return "n/a";
        if (node is JsonObject o)
        {
            var v = Fmt(o["value"]);
            return o["ci_low"] is null ? v : $"{v} [{Fmt(o["ci_low"])}, {Fmt(o["ci_high"])}]";
        }
        return Fmt(node);
    }

    private static string Fmt(JsonNode? node) => node switch
    {
        null => "n/a",
        JsonValue v when v.TryGetValue<double>(out var d) => double.IsNaN(d) ? "n/a" : d.ToString("0.###", CultureInfo.InvariantCulture),
        _ => node.ToString(),
    };
}
