using System.Globalization;
using System.Text.Json.Nodes;
using HandlebarsDotNet;

namespace AttnEval.Core.Reports;

/// <summary>
/// Renders <c>report.html</c> of an uncertainty run from its <c>summary.json</c> and <c>samples.jsonl</c> records with a
/// Handlebars template: a headline (the best methods), what "uncertainty" means and which direction is better for each
/// metric, the method × metric table (three decimals, bootstrap intervals, the best of each column in bold, each note once
/// under the table, sortable), the figures under <c>plots/</c> when they exist (ROC and accuracy–rejection with a
/// checkbox per method, reliability panels; drawn by <c>AttnEval.Reporting</c>), UQAC's attention chain for a few samples
/// (<see cref="ChainDetailKeys"/>), and a sortable, filterable sample table with a sticky header and a drill-down row per
/// sample. The stylesheet and script are inlined (<see cref="ReportStyle"/>), so the run folder reads offline. Every value
/// goes through Handlebars' HTML encoding (<c>{{x}}</c>; only the report's own stylesheet and script are written raw): model
/// output is untrusted input (DESIGN.md §7), so no text from a record is ever written raw.
/// </summary>
public static class HtmlReport
{
    /// <summary>Folder of the figures inside a run folder.</summary>
    public const string PlotsFolder = "plots";

    /// <summary>Name of the ROC figure: <c>plots/roc.svg</c> (the base) and <c>plots/roc/&lt;method&gt;.svg</c> (one layer per method).</summary>
    public const string RocFigure = "roc";

    /// <summary>Name of the accuracy–rejection figure: <c>plots/accuracy-rejection.svg</c> and one layer per method under
    /// <c>plots/accuracy-rejection/</c>.</summary>
    public const string AccuracyRejectionFigure = "accuracy-rejection";

    /// <summary>Folder of the reliability panels: <c>plots/reliability/&lt;method&gt;.svg</c>, one per method with a confidence.</summary>
    public const string ReliabilityFigure = "reliability";

    /// <summary>The figures the report shows when present, as (name, title, caption); see <see cref="RocFigure"/>,
    /// <see cref="AccuracyRejectionFigure"/>, <see cref="ReliabilityFigure"/>.</summary>
    public static IReadOnlyList<(string Name, string Title, string Caption)> Figures { get; } =
    [
        (RocFigure, "ROC curves", "Uncertainty as a detector of wrong answers (positive = wrong); the area is the AUROC of the table. Dashed diagonal = chance."),
        (AccuracyRejectionFigure, "Accuracy–rejection curves", "Accuracy of the answers kept after rejecting the most uncertain ones; the area is the AUARC of the table. Dashed: accuracy of all answers. The y axis starts just below the lowest accuracy a curve reaches before 90 % rejection."),
        (ReliabilityFigure, "Reliability diagrams", "One panel per method that reports a confidence: accuracy against mean confidence in equal-count bins (each point rests on about the same number of answers, 20 or more; the ECE of the table uses equal-width bins); dashed diagonal = perfect calibration. Grey bars (right axis): how many answers have each confidence, in steps of 0.05."),
    ];

    /// <summary>Most samples whose attention chain the report draws in its own section (every sample's chain is in its
    /// drill-down row of the sample table).</summary>
    public const int MaxChainSamples = 8;

    private static readonly Lazy<HandlebarsTemplate<object, object>> Template = new(() => Compile("report.hbs"));

    /// <summary>Compiles a template of this folder with the partials every report shares (<c>chain</c>: an answer with its
    /// attention chain highlighted).</summary>
    internal static HandlebarsTemplate<object, object> Compile(string resource)
    {
        var handlebars = Handlebars.Create();
        handlebars.RegisterTemplate("chain",
            """<div class="answer">{{#each segments}}{{#if class}}<span class="{{class}}" style="--a:{{alpha}}" title="{{title}}">{{text}}</span>{{else}}{{text}}{{/if}}{{/each}}</div>"""
            + "\n" + """<p class="chainlist">chain: {{#each chain}}<code>{{token}}</code> {{score}}{{#unless located}} (not found in the answer text){{/unless}}; {{/each}}</p>""");
        return handlebars.Compile(ReportStyle.Resource(resource));
    }

    /// <summary>Builds the HTML text.</summary>
    /// <param name="summary">The parsed <c>summary.json</c>.</param>
    /// <param name="records">The parsed <c>samples.jsonl</c> records, in file order.</param>
    /// <param name="runDir">Shown in the header.</param>
    /// <param name="figures">Files under <see cref="PlotsFolder"/> to show, as paths relative to it with '/' (e.g.
    /// <c>roc.svg</c>, <c>roc/msp.svg</c>, <c>reliability/msp.svg</c>); null or empty = none.</param>
    public static string Render(JsonObject summary, IReadOnlyList<JsonObject> records, string runDir, IReadOnlyCollection<string>? figures = null)
    {
        ArgumentNullException.ThrowIfNull(summary);
        ArgumentNullException.ThrowIfNull(records);
        var methods = summary["methods"]?.AsObject() ?? [];
        var metricNames = summary["evaluation_metrics"]?.AsArray().Select(x => (string)x!).ToList() ?? [];
        var methodNames = methods.Select(kv => kv.Key).ToList();
        var highlighted = ReportStyle.Highlighted(summary);
        var colours = ReportStyle.Colours(methodNames, highlighted);
        var has = new HashSet<string>(figures ?? [], StringComparer.Ordinal);
        var notes = new List<string>();
        int NoteNumber(string note)
        {
            var i = notes.IndexOf(note);
            if (i < 0) { notes.Add(note); i = notes.Count - 1; }
            return i + 1;
        }
        var decimals = methodNames.ToDictionary(m => m, m => ReportStyle.Decimals(records
            .Select(r => ReportStyle.Number(r["metrics"]?[m]?["uncertainty"])).OfType<double>()));
        var layered = Figures.Where(f => f.Name != ReliabilityFigure && has.Contains(f.Name + ".svg")).Select(f => new Dictionary<string, object?>
        {
            ["src"] = $"{PlotsFolder}/{f.Name}.svg", ["title"] = f.Title, ["caption"] = f.Caption,
            ["layers"] = methodNames.Where(m => has.Contains($"{f.Name}/{ReportStyle.FileName(m)}.svg")).Select(m => new Dictionary<string, object?>
            {
                ["method"] = m, ["src"] = $"{PlotsFolder}/{f.Name}/{ReportStyle.FileName(m)}.svg", ["highlighted"] = highlighted.Contains(m),
            }).ToList(),
        }).ToList();
        var panels = methodNames.Where(m => has.Contains($"{ReliabilityFigure}/{ReportStyle.FileName(m)}.svg"))
            .Select(m => new Dictionary<string, object?> { ["method"] = m, ["src"] = $"{PlotsFolder}/{ReliabilityFigure}/{ReportStyle.FileName(m)}.svg" }).ToList();
        var chains = ChainsByRecord(records);
        var model = new Dictionary<string, object?>
        {
            ["css"] = ReportStyle.Css,
            ["script"] = ReportStyle.Script,
            ["name"] = (string?)summary["name"] ?? "run",
            ["kind"] = (string?)summary["kind"] ?? "",
            ["model"] = (string?)summary["model"] ?? "",
            ["n_samples"] = summary["n_samples"]?.ToString() ?? "0",
            ["accuracy"] = ReportStyle.Fixed(summary["accuracy"]),
            ["n_errors"] = summary["n_errors"]?.ToString() ?? "0",
            ["run_dir"] = runDir,
            ["ci_level"] = ReportStyle.Number(summary["confidence_level"]) is { } level ? $"{(level * 100).ToString("0.#", CultureInfo.InvariantCulture)}%" : "n/a",
            ["bootstrap"] = summary["bootstrap"]?.ToString() ?? "0",
            // A summary without "interval" predates the option: its intervals are percentile intervals.
            ["interval_kind"] = (string?)summary["interval"] == "centered"
                ? "bias-centred percentile bootstrap intervals (the percentile interval of the replicates shifted by their median bias, so it holds the value)"
                : "percentile bootstrap intervals",
            ["ties"] = (string?)summary["ties"] == "expected"
                ? "PRR and AUARC average over every order of tied uncertainties"
                : "PRR and AUARC break tied uncertainties in dataset order",
            ["verdicts"] = Verdicts(methods),
            ["negative_methods"] = string.Join(", ", methodNames.Where(m => records.Any(r => ReportStyle.Number(r["metrics"]?[m]?["uncertainty"]) < 0))),
            ["metric_headers"] = metricNames.Select(m => new Dictionary<string, object?>
            {
                ["name"] = m,
                ["lower"] = ReportStyle.LowerIsBetter(m),
                ["title"] = ReportStyle.LowerIsBetter(m) ? "lower is better" : "higher is better",
                ["first"] = ReportStyle.LowerIsBetter(m) ? "ascending" : "descending",
            }).ToList(),
            ["cost_note"] = summary["cost"] is JsonObject cost
                ? $"cost: the method's added time (its own work and its attention reducer) as a share of greedy generation, {Fmt(cost["generate_seconds"])} s for {cost["n"]} questions in batches of {cost["batch_size"]} on this machine (sampled answers, shared by the sample-based methods: {Fmt(cost["samples_seconds"])} s)"
                : null,
            ["methods"] = methods.Select(kv => new Dictionary<string, object?>
            {
                ["name"] = kv.Key,
                ["colour"] = colours[kv.Key],
                ["n"] = kv.Value?["n"]?.ToString() ?? "",
                ["cells"] = metricNames.Select(m => MetricCell(kv.Value?[m], Best(methods, m), NoteNumber)).ToList(),
                ["cost"] = summary["cost"]?["methods"]?[kv.Key]?["fraction_of_generation"] is JsonValue f && f.TryGetValue<double>(out var fr)
                    ? $"{(fr * 100).ToString("0.0", CultureInfo.InvariantCulture)}%" : "",
            }).ToList(),
            ["notes"] = notes,
            ["any_figures"] = layered.Count + panels.Count > 0,
            ["highlighted_text"] = string.Join(", ", highlighted),
            ["picker"] = methodNames.Select(m => new Dictionary<string, object?> { ["name"] = m, ["colour"] = colours[m], ["highlighted"] = highlighted.Contains(m) }).ToList(),
            ["layered"] = layered,
            ["panels"] = panels,
            ["reliability_caption"] = Figures.First(f => f.Name == ReliabilityFigure).Caption,
            ["chains"] = Chains(records, chains),
            ["sample_methods"] = methodNames.Select(m => new Dictionary<string, object?> { ["name"] = m, ["highlighted"] = highlighted.Contains(m) }).ToList(),
            ["n_columns"] = 6 + methodNames.Count,
            ["n_rows"] = records.Count,
            ["samples"] = Running.RunSummary.DatasetOrder(records).Select((r, i) => SampleRow(r, i + 1, methodNames, highlighted, decimals, chains)).ToList(),
        };
        return Template.Value(model);
    }

    /// <summary>Renders and writes <c>report.html</c> into a run folder from its files, with the page of the run's kind
    /// (<see cref="Kinds.RecipeKindDescriptor.RenderHtml"/>); figures already in <c>plots/</c> are shown (<c>AttnEval.Reporting</c>
    /// draws them first).</summary>
    /// <param name="runDir">A finished run folder.</param>
    /// <param name="kinds">The recipe kinds known to the host (<see cref="Plugins.IComponentCatalog.Kinds"/>); null = the built-in
    /// ones. A run of a plugin's kind needs that plugin's catalog.</param>
    /// <returns>The path of <c>report.html</c>.</returns>
    /// <exception cref="FileNotFoundException">The folder has no <c>summary.json</c> (see <see cref="Runs.RunFolder.RequireSummary"/> for a missing folder or one that is not a run).</exception>
    /// <exception cref="InvalidDataException">The run's kind is not among <paramref name="kinds"/> (its plugin is not installed).</exception>
    public static string Write(string runDir, IReadOnlyDictionary<string, Kinds.RecipeKindDescriptor>? kinds = null) =>
        Write(runDir, KindOf(runDir, kinds));

    /// <summary>Renders and writes <c>report.html</c> of a run folder whose kind the caller has already looked up
    /// (<see cref="KindOf"/>).</summary>
    /// <returns>The path of <c>report.html</c>.</returns>
    public static string Write(string runDir, Kinds.RecipeKindDescriptor kind)
    {
        var plots = Path.Combine(runDir, PlotsFolder);
        var figures = Directory.Exists(plots)
            ? Directory.EnumerateFiles(plots, "*", SearchOption.AllDirectories).Select(f => Path.GetRelativePath(plots, f).Replace(Path.DirectorySeparatorChar, '/')).ToList()
            : [];
        var html = kind.RenderHtml(runDir, figures);
        var path = Path.Combine(runDir, "report.html");
        Runs.RunFolder.WriteAtomic(path, html);
        return path;
    }

    /// <summary>The kind of a finished run folder (<c>summary.json</c> <c>kind</c>; a summary without one is an uncertainty run of
    /// an early version).</summary>
    /// <exception cref="FileNotFoundException">No <c>summary.json</c>.</exception>
    /// <exception cref="InvalidDataException">A kind no installed part provides.</exception>
    public static Kinds.RecipeKindDescriptor KindOf(string runDir, IReadOnlyDictionary<string, Kinds.RecipeKindDescriptor>? kinds = null)
    {
        var summaryPath = Runs.RunFolder.RequireSummary(runDir);
        kinds ??= Plugins.IComponentCatalog.BuiltInKindTable;
        var name = (string?)JsonNode.Parse(File.ReadAllText(summaryPath))?["kind"] ?? Kinds.BuiltInKinds.Default;
        return kinds.TryGetValue(name, out var kind) ? kind
            : throw new InvalidDataException($"{summaryPath}: the run is of kind '{name}', which no installed plugin provides (known: {string.Join(", ", kinds.Keys)}); install its plugin to render the report");
    }

    /// <summary>The headline: the best method at flagging wrong answers (AUROC) and the best calibrated (ECE), with intervals.</summary>
    private static List<string> Verdicts(JsonObject methods)
    {
        var lines = new List<string>();
        foreach (var (metric, text) in new[] { ("auroc", "Best at flagging wrong answers"), ("prr", "Best at rejecting them first"), ("ece", "Best calibrated") })
        {
            var best = Best(methods, metric);
            var who = methods.Where(kv => ReportStyle.Number(kv.Value?[metric]?["value"]) is { } v && best is { } b && ReportStyle.Fixed(v) == ReportStyle.Fixed(b)).Select(kv => kv.Key).ToList();
            if (who.Count == 0) continue;
            var node = methods[who[0]]![metric]!;
            var ci = node["ci_low"] is JsonValue && node["ci_high"] is JsonValue ? $" [{ReportStyle.Fixed(node["ci_low"])}, {ReportStyle.Fixed(node["ci_high"])}]" : "";
            lines.Add($"{text}: {string.Join(", ", who)} ({metric} {ReportStyle.Fixed(best!.Value)}{ci}).");
        }
        return lines;
    }

    private static Dictionary<string, object?> SampleRow(JsonObject r, int index, IReadOnlyList<string> methodNames, IReadOnlyList<string> highlighted,
        IReadOnlyDictionary<string, int> decimals, IReadOnlyDictionary<JsonObject, Dictionary<string, object?>> chains)
    {
        var verdictClass = r["error"] is not null ? "err" : r["correct"] is JsonValue v && (bool)v ? "ok" : r["correct"] is null ? "" : "bad";
        var values = methodNames.Select(m => Value(r, m, decimals[m], highlighted.Contains(m))).ToList();
        var answer = (string?)r["answer"] ?? "";
        var expected = (string?)r["judge"]?["expected"] ?? "";
        return new()
        {
            ["index"] = index,
            ["id"] = (string?)r["id"],
            ["input"] = (string?)r["input"],
            ["answer"] = answer,
            ["search"] = string.Join(" ", (string?)r["id"], (string?)r["input"], answer, expected),
            ["verdict"] = r["error"] is not null ? "error: " + (string?)r["error"] : r["correct"] is null ? "" : (bool)r["correct"]! ? "correct" : "wrong",
            ["verdict_class"] = verdictClass,
            ["extracted"] = (string?)r["judge"]?["extracted"] ?? "",
            ["expected"] = expected,
            ["tokens"] = r["answer_tokens"]?.ToString() ?? "",
            ["finish"] = (string?)r["finish"] ?? "",
            ["sampled"] = r["sampled_answers"]?.AsArray().Select(x => (string?)x ?? "").ToList() ?? [],
            ["n_sampled"] = r["sampled_answers"]?.AsArray().Count ?? 0,
            ["judge_error"] = (string?)r["errors"]?["judge"],
            ["values"] = values,
            ["chain"] = chains.GetValueOrDefault(r),
        };
    }

    /// <summary>One method's value in a sample row: the uncertainty with the column's decimals (full precision in
    /// <c>raw</c>, the sort key), the confidence with three decimals, or the method's error.</summary>
    private static Dictionary<string, object?> Value(JsonObject r, string method, int decimals, bool highlighted)
    {
        var result = new Dictionary<string, object?> { ["method"] = method, ["highlighted"] = highlighted, ["text"] = "", ["conf"] = "", ["raw"] = "" };
        if (ReportStyle.Number(r["metrics"]?[method]?["uncertainty"]) is { } u)
        {
            var c = ReportStyle.Number(r["metrics"]![method]!["confidence"]);
            result["text"] = ReportStyle.Fixed(u, decimals);
            result["raw"] = u.ToString("R", CultureInfo.InvariantCulture);
            result["conf"] = c is { } cc ? ReportStyle.Fixed(cc) : "";
        }
        else if (r["errors"]?[method] is { } e) result["error"] = (string?)e;
        return result;
    }

    /// <summary>Each record with attention-chain details (the first method that has them) and its chain layout.</summary>
    private static Dictionary<JsonObject, Dictionary<string, object?>> ChainsByRecord(IReadOnlyList<JsonObject> records)
    {
        var found = new Dictionary<JsonObject, Dictionary<string, object?>>(ReferenceEqualityComparer.Instance);
        foreach (var r in records)
            foreach (var (method, node) in r["metrics"]?.AsObject() ?? [])
                if (node?["details"] is JsonObject d && ChainDetailKeys.HasChain(d))
                {
                    found[r] = ChainView(r, method, d);
                    break;
                }
        return found;
    }

    /// <summary>The chain sections: the first <see cref="MaxChainSamples"/> records with chain details, wrong answers first.</summary>
    private static List<Dictionary<string, object?>> Chains(IReadOnlyList<JsonObject> records, IReadOnlyDictionary<JsonObject, Dictionary<string, object?>> chains) =>
        records.Where(chains.ContainsKey)
            .OrderBy(r => r["correct"] is JsonValue v && (bool)v ? 1 : 0) // stable: file order inside each group
            .Take(MaxChainSamples)
            .Select(r => chains[r])
            .ToList();

    private static Dictionary<string, object?> ChainView(JsonObject record, string method, JsonObject details)
    {
        var layout = ChainLayout.Build((string?)record["answer"] ?? "", details);
        return new Dictionary<string, object?>
        {
            ["id"] = (string?)record["id"],
            ["method"] = method,
            ["verdict"] = record["correct"] is JsonValue v ? ((bool)v ? "correct" : "wrong") : "not judged",
            ["verdict_class"] = record["correct"] is JsonValue w && (bool)w ? "ok" : "bad",
            ["confidence"] = Fmt(record["metrics"]?[method]?["confidence"]),
            ["segments"] = layout.Segments.Select(s => new Dictionary<string, object?>
            {
                ["text"] = s.Text,
                ["class"] = s.Score is null ? (s.Answer ? "ans" : "") : s.Answer ? "chain ans" : "chain",
                ["alpha"] = s.Score is { } sc ? (0.15 + 0.85 * sc).ToString("0.###", CultureInfo.InvariantCulture) : "0",
                ["title"] = s.Score is { } raw ? $"chain score {s.RawScore.ToString("0.####", CultureInfo.InvariantCulture)}" + (s.Answer ? "; answer token" : "") : s.Answer ? "answer token" : null,
            }).ToList(),
            ["chain"] = layout.Chain.Select(c => new Dictionary<string, object?> { ["token"] = c.Token, ["score"] = c.Score.ToString("0.####", CultureInfo.InvariantCulture), ["located"] = c.Located }).ToList(),
        };
    }

    /// <summary>One cell of the methods table: the value with three decimals, its interval on a second line, whether it
    /// is the column's best (highest AUROC/AUPRC/PRR/AUARC, lowest ECE/Brier), and the number of its note (one list of
    /// notes under the table, each written once).</summary>
    private static Dictionary<string, object?> MetricCell(JsonNode? node, double? best, Func<string, int> noteNumber)
    {
        var value = ReportStyle.Number(node?["value"]);
        var note = (string?)node?["note"];
        return new Dictionary<string, object?>
        {
            ["value"] = value is { } x ? ReportStyle.Fixed(x) : "n/a",
            ["ci"] = ReportStyle.Number(node?["ci_low"]) is { } l && ReportStyle.Number(node?["ci_high"]) is { } h
                ? $"[{ReportStyle.Fixed(l)}, {ReportStyle.Fixed(h)}]" : null,
            ["best"] = value is { } y && best is { } b && ReportStyle.Fixed(y) == ReportStyle.Fixed(b),
            ["note"] = note is null ? null : noteNumber(note).ToString(CultureInfo.InvariantCulture),
            ["note_text"] = note,
        };
    }

    /// <summary>The best value of metric <paramref name="metric"/> over the methods (lower is better for ECE and Brier), or
    /// null when no method has one.</summary>
    private static double? Best(JsonObject methods, string metric)
    {
        var values = methods.Select(kv => ReportStyle.Number(kv.Value?[metric]?["value"])).OfType<double>().ToList();
        if (values.Count == 0) return null;
        return ReportStyle.LowerIsBetter(metric) ? values.Min() : values.Max();
    }

    private static string Fmt(JsonNode? node) => node switch
    {
        null => "n/a",
        JsonValue v when v.TryGetValue<double>(out var d) => double.IsNaN(d) ? "n/a" : ReportStyle.Fixed(d),
        _ => node.ToString(),
    };
}
