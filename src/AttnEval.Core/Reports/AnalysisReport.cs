using System.Globalization;
using System.Text.Json.Nodes;
using AttnEval.Abstractions;
using HandlebarsDotNet;

namespace AttnEval.Core.Reports;

/// <summary>
/// Renders <c>report.html</c> of a <c>head-attribution</c> or <c>data-scoring</c> run from its <c>summary.json</c> and
/// <c>samples.jsonl</c>: per analysis its summary (the causal check included, flattened to dotted keys), its top heads and a
/// layer × head heat map of the scores (an HTML table shaded by score / max score); per data scorer its summary, groups,
/// selection and top documents. Every value is HTML-encoded by Handlebars (model output is untrusted input).
/// </summary>
public static class AnalysisReport
{
    private static readonly Lazy<HandlebarsTemplate<object, object>> Template = new(() =>
    {
        using var stream = typeof(AnalysisReport).Assembly.GetManifestResourceStream("AttnEval.Core.Reports.analysis-report.hbs")
                           ?? throw new InvalidOperationException("analysis report template missing from AttnEval.Core");
        using var reader = new StreamReader(stream);
        return Handlebars.Create().Compile(reader.ReadToEnd());
    });

    /// <summary>Builds the HTML text.</summary>
    /// <param name="summary">The parsed <c>summary.json</c> (kind <c>head-attribution</c> or <c>data-scoring</c>).</param>
    /// <param name="records">The parsed <c>samples.jsonl</c> records.</param>
    /// <param name="runDir">Shown in the header.</param>
    public static string Render(JsonObject summary, IReadOnlyList<JsonObject> records, string runDir)
    {
        var sections = new List<Dictionary<string, object?>>();
        foreach (var (name, node) in summary["analyses"]?.AsObject() ?? [])
            sections.Add(HeadSection(name, node!.AsObject()));
        foreach (var (name, node) in summary["scorers"]?.AsObject() ?? [])
            sections.Add(ScorerSection(name, node!.AsObject(), records));
        return Template.Value(new Dictionary<string, object?>
        {
            ["name"] = (string?)summary["name"] ?? "run",
            ["kind"] = (string?)summary["kind"] ?? "",
            ["model"] = (string?)summary["model"] ?? "",
            ["n_samples"] = summary["n_samples"]?.ToString() ?? "0",
            ["n_errors"] = summary["n_errors"]?.ToString() ?? "0",
            ["run_dir"] = runDir,
            ["sections"] = sections,
        });
    }

    private static Dictionary<string, object?> HeadSection(string name, JsonObject node)
    {
        var section = Base(name, node);
        var kv = new List<Dictionary<string, string>>();
        if (node["warning"] is { } warning) kv.Add(Kv("warning", warning.ToString()));
        if (node["conclusion"] is { } conclusion) kv.Add(Kv("conclusion", conclusion.ToString()));
        Flatten("", node["summary"], kv);
        if (node["artifacts"] is JsonArray a && a.Count > 0) kv.Add(Kv("artifacts", string.Join(", ", a.Select(x => (string?)x))));
        section["kv"] = kv;
        section["top_title"] = "Top heads";
        section["top_columns"] = new[] { "rank", "head (l-h)", "TransformerLens", "score" };
        section["top"] = (node["top"]?.AsArray() ?? []).Select((t, i) =>
        {
            var h = HeadId.Parse((string)t!["head"]!);
            return new[] { (i + 1).ToString(CultureInfo.InvariantCulture), h.ToString(), h.ToTransformerLensString(), Fmt(t["score"]) };
        }).ToList();
        if (node["scores"] is JsonObject scores && scores.Count > 0) AddHeatMap(section, scores);
        return section;
    }

    /// <summary>Layer × head table from <c>"l-h" → score</c>; cell colour interpolates white → red by score / max.</summary>
    private static void AddHeatMap(Dictionary<string, object?> section, JsonObject scores)
    {
        var values = scores.Where(kv => kv.Value is not null).ToDictionary(kv => HeadId.Parse(kv.Key), kv => (double)kv.Value!);
        if (values.Count == 0) return;
        int layers = values.Keys.Max(h => h.Layer) + 1, heads = values.Keys.Max(h => h.Head) + 1;
        double max = Math.Max(1e-12, values.Values.Max());
        section["heat_max"] = max.ToString("0.###", CultureInfo.InvariantCulture);
        section["heat_heads"] = Enumerable.Range(0, heads).ToList();
        section["heat_rows"] = Enumerable.Range(0, layers).Select(l => new Dictionary<string, object?>
        {
            ["layer"] = l,
            ["cells"] = Enumerable.Range(0, heads).Select(h =>
            {
                bool has = values.TryGetValue(new HeadId(l, h), out var v);
                double t = has ? Math.Clamp(v / max, 0, 1) : 0;
                int gb = (int)Math.Round(255 * (1 - t));
                return new Dictionary<string, string>
                {
                    ["style"] = has ? $"background:rgb(255,{gb},{gb})" : "background:#eee",
                    ["title"] = has ? $"{l}-{h}: {v.ToString("0.####", CultureInfo.InvariantCulture)}" : $"{l}-{h}: n/a",
                    ["text"] = has && t >= 0.5 ? v.ToString("0.##", CultureInfo.InvariantCulture) : "",
                };
            }).ToList(),
        }).ToList();
    }

    private static Dictionary<string, object?> ScorerSection(string name, JsonObject node, IReadOnlyList<JsonObject> records)
    {
        var section = Base(name, node);
        section["status"] = "ok";
        var kv = new List<Dictionary<string, string>>
        {
            Kv("documents scored", node["n"]?.ToString() ?? "0"), Kv("errors", node["errors"]?.ToString() ?? "0"), Kv("mean score", Fmt(node["mean"])),
        };
        Flatten("label.", node["label"], kv);
        Flatten("groups.", node["groups"], kv);
        Flatten("selection.", node["selection"], kv);
        section["kv"] = kv;
        section["top_title"] = "Top documents";
        bool labelled = node["label"] is JsonObject;
        section["top_columns"] = labelled ? new[] { "rank", "id", "group", "label", "score" } : new[] { "rank", "id", "group", "score" };
        section["top"] = records.Where(r => r["metrics"]?[name]?["score"] is JsonValue)
            .OrderByDescending(r => (double)r["metrics"]![name]!["score"]!).Take(20)
            .Select((r, i) => new[] { (i + 1).ToString(CultureInfo.InvariantCulture), (string?)r["id"] ?? "", (string?)r["group"] ?? "" }
                .Concat(labelled ? [r["label"]?.ToString() ?? ""] : []).Append(Fmt(r["metrics"]![name]!["score"])).ToArray())
            .ToList();
        return section;
    }

    private static Dictionary<string, object?> Base(string name, JsonObject node) => new()
    {
        ["title"] = name,
        ["status"] = (string?)node["status"] ?? "",
        ["error"] = node["error"]?.ToString(),
    };

    private static void Flatten(string prefix, JsonNode? node, List<Dictionary<string, string>> into)
    {
        switch (node)
        {
            case null: return;
            case JsonObject o:
                foreach (var (k, v) in o) Flatten(prefix + k + ".", v, into);
                return;
            case JsonArray arr when arr.All(x => x is JsonValue):
                into.Add(Kv(prefix.TrimEnd('.'), string.Join(", ", arr.Select(Fmt))));
                return;
            case JsonArray arr:
                into.Add(Kv(prefix.TrimEnd('.'), arr.ToJsonString()));
                return;
            default:
                into.Add(Kv(prefix.TrimEnd('.'), Fmt(node)));
                return;
        }
    }

    private static Dictionary<string, string> Kv(string key, string value) => new() { ["key"] = key, ["value"] = value };

    private static string Fmt(JsonNode? node) => node switch
    {
        null => "n/a",
        JsonValue v when v.TryGetValue<double>(out var d) => double.IsNaN(d) ? "n/a" : d.ToString("0.####", CultureInfo.InvariantCulture),
        _ => node.ToString(),
    };
}
