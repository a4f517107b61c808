using System.Text.Json.Nodes;
using HandlebarsDotNet;

namespace AttnEval.Core.Reports;

/// <summary>
/// Renders <c>report.html</c> of an <c>agent-robustness</c> run from its <c>summary.json</c>: verdicts first (per perturbed
/// condition, whether accuracy drops against the reference beyond its paired-bootstrap interval, and whether the
/// confidence follows), then two tables (accuracy: N, accuracy, ΔAcc, McNemar p, flips, mislead and abstain rates;
/// confidence and retrieval: mean confidence, AUROC, ECE, ΔAUROC, searches, support recall, result overlap; three decimals,
/// intervals on a second line, the direction that is better in each header), then the figures, then the run's setup
/// (its facts, flattened). Every text is HTML-encoded by Handlebars.
/// </summary>
public static class RobustnessReport
{
    /// <summary>File under <c>plots/</c> of the ΔAcc figure.</summary>
    public const string AccuracyFigure = "robustness-accuracy.svg";

    /// <summary>File under <c>plots/</c> of the accuracy / confidence / ECE figure.</summary>
    public const string ConfidenceFigure = "robustness-confidence.svg";

    private static readonly Lazy<HandlebarsTemplate<object, object>> Template = new(() => HtmlReport.Compile("robustness-report.hbs"));

    /// <summary>Builds the HTML text.</summary>
    /// <param name="summary">The run's <c>summary.json</c>.</param>
    /// <param name="withFigure">Show <c>plots/robustness-accuracy.svg</c>.</param>
    /// <param name="withConfidenceFigure">Show <c>plots/robustness-confidence.svg</c>.</param>
    public static string Render(JsonObject summary, bool withFigure = false, bool withConfidenceFigure = false)
    {
        ArgumentNullException.ThrowIfNull(summary);
        var analysis = summary["analysis"];
        var reference = (string?)analysis?["reference"] ?? "reference";
        var conditions = (analysis?["conditions"]?.AsObject() ?? []).Select(kv => (Name: kv.Key, Node: kv.Value as JsonObject ?? [])).ToList();
        var facts = new List<Dictionary<string, string>>();
        AnalysisReport.Flatten("", summary["facts"], facts);
        var figures = new List<Dictionary<string, object?>>();
        if (withFigure)
            figures.Add(Figure(AccuracyFigure, "Accuracy drop per condition", $"ΔAcc = Acc({reference}) − Acc(condition) over paired episodes, with its paired-bootstrap interval; red: the interval lies above 0 (a real drop)."));
        if (withConfidenceFigure)
            figures.Add(Figure(ConfidenceFigure, "Accuracy, mean confidence and ECE per condition", "A confidence that stays high while accuracy falls is over-confidence; the ECE measures the gap."));
        return Template.Value(new Dictionary<string, object?>
        {
            ["css"] = ReportStyle.Css,
            ["script"] = ReportStyle.Script,
            ["name"] = (string?)summary["name"] ?? "run",
            ["evaluation"] = (string?)summary["evaluation"] ?? "",
            ["model"] = (string?)summary["model"] ?? "",
            ["n_samples"] = summary["n_samples"]?.ToString() ?? "0",
            ["n_errors"] = summary["n_errors"]?.ToString() ?? "0",
            ["n_runs"] = analysis?["n_runs"]?.ToString() ?? "",
            ["reference"] = reference,
            ["random_right"] = analysis?["random_right"] is { } rr ? $"RandomRight {ReportStyle.Fixed(rr)}, Pass@2 {ReportStyle.Fixed(analysis?["pass_at_2"])}" : null,
            ["verdicts"] = conditions.Where(c => c.Node["delta_acc"] is not null).OrderByDescending(c => ReportStyle.Number(c.Node["delta_acc"]?["value"]) ?? double.MinValue)
                .Select(c => Verdict(c.Name, c.Node, conditions.FirstOrDefault(r => r.Name == reference).Node?["accuracy"])).ToList(),
            ["rows"] = conditions.Select(c => Row(c.Name, c.Node, c.Name == reference)).ToList(),
            ["figures"] = figures,
            ["facts"] = facts,
            ["episodes"] = Running.AgentRobustnessRunner.EpisodesFile,
        });
    }

    private static Dictionary<string, object?> Figure(string file, string title, string caption) =>
        new() { ["src"] = $"{HtmlReport.PlotsFolder}/{file}", ["title"] = title, ["caption"] = caption };

    /// <summary>One condition's verdict: a drop (interval above 0), a gain (below 0) or no clear change, and the
    /// confidence's gap to accuracy when it is large.</summary>
    private static Dictionary<string, object?> Verdict(string name, JsonObject c, JsonNode? referenceAccuracy)
    {
        var d = c["delta_acc"]!;
        double? value = ReportStyle.Number(d["value"]), lo = ReportStyle.Number(d["ci_low"]), hi = ReportStyle.Number(d["ci_high"]);
        var interval = lo is not null && hi is not null ? $" [{ReportStyle.Fixed(lo.Value)}, {ReportStyle.Fixed(hi.Value)}]" : "";
        var p = PValue(c["mcnemar"]?["p_value"]);
        var (cls, text) = lo > 0 ? ("bad", $"accuracy drops from {ReportStyle.Fixed(c["accuracy_reference"] ?? referenceAccuracy)} to {ReportStyle.Fixed(c["accuracy"])}")
            : hi < 0 ? ("ok", $"accuracy rises to {ReportStyle.Fixed(c["accuracy"])}")
            : ("", "no clear change in accuracy");
        var line = $"{text} (ΔAcc {(value is { } v ? ReportStyle.Fixed(v) : "n/a")}{interval}{(p is null ? "" : $", McNemar p {p}")})";
        if (ReportStyle.Number(c["mean_confidence"]) is { } conf && ReportStyle.Number(c["accuracy"]) is { } acc && conf - acc > 0.2)
            line += $"; the confidence stays at {ReportStyle.Fixed(conf)}: over-confident (ECE {ReportStyle.Fixed(c["ece"])})";
        return new() { ["name"] = name, ["class"] = cls, ["text"] = line + "." };
    }

    private static Dictionary<string, object?> Row(string name, JsonObject c, bool isReference) => new()
    {
        ["name"] = name,
        ["reference"] = isReference,
        ["n"] = c["n"]?.ToString() ?? "",
        ["accuracy"] = ReportStyle.Fixed(c["accuracy"]),
        ["delta_acc"] = Interval(c["delta_acc"]),
        ["p"] = PValue(c["mcnemar"]?["p_value"]) ?? "n/a",
        ["flip"] = Interval(c["flip_rate"]),
        ["harm"] = ReportStyle.Fixed(c["harm_flip"]),
        ["benign"] = ReportStyle.Fixed(c["ben_flip"]),
        ["mislead"] = ReportStyle.Fixed(c["mislead_rate"]),
        ["abstain"] = ReportStyle.Fixed(c["abstain"]),
        ["confidence"] = ReportStyle.Fixed(c["mean_confidence"]),
        ["auroc"] = ReportStyle.Fixed(c["auroc"]),
        ["ece"] = ReportStyle.Fixed(c["ece"]),
        ["delta_auroc"] = Interval(c["delta_auroc"]),
        ["searches"] = ReportStyle.Fixed(c["stats"]?["searches"]),
        ["support_recall"] = ReportStyle.Fixed(c["stats"]?["support_recall"]),
        ["result_overlap"] = ReportStyle.Fixed(c["stats"]?["result_overlap"]),
    };

    /// <summary>A value with its interval for a cell: (value, "[lo, hi]" or null).</summary>
    private static Dictionary<string, object?> Interval(JsonNode? n) => new()
    {
        ["value"] = ReportStyle.Fixed(n?["value"]),
        ["ci"] = ReportStyle.Number(n?["ci_low"]) is { } lo && ReportStyle.Number(n?["ci_high"]) is { } hi ? $"[{ReportStyle.Fixed(lo)}, {ReportStyle.Fixed(hi)}]" : null,
    };

    /// <summary>A p-value: three decimals, "&lt; 0.001" below that; null when missing.</summary>
    private static string? PValue(JsonNode? n) => ReportStyle.Number(n) switch
    {
        null => null,
        < 0.001 => "< 0.001",
        var p => ReportStyle.Fixed(p.Value),
    };
}
