using System.Globalization;
using System.Text.Json.Nodes;
using AttnEval.Abstractions;
using HandlebarsDotNet;

namespace AttnEval.Core.Reports;

/// <summary>
/// Renders <c>report.html</c> of a <c>head-attribution</c> or <c>data-scoring</c> run from its <c>summary.json</c> and
/// <c>samples.jsonl</c>, verdicts first, then tables, then figures. Per head analysis: its status and conclusion; its
/// causal checks as one table (each object of the summary with <c>base</c>, <c>named</c> and <c>random_*</c> values: the
/// measure without ablation, with the named heads ablated, and with random sets of as many heads); its other summary
/// numbers; its top heads with a bar per score; a layer × head heat map of the scores (an HTML table shaded by
/// score / max score); the ablation figure when <c>AttnEval.Reporting</c> drew it. Per data scorer: what the label AUROC
/// and the corpus check say, the groups, the checks, the top documents and the score histogram. Every summary value is
/// also listed, flattened to dotted keys, in a folded section. Every value is HTML-encoded by Handlebars (model output is
/// untrusted input).
/// </summary>
public static class AnalysisReport
{
    /// <summary>File under <c>plots/</c> of an analysis' ablation figure: <c>ablation-&lt;name&gt;.svg</c>.</summary>
    public static string AblationFigure(string analysis) => $"ablation-{ReportStyle.FileName(analysis)}.svg";

    /// <summary>File under <c>plots/</c> of a scorer's histogram of document scores: <c>scores-&lt;name&gt;.svg</c>.</summary>
    public static string ScoresFigure(string scorer) => $"scores-{ReportStyle.FileName(scorer)}.svg";

    /// <summary>Most top heads and top documents listed.</summary>
    public const int MaxTopRows = 20;

    private static readonly Lazy<HandlebarsTemplate<object, object>> Template = new(() => HtmlReport.Compile("analysis-report.hbs"));

    /// <summary>Builds the HTML text.</summary>
    /// <param name="summary">The parsed <c>summary.json</c> (kind <c>head-attribution</c> or <c>data-scoring</c>).</param>
    /// <param name="records">The parsed <c>samples.jsonl</c> records.</param>
    /// <param name="runDir">Shown in the header.</param>
    /// <param name="figures">Files under <c>plots/</c> (relative, '/'-separated) to show when they belong to a section; null = none.</param>
    public static string Render(JsonObject summary, IReadOnlyList<JsonObject> records, string runDir, IReadOnlyCollection<string>? figures = null)
    {
        ArgumentNullException.ThrowIfNull(summary);
        ArgumentNullException.ThrowIfNull(records);
        var has = new HashSet<string>(figures ?? [], StringComparer.Ordinal);
        var sections = new List<Dictionary<string, object?>>();
        foreach (var (name, node) in summary["analyses"]?.AsObject() ?? [])
            sections.Add(HeadSection(name, node!.AsObject(), has));
        foreach (var (name, node) in summary["scorers"]?.AsObject() ?? [])
            sections.Add(ScorerSection(name, node!.AsObject(), records, has));
        return Template.Value(new Dictionary<string, object?>
        {
            ["css"] = ReportStyle.Css,
            ["script"] = ReportStyle.Script,
            ["name"] = (string?)summary["name"] ?? "run",
            ["kind"] = (string?)summary["kind"] ?? "",
            ["head_kind"] = (string?)summary["kind"] == "head-attribution",
            ["model"] = (string?)summary["model"] ?? "",
            ["n_samples"] = summary["n_samples"]?.ToString() ?? "0",
            ["n_errors"] = summary["n_errors"]?.ToString() ?? "0",
            ["run_dir"] = runDir,
            ["sections"] = sections,
        });
    }

    private static Dictionary<string, object?> HeadSection(string name, JsonObject node, HashSet<string> figures)
    {
        var section = Base(name, node);
        var verdicts = new List<string>();
        if (node["error"] is { } error) verdicts.Add("error: " + error);
        if (node["warning"] is { } warning) verdicts.Add(warning.ToString());
        if (node["conclusion"] is { } conclusion) verdicts.Add(conclusion.ToString());
        if (verdicts.Count == 0 && node["top"] is JsonArray { Count: > 0 } top)
            verdicts.Add($"top heads: {string.Join(", ", top.Take(5).Select(t => $"{(string?)t!["head"]} ({ReportStyle.Fixed(t["score"])})"))}; no causal check in the summary");
        section["verdicts"] = verdicts;
        if ((string?)section["status_class"] == "ok" && Qualified(node)) section["status_class"] = "warn";
        var checks = new List<(string Path, JsonObject Check)>();
        FindChecks("", node["summary"], checks);
        section["checks"] = checks.Select(c => CheckRow(c.Path, c.Check)).ToList();
        section["numbers"] = Scalars(node["summary"]);
        var scores = node["scores"] as JsonObject;
        var topRows = (node["top"]?.AsArray() ?? []).Select(t => (Head: HeadId.Parse((string)t!["head"]!), Score: ReportStyle.Number(t["score"]))).ToList();
        var topMax = topRows.Select(t => t.Score ?? 0).DefaultIfEmpty(0).Max();
        section["top_title"] = topRows.Count > MaxTopRows ? $"Top heads ({MaxTopRows} of {topRows.Count}; every score is in the heat map)" : "Top heads";
        section["top_columns"] = new[] { "rank", "head (l-h)", "TransformerLens" };
        section["top"] = topRows.Take(MaxTopRows).Select((t, i) => new Dictionary<string, object?>
        {
            ["cells"] = new[] { (i + 1).ToString(CultureInfo.InvariantCulture), t.Head.ToString(), t.Head.ToTransformerLensString() },
            ["score"] = t.Score is { } s ? ReportStyle.Fixed(s) : "n/a",
            ["bar"] = t.Score is { } b && topMax > 0 ? Math.Round(Math.Max(0, b) / topMax * 120).ToString(CultureInfo.InvariantCulture) : "0",
        }).ToList();
        if (scores is { Count: > 0 }) AddHeatMap(section, scores);
        section["figures"] = figures.Contains(AblationFigure(name))
            ? new[] { new Dictionary<string, object?> { ["src"] = $"{HtmlReport.PlotsFolder}/{AblationFigure(name)}", ["title"] = "Causal checks", ["caption"] = "Per check: the measure without ablation (black bar), with the named heads ablated (diamond), and with each random set of as many heads (grey dots; grey bar = their mean)." } }
            : [];
        section["kv"] = AllValues(node);
        return section;
    }

    /// <summary>Layer × head table from <c>"l-h" → score</c>; cell colour interpolates white → red by score / max, and, when some
    /// score is negative (a kurtosis, a drop), white → blue for those, both scaled by the largest magnitude. Cells are
    /// sized so that the table fits the page whatever the number of heads; values are written in cells wide enough for them
    /// (and are in every cell's tooltip).</summary>
    private static void AddHeatMap(Dictionary<string, object?> section, JsonObject scores)
    {
        var values = scores.Where(kv => kv.Value is not null).ToDictionary(kv => HeadId.Parse(kv.Key), kv => (double)kv.Value!);
        if (values.Count == 0) return;
        int layers = values.Keys.Max(h => h.Layer) + 1, heads = values.Keys.Max(h => h.Head) + 1;
        bool diverging = values.Values.Min() < 0;
        double max = Math.Max(1e-12, diverging ? values.Values.Max(Math.Abs) : values.Values.Max());
        var cell = Math.Clamp(960 / heads, 14, 46);
        var text = cell >= 38;
        section["heat_max"] = ReportStyle.Fixed(max);
        section["heat_diverging"] = diverging;
        section["heat_cell"] = cell;
        section["heat_width"] = 48 + cell * heads;
        section["heat_heads"] = Enumerable.Range(0, heads).ToList();
        section["heat_rows"] = Enumerable.Range(0, layers).Select(l => new Dictionary<string, object?>
        {
            ["layer"] = l,
            ["cells"] = Enumerable.Range(0, heads).Select(h =>
            {
                bool has = values.TryGetValue(new HeadId(l, h), out var v);
                double t = has ? Math.Clamp(Math.Abs(v) / max, 0, 1) : 0;
                if (has && !diverging) t = Math.Clamp(v / max, 0, 1);
                int gb = (int)Math.Round(255 * (1 - t));
                var colour = has && v < 0 ? $"rgb({gb},{gb},255)" : $"rgb(255,{gb},{gb})";
                return new Dictionary<string, string>
                {
                    ["style"] = has ? $"background:{colour}{(t > 0.6 ? ";color:#fff" : "")}" : "background:#eee",
                    ["title"] = has ? $"{l}-{h}: {v.ToString("0.####", CultureInfo.InvariantCulture)}" : $"{l}-{h}: n/a",
                    ["text"] = has && text && t >= 0.05 ? ReportStyle.Fixed(v, 2) : "",
                };
            }).ToList(),
        }).ToList();
    }

    private static Dictionary<string, object?> ScorerSection(string name, JsonObject node, IReadOnlyList<JsonObject> records, HashSet<string> figures)
    {
        var section = Base(name, node);
        section["status"] = node["error"] is null ? "ok" : "error";
        section["status_class"] = node["error"] is null ? "ok" : "bad";
        var verdicts = new List<string>();
        if (node["error"] is { } error) verdicts.Add("error: " + error);
        if (node["label"] is JsonObject label)
            verdicts.Add($"The score separates documents with {(string?)label["field"]} = true from false with AUROC {ReportStyle.Fixed(label["auroc"])} " +
                         $"(mean score {ReportStyle.Fixed(label["mean_true"])} for {label["n_true"]} true, {ReportStyle.Fixed(label["mean_false"])} for {label["n_false"]} false; 0.5 = no separation).");
        var checks = new List<(string Path, JsonObject Check)>();
        FindChecks("", node["selection"]?["summary"], checks);
        foreach (var (path, check) in checks)
            verdicts.Add($"{path}: {ReportStyle.Fixed(check["named"])} with the named heads against {ReportStyle.Fixed(check["random_mean"])} on average " +
                         $"[{ReportStyle.Fixed(check["random_min"])}, {ReportStyle.Fixed(check["random_max"])}] with {check["random_values"]?.AsArray().Count ?? 0} random sets of {check["k"]} heads ({Versus(check)}).");
        var skipped = new List<(string Path, string Text)>();
        FindSkipped("", node["selection"]?["summary"], skipped);
        verdicts.AddRange(skipped.Select(s => $"{s.Path}: {s.Text}"));
        if (verdicts.Count == 0) verdicts.Add($"{node["n"]} documents scored, mean score {ReportStyle.Fixed(node["mean"])}.");
        section["verdicts"] = verdicts;
        section["checks"] = checks.Select(c => CheckRow(c.Path, c.Check)).ToList();
        var numbers = new List<Dictionary<string, string>>
        {
            Kv("documents scored", node["n"]?.ToString() ?? "0"), Kv("errors", node["errors"]?.ToString() ?? "0"), Kv("mean score", ReportStyle.Fixed(node["mean"])),
        };
        if (node["selection"] is JsonObject sel)
        {
            numbers.Add(Kv("selected", $"{sel["n_selected"]} → {(string?)sel["file"]}"));
            foreach (var (k, v) in sel["summary"]?.AsObject() ?? [])
                if (v is JsonValue || v is JsonArray a && a.All(x => x is JsonValue)) numbers.Add(Kv(k, Text(v)));
        }
        section["numbers"] = numbers;
        var selectedGroups = node["selection"]?["summary"]?["groups"] as JsonObject;
        section["groups"] = (node["groups"]?.AsObject() ?? []).Select(kv => new[]
        {
            kv.Key, kv.Value?["n"]?.ToString() ?? "", ReportStyle.Fixed(kv.Value?["mean"]), ReportStyle.Fixed(kv.Value?["min"]), ReportStyle.Fixed(kv.Value?["max"]),
            selectedGroups?[kv.Key]?["selected"]?.ToString() ?? "", ReportStyle.Fixed(selectedGroups?[kv.Key]?["min_selected_score"]),
        }).ToList();
        bool labelled = node["label"] is JsonObject;
        var top = records.Where(r => ReportStyle.Number(r["metrics"]?[name]?["score"]) is not null)
            .OrderByDescending(r => (double)r["metrics"]![name]!["score"]!).Take(MaxTopRows).ToList();
        var topMax = top.Select(r => (double)r["metrics"]![name]!["score"]!).DefaultIfEmpty(0).Max();
        section["top_title"] = "Top documents";
        section["top_columns"] = labelled ? new[] { "rank", "id", "group", "label" } : new[] { "rank", "id", "group" };
        section["top"] = top.Select((r, i) => new Dictionary<string, object?>
        {
            ["cells"] = new[] { (i + 1).ToString(CultureInfo.InvariantCulture), (string?)r["id"] ?? "", (string?)r["group"] ?? "" }
                .Concat(labelled ? [r["label"]?.ToString() ?? ""] : []).ToArray(),
            ["score"] = ReportStyle.Fixed(r["metrics"]![name]!["score"]),
            ["bar"] = topMax > 0 ? Math.Round(Math.Max(0, (double)r["metrics"]![name]!["score"]!) / topMax * 120).ToString(CultureInfo.InvariantCulture) : "0",
        }).ToList();
        section["figures"] = figures.Contains(ScoresFigure(name))
            ? new[] { new Dictionary<string, object?> { ["src"] = $"{HtmlReport.PlotsFolder}/{ScoresFigure(name)}", ["title"] = "Scores", ["caption"] = labelled ? "Histogram of the document scores, one colour per label." : "Histogram of the document scores." } }
            : [];
        section["kv"] = AllValues(node);
        return section;
    }

    /// <summary>True when an analysis that ran reads as qualified rather than a plain finding: a summary object flags its
    /// head set as <c>degenerate</c>, or the conclusion says the check did not show the heads matter (the ablation check's
    /// "not shown" and "no random sets").</summary>
    private static bool Qualified(JsonObject node)
    {
        static bool Degenerate(JsonNode? n) => n switch
        {
            JsonObject o => o["degenerate"] is JsonValue v && v.TryGetValue<bool>(out var b) && b || o.Any(kv => Degenerate(kv.Value)),
            JsonArray a => a.Any(Degenerate),
            _ => false,
        };
        var conclusion = (string?)node["conclusion"] ?? "";
        return Degenerate(node["summary"]) || conclusion.Contains("not shown", StringComparison.Ordinal) || conclusion.Contains("no random sets", StringComparison.Ordinal);
    }

    /// <summary>String values under <paramref name="node"/> that say a step was skipped (they start with "skipped").</summary>
    private static void FindSkipped(string path, JsonNode? node, List<(string Path, string Text)> into)
    {
        switch (node)
        {
            case JsonObject o:
                foreach (var (k, child) in o) FindSkipped(path == "" ? k : $"{path}.{k}", child, into);
                return;
            case JsonValue v when v.TryGetValue<string>(out var text) && text.StartsWith("skipped", StringComparison.Ordinal):
                into.Add((path, text));
                return;
        }
    }

    /// <summary>Every object under <paramref name="node"/> that is a causal check: it has <c>base</c>, <c>named</c> and
    /// <c>random_mean</c> (the ablation check of the head plugins), with its dotted path.</summary>
    private static void FindChecks(string path, JsonNode? node, List<(string Path, JsonObject Check)> into)
    {
        if (node is not JsonObject o) return;
        if (o["base"] is JsonValue && o["named"] is JsonValue && o.ContainsKey("random_mean"))
        {
            into.Add((path == "" ? "check" : path, o));
            return;
        }
        foreach (var (k, v) in o) FindChecks(path == "" ? k : $"{path}.{k}", v, into);
    }

    private static Dictionary<string, object?> CheckRow(string path, JsonObject c) => new()
    {
        ["name"] = path,
        ["metric"] = Text(c["metric"]),
        ["k"] = c["k"]?.ToString() ?? "",
        ["heads"] = c["heads"] is JsonArray h ? string.Join(" ", h.Select(x => (string?)x)) : "",
        ["base"] = ReportStyle.Fixed(c["base"]),
        ["named"] = ReportStyle.Fixed(c["named"]),
        ["named_delta"] = Signed(ReportStyle.Number(c["named"]) - ReportStyle.Number(c["base"])),
        ["random_mean"] = ReportStyle.Fixed(c["random_mean"]),
        ["random_delta"] = Signed(ReportStyle.Number(c["random_mean"]) - ReportStyle.Number(c["base"])),
        ["random_range"] = c["random_min"] is null ? "" : $"[{ReportStyle.Fixed(c["random_min"])}, {ReportStyle.Fixed(c["random_max"])}]",
        ["draws"] = c["random_values"]?.AsArray().Count.ToString(CultureInfo.InvariantCulture) ?? "",
        ["versus"] = Versus(c),
    };

    /// <summary>How the named heads' value compares with the random sets': outside their whole range, or inside it.</summary>
    private static string Versus(JsonObject c)
    {
        double? named = ReportStyle.Number(c["named"]), lo = ReportStyle.Number(c["random_min"]), hi = ReportStyle.Number(c["random_max"]);
        if (named is null || lo is null || hi is null) return "no random sets";
        return named < lo ? "below every random set" : named > hi ? "above every random set" : "within the random sets' range";
    }

    private static string Signed(double? d) => d is { } x ? (x > 0 && ReportStyle.Fixed(x) != "0.000" ? "+" : "") + ReportStyle.Fixed(x) : "";

    /// <summary>The scalars and lists of scalars directly in a summary object (nested objects are in the checks or in
    /// <see cref="AllValues"/>).</summary>
    private static List<Dictionary<string, string>> Scalars(JsonNode? node) =>
        (node as JsonObject ?? []).Where(kv => kv.Value is JsonValue || kv.Value is JsonArray a && a.All(x => x is JsonValue))
            .Select(kv => Kv(kv.Key, Text(kv.Value))).ToList();

    /// <summary>Every value of the section's summary, flattened to dotted keys.</summary>
    private static List<Dictionary<string, string>> AllValues(JsonObject node)
    {
        var kv = new List<Dictionary<string, string>>();
        if (node["warning"] is { } warning) kv.Add(Kv("warning", warning.ToString()));
        if (node["conclusion"] is { } conclusion) kv.Add(Kv("conclusion", conclusion.ToString()));
        if (node["summary"] is not null) Flatten("", node["summary"], kv);
        foreach (var key in new[] { "n", "errors", "mean" })
            if (node[key] is JsonValue v) kv.Add(Kv(key, Text(v)));
        Flatten("label.", node["label"], kv);
        Flatten("groups.", node["groups"], kv);
        Flatten("selection.", node["selection"], kv);
        if (node["artifacts"] is JsonArray a && a.Count > 0) kv.Add(Kv("artifacts", string.Join(", ", a.Select(x => (string?)x))));
        return kv;
    }

    private static Dictionary<string, object?> Base(string name, JsonObject node)
    {
        var status = (string?)node["status"] ?? "";
        return new()
        {
            ["title"] = name,
            ["status"] = status,
            ["status_class"] = status switch { "ok" => "ok", "error" => "bad", _ => "warn" },
            ["error"] = node["error"]?.ToString(),
        };
    }

    /// <summary>Adds every value under <paramref name="node"/> to <paramref name="into"/> as a key/value row, keys dotted
    /// from <paramref name="prefix"/>; numbers with up to four decimals, lists of values joined with ", ".</summary>
    internal static void Flatten(string prefix, JsonNode? node, List<Dictionary<string, string>> into)
    {
        switch (node)
        {
            case null: return;
            case JsonObject o:
                foreach (var (k, v) in o) Flatten(prefix + k + ".", v, into);
                return;
            case JsonArray arr when arr.All(x => x is JsonValue):
                into.Add(Kv(prefix.TrimEnd('.'), string.Join(", ", arr.Select(Text))));
                return;
            case JsonArray arr:
                into.Add(Kv(prefix.TrimEnd('.'), arr.ToJsonString()));
                return;
            default:
                into.Add(Kv(prefix.TrimEnd('.'), Text(node)));
                return;
        }
    }

    private static Dictionary<string, string> Kv(string key, string value) => new() { ["key"] = key, ["value"] = value };

    /// <summary>A value as text: numbers with up to four decimals (never "-0"), lists joined with ", ".</summary>
    private static string Text(JsonNode? node) => node switch
    {
        null => "n/a",
        JsonArray a => string.Join(", ", a.Select(Text)),
        JsonValue v when v.TryGetValue<double>(out var d) => double.IsNaN(d) ? "n/a" : Trim(ReportStyle.Fixed(d, 4)),
        _ => node.ToString(),
    };

    private static string Trim(string fixedText) => fixedText.Contains('.') ? fixedText.TrimEnd('0').TrimEnd('.') : fixedText;
}
