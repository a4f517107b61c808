using System.Globalization;
using System.Text.Json.Nodes;
using HandlebarsDotNet;

namespace AttnEval.Core.Reports;

/// <summary>
/// Renders <c>report.html</c> of an uncertainty run from its <c>summary.json</c> and <c>samples.jsonl</c> records with a
/// Handlebars template: the method × metric table with bootstrap intervals, the figures under <c>plots/</c> when they exist
/// (ROC, reliability, accuracy–rejection; drawn by <c>AttnEval.Reporting</c>), UQAC's attention chain over the answer text
/// for a few samples (<see cref="ChainDetailKeys"/>), and a per-sample table. Every value goes through Handlebars' HTML
/// encoding (<c>{{x}}</c>, never <c>{{{x}}}</c>): model output is untrusted input (DESIGN.md §7), so no text from a record
/// is ever written raw.
/// </summary>
public static class HtmlReport
{
    /// <summary>Folder of the figures inside a run folder.</summary>
    public const string PlotsFolder = "plots";

    /// <summary>The figures the report shows when present, as (file under <see cref="PlotsFolder"/>, title, caption).</summary>
    public static IReadOnlyList<(string File, string Title, string Caption)> Figures { get; } =
    [
        ("roc.png", "ROC curves", "Uncertainty as a detector of wrong answers (positive = wrong); the area is the AUROC of the table. Diagonal = chance."),
        ("reliability.png", "Reliability diagram", "Methods that report a confidence: accuracy against mean confidence per equal-width bin (the ECE bins); the diagonal is perfect calibration."),
        ("accuracy-rejection.png", "Accuracy–rejection curves", "Accuracy of the answers kept after rejecting the most uncertain ones; the area is the AUARC of the table. Dashed: accuracy of all answers."),
    ];

    /// <summary>Most samples whose attention chain the report draws.</summary>
    public const int MaxChainSamples = 8;

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
    /// <param name="figures">Files under <see cref="PlotsFolder"/> to show (names from <see cref="Figures"/>); null or empty = none.</param>
    public static string Render(JsonObject summary, IReadOnlyList<JsonObject> records, string runDir, IReadOnlyCollection<string>? figures = null)
    {
        ArgumentNullException.ThrowIfNull(summary);
        ArgumentNullException.ThrowIfNull(records);
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
            // A summary without "interval" predates the option: its intervals are percentile intervals.
            ["interval_kind"] = (string?)summary["interval"] == "centered"
                ? "bias-centred percentile bootstrap intervals (the percentile interval of the replicates shifted by their median bias, so it holds the value)"
                : "percentile bootstrap intervals",
            ["ties"] = (string?)summary["ties"] == "expected"
                ? "PRR and AUARC average over every order of tied uncertainties"
                : "PRR and AUARC break tied uncertainties in dataset order",
            ["metric_names"] = metricNames,
            ["cost_note"] = summary["cost"] is JsonObject cost
                ? $"cost: the method's added time (its own work and its attention reducer) as a share of greedy generation, {Fmt(cost["generate_seconds"])} s for {cost["n"]} questions in batches of {cost["batch_size"]} on this machine (sampled answers, shared by the sample-based methods: {Fmt(cost["samples_seconds"])} s)"
                : null,
            ["method_names"] = methodNames,
            ["methods"] = methods.Select(kv => new Dictionary<string, object?>
            {
                ["name"] = kv.Key,
                ["n"] = kv.Value?["n"]?.ToString() ?? "",
                ["cells"] = metricNames.Select(m => MetricCell(kv.Value?[m], Best(methods, m))).ToList(),
                ["cost"] = summary["cost"]?["methods"]?[kv.Key]?["fraction_of_generation"] is JsonValue f && f.TryGetValue<double>(out var fr)
                    ? $"{(fr * 100).ToString("0.#", CultureInfo.InvariantCulture)}%" : "",
                ["notes"] = metricNames.Select(m => (string?)kv.Value?[m]?["note"]).Where(n => n is not null).Distinct().ToList(),
            }).ToList(),
            ["figures"] = Figures.Where(f => figures?.Contains(f.File) == true)
                .Select(f => new Dictionary<string, object?> { ["src"] = $"{PlotsFolder}/{f.File}", ["title"] = f.Title, ["caption"] = f.Caption }).ToList(),
            ["chains"] = Chains(records),
            ["samples"] = records.Select(r => SampleRow(r, methodNames)).ToList(),
        };
        return Template.Value(model);
    }

    /// <summary>Renders and writes <c>report.html</c> into a run folder from its files; figures already in
    /// <c>plots/</c> are shown (the CLI draws them first with <c>AttnEval.Reporting</c>).</summary>
    /// <returns>The path of <c>report.html</c>.</returns>
    /// <exception cref="FileNotFoundException">The folder has no <c>summary.json</c> (see <see cref="Runs.RunFolder.RequireSummary"/> for a missing folder or one that is not a run).</exception>
    public static string Write(string runDir)
    {
        var summaryPath = Runs.RunFolder.RequireSummary(runDir);
        var summary = JsonNode.Parse(File.ReadAllText(summaryPath))!.AsObject();
        var figures = Figures.Select(f => f.File).Where(f => File.Exists(Path.Combine(runDir, PlotsFolder, f))).ToList();
        var html = (string?)summary["kind"] switch
        {
            "head-attribution" or "data-scoring" => AnalysisReport.Render(summary, Runs.RunFolder.ReadSamples(runDir), runDir),
            "agent-robustness" => Running.AgentRobustnessRunner.RenderReport(summary, File.Exists(Path.Combine(runDir, PlotsFolder, "robustness-accuracy.png")),
                File.Exists(Path.Combine(runDir, PlotsFolder, "robustness-confidence.png"))),
            _ => Render(summary, Runs.RunFolder.ReadSamples(runDir), runDir, figures),
        };
        var path = Path.Combine(runDir, "report.html");
        Runs.RunFolder.WriteAtomic(path, html);
        return path;
    }

    private static Dictionary<string, object?> SampleRow(JsonObject r, IReadOnlyList<string> methodNames) => new()
    {
        ["id"] = (string?)r["id"],
        ["answer"] = (string?)r["answer"] ?? "",
        ["verdict"] = r["error"] is not null ? "error: " + (string?)r["error"] : r["correct"] is null ? "" : (bool)r["correct"]! ? "correct" : "wrong",
        ["verdict_class"] = r["error"] is not null ? "err" : r["correct"] is JsonValue v && (bool)v ? "ok" : "bad",
        ["extracted"] = (string?)r["judge"]?["extracted"] ?? "",
        ["expected"] = (string?)r["judge"]?["expected"] ?? "",
        ["tokens"] = r["answer_tokens"]?.ToString() ?? "",
        ["finish"] = (string?)r["finish"] ?? "",
        ["sampled"] = r["sampled_answers"]?.AsArray().Select(x => (string?)x ?? "").ToList() ?? [],
        ["n_sampled"] = r["sampled_answers"]?.AsArray().Count ?? 0,
        ["judge_error"] = (string?)r["errors"]?["judge"],
        ["values"] = methodNames.Select(m => Value(r, m)).ToList(),
    };

    private static Dictionary<string, object?> Value(JsonObject r, string method)
    {
        if (r["metrics"]?[method]?["uncertainty"] is { } u)
        {
            var c = r["metrics"]![method]!["confidence"];
            return new() { ["text"] = Fmt(u), ["title"] = c is null ? "uncertainty" : $"uncertainty; confidence {Fmt(c)}", ["conf"] = c is null ? null : Fmt(c) };
        }
        return r["errors"]?[method] is { } e
            ? new() { ["text"] = "error", ["title"] = (string?)e, ["error"] = true }
            : new() { ["text"] = "", ["title"] = "no value" };
    }

    /// <summary>The chain sections: the first <see cref="MaxChainSamples"/> records with chain details, wrong answers first.</summary>
    private static List<Dictionary<string, object?>> Chains(IReadOnlyList<JsonObject> records)
    {
        var found = new List<(JsonObject Record, string Method, JsonObject Details)>();
        foreach (var r in records)
            foreach (var (method, node) in r["metrics"]?.AsObject() ?? [])
                if (node?["details"] is JsonObject d && ChainDetailKeys.HasChain(d))
                {
                    found.Add((r, method, d));
                    break;
                }
        return found.OrderBy(f => f.Record["correct"] is JsonValue v && (bool)v ? 1 : 0) // stable: file order inside each group
            .Take(MaxChainSamples)
            .Select(f =>
            {
                var layout = ChainLayout.Build((string?)f.Record["answer"] ?? "", f.Details);
                return new Dictionary<string, object?>
                {
                    ["id"] = (string?)f.Record["id"],
                    ["method"] = f.Method,
                    ["verdict"] = f.Record["correct"] is JsonValue v ? ((bool)v ? "correct" : "wrong") : "not judged",
                    ["verdict_class"] = f.Record["correct"] is JsonValue w && (bool)w ? "ok" : "bad",
                    ["confidence"] = Fmt(f.Record["metrics"]?[f.Method]?["confidence"]),
                    ["segments"] = layout.Segments.Select(s => new Dictionary<string, object?>
                    {
                        ["text"] = s.Text,
                        ["class"] = s.Score is null ? (s.Answer ? "ans" : "") : s.Answer ? "chain ans" : "chain",
                        ["alpha"] = s.Score is { } sc ? (0.15 + 0.85 * sc).ToString("0.###", CultureInfo.InvariantCulture) : "0",
                        ["title"] = s.Score is { } raw ? $"chain score {s.RawScore.ToString("0.####", CultureInfo.InvariantCulture)}" + (s.Answer ? "; answer token" : "") : s.Answer ? "answer token" : null,
                    }).ToList(),
                    ["chain"] = layout.Chain.Select(c => new Dictionary<string, object?> { ["token"] = c.Token, ["score"] = c.Score.ToString("0.####", CultureInfo.InvariantCulture), ["located"] = c.Located }).ToList(),
                };
            }).ToList();
    }

    /// <summary>One cell of the methods table: the value with three decimals, its interval on a second line, and whether it
    /// is the column's best (highest AUROC/AUPRC/PRR/AUARC, lowest ECE/Brier).</summary>
    private static Dictionary<string, object?> MetricCell(JsonNode? node, double? best)
    {
        var value = node?["value"] is JsonValue v && v.TryGetValue<double>(out var d) && !double.IsNaN(d) ? d : (double?)null;
        return new Dictionary<string, object?>
        {
            ["value"] = value is { } x ? Fixed(x) : "n/a",
            ["ci"] = node?["ci_low"] is JsonValue lo && node["ci_high"] is JsonValue hi && lo.TryGetValue<double>(out var l) && hi.TryGetValue<double>(out var h)
                ? $"[{Fixed(l)}, {Fixed(h)}]" : null,
            ["best"] = value is { } y && best is { } b && Fixed(y) == Fixed(b),
        };
    }

    /// <summary>The best value of metric <paramref name="metric"/> over the methods (lower is better for ECE and Brier), or
    /// null when no method has one.</summary>
    private static double? Best(JsonObject methods, string metric)
    {
        var values = methods.Select(kv => kv.Value?[metric]?["value"]).OfType<JsonValue>()
            .Select(v => v.TryGetValue<double>(out var d) ? d : double.NaN).Where(d => !double.IsNaN(d)).ToList();
        if (values.Count == 0) return null;
        return metric is "ece" or "brier" ? values.Min() : values.Max();
    }

    /// <summary>Three decimals, never "-0.000".</summary>
    private static string Fixed(double x)
    {
        var text = x.ToString("0.000", CultureInfo.InvariantCulture);
        return text == "-0.000" ? "0.000" : text;
    }

    private static string Fmt(JsonNode? node) => node switch
    {
        null => "n/a",
        JsonValue v when v.TryGetValue<double>(out var d) => double.IsNaN(d) ? "n/a" : d.ToString("0.###", CultureInfo.InvariantCulture),
        _ => node.ToString(),
    };
}
