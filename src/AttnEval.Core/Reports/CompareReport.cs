using AttnEval.Core.Evaluation;
using HandlebarsDotNet;

namespace AttnEval.Core.Reports;

/// <summary>Renders <c>compare.html</c> of <c>attneval compare</c>: the runs, one table per evaluation metric (methods ×
/// runs, each run's estimate and interval, the best run per method in bold) and the paired differences to the first run.
/// Every value is HTML-encoded by Handlebars.</summary>
public static class CompareReport
{
    private static readonly Lazy<HandlebarsTemplate<object, object>> Template = new(() => HtmlReport.Compile("compare-report.hbs"));

    /// <summary>Builds the HTML text.</summary>
    public static string Render(RunComparison comparison)
    {
        ArgumentNullException.ThrowIfNull(comparison);
        static string F(double? x) => x is { } v ? ReportStyle.Fixed(v) : "—";
        var metrics = comparison.Metrics.Select(metric =>
        {
            bool lower = ReportStyle.LowerIsBetter(metric);
            return new Dictionary<string, object?>
            {
                ["title"] = metric.ToUpperInvariant(),
                ["direction"] = lower ? "lower is better" : "higher is better",
                ["rows"] = comparison.Methods.Select(m =>
                {
                    var values = m.Values[metric];
                    var known = values.Where(v => v?.Value is not null).Select(v => v!.Value!.Value).ToList();
                    double? best = known.Distinct().Count() < 2 ? null : lower ? known.Min() : known.Max();      // none when every run agrees
                    return new Dictionary<string, object?>
                    {
                        ["method"] = m.Method,
                        ["cells"] = values.Select(v => new Dictionary<string, object?>
                        {
                            ["value"] = v is null ? "not run" : F(v.Value),
                            ["interval"] = v?.Value is null ? "" : $"[{F(v.Lower)}, {F(v.Upper)}]",
                            ["css"] = best is { } b && v?.Value == b ? "num best" : "num",
                        }).ToList(),
                    };
                }).ToList(),
            };
        }).ToList();
        var paired = RunComparison.PairedMetrics.Select(metric => new Dictionary<string, object?>
        {
            ["title"] = metric.ToUpperInvariant(),
            ["rows"] = comparison.Methods.Select(m => new Dictionary<string, object?>
            {
                ["method"] = m.Method,
                ["cells"] = m.Paired[metric].Select(p => new Dictionary<string, object?>
                {
                    ["value"] = p.Delta is { } d ? (d >= 0 ? "+" : "") + F(d) : "—",
                    ["interval"] = p.Delta is null ? p.Note : $"[{F(p.Lower)}, {F(p.Upper)}] · {p.Shared} shared",
                    ["css"] = p.Lower > 0 ? "num ok" : p.Upper < 0 ? "num bad" : "num",
                }).ToList(),
            }).ToList(),
        }).ToList();
        return Template.Value(new Dictionary<string, object?>
        {
            ["css"] = ReportStyle.Css,
            ["count"] = comparison.Runs.Count,
            ["runs"] = comparison.Runs.Select((r, k) => new Dictionary<string, object?>
            {
                ["index"] = k + 1, ["dir"] = r.Label, ["name"] = r.Name, ["model"] = r.Model, ["samples"] = r.Samples, ["accuracy"] = F(r.Accuracy),
            }).ToList(),
            ["others"] = Enumerable.Range(2, comparison.Runs.Count - 1).ToList(),
            ["metrics"] = metrics,
            ["paired"] = paired,
            ["level"] = comparison.LevelText,
            ["resamples"] = comparison.Resamples,
        });
    }
}
