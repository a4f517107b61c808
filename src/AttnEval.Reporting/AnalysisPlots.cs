using System.Text.Json.Nodes;
using AttnEval.Core.Reports;
using AttnEval.Core.Runs;
using ScottPlot;

namespace AttnEval.Reporting;

/// <summary>
/// The figures of a <c>head-attribution</c> or <c>data-scoring</c> run, drawn from <c>summary.json</c> and
/// <c>samples.jsonl</c> as SVG under <c>plots/</c>: per head analysis with causal checks, the checks side by side
/// (<see cref="AnalysisReport.AblationFigure"/>: no ablation, named heads ablated, each random set); per data scorer, the
/// histogram of its document scores, split by label when the run has one (<see cref="AnalysisReport.ScoresFigure"/>).
/// </summary>
public static class AnalysisPlots
{
    /// <summary>Width of the figures, SVG pixels.</summary>
    public const int Width = 820;

    /// <summary>Draws the figures that have data; removes those of an earlier rendering.</summary>
    /// <param name="runDir">A finished run folder.</param>
    /// <returns>Full paths of the files written.</returns>
    /// <exception cref="FileNotFoundException">No <c>summary.json</c> (see <see cref="RunFolder.RequireSummary"/>).</exception>
    public static IReadOnlyList<string> Write(string runDir)
    {
        var summary = JsonNode.Parse(File.ReadAllText(RunFolder.RequireSummary(runDir)))!.AsObject();
        var dir = Path.Combine(runDir, HtmlReport.PlotsFolder);
        if (Directory.Exists(dir))
            foreach (var old in Directory.EnumerateFiles(dir, "ablation-*.svg").Concat(Directory.EnumerateFiles(dir, "scores-*.svg")).ToList())
                File.Delete(old);
        var written = new List<string>();
        foreach (var (name, node) in summary["analyses"]?.AsObject() ?? [])
            Save(Checks(name, node?["summary"]), Path.Combine(dir, AnalysisReport.AblationFigure(name)), written);
        if (summary["scorers"] is JsonObject scorers && scorers.Count > 0)
        {
            var records = RunFolder.ReadSamples(runDir);
            foreach (var (name, node) in scorers)
                Save(Scores(name, records, node?["label"] is JsonObject), Path.Combine(dir, AnalysisReport.ScoresFigure(name)), written);
        }
        return written;
    }

    private static void Save((Plot Plot, int Height)? figure, string path, List<string> written)
    {
        if (figure is not { } f) return;
        using (f.Plot)
        {
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            f.Plot.SaveSvg(path, Width, f.Height);
            written.Add(path);
        }
    }

    /// <summary>The causal checks of a head analysis' summary (objects with <c>base</c>, <c>named</c>, <c>random_values</c>),
    /// one row each: the value without ablation (black bar), with the named heads ablated (diamond), with each random set
    /// (grey dots) and their mean (grey bar). Null when the summary has no check.</summary>
    public static (Plot Plot, int Height)? Checks(string analysis, JsonNode? summary)
    {
        var checks = new List<(string Name, JsonObject Check)>();
        Find("", summary, checks);
        if (checks.Count == 0) return null;
        var plot = ReportPlots.NewPlot();
        plot.Title($"{analysis}: causal checks", size: 15);
        plot.XLabel("value of the check's measure", size: 13);
        var named = Color.FromHex(ReportStyle.HighlightColours[1]);
        for (var i = 0; i < checks.Count; i++)
        {
            var c = checks[i].Check;
            double y = checks.Count - 1 - i;
            var randoms = c["random_values"]?.AsArray().Select(ReportStyle.Number).OfType<double>().ToArray() ?? [];
            if (randoms.Length > 0)
            {
                var dots = plot.Add.ScatterPoints(randoms, randoms.Select((_, j) => y - 0.12 + 0.24 * j / Math.Max(1, randoms.Length - 1)).ToArray());
                dots.Color = Colors.Gray.WithAlpha(0.7);
                dots.MarkerSize = 6;
                if (i == 0) dots.LegendText = "random sets";
            }
            Tick(plot, ReportStyle.Number(c["random_mean"]), y, Colors.Gray, i == 0 ? "random mean" : null);
            Tick(plot, ReportStyle.Number(c["base"]), y, Colors.Black, i == 0 ? "no ablation" : null);
            if (ReportStyle.Number(c["named"]) is { } v)
            {
                var m = plot.Add.Marker(v, y);
                m.Shape = MarkerShape.FilledDiamond;
                m.Size = 13;
                m.Color = named;
                if (i == 0) m.LegendText = "named heads ablated";
            }
        }
        plot.Axes.Left.SetTicks(Enumerable.Range(0, checks.Count).Select(i => (double)(checks.Count - 1 - i)).ToArray(), checks.Select(c => c.Name).ToArray());
        plot.Axes.SetLimitsY(-0.6, checks.Count - 0.4);
        plot.ShowLegend(Edge.Right);
        return (plot, 200 + 60 * checks.Count);
    }

    private static void Tick(Plot plot, double? x, double y, Color colour, string? legend)
    {
        if (x is not { } v) return;
        var m = plot.Add.Marker(v, y);
        m.Shape = MarkerShape.VerticalBar;
        m.Size = 22;
        m.LineWidth = 3;
        m.Color = colour;
        if (legend is not null) m.LegendText = legend;
    }

    private static void Find(string path, JsonNode? node, List<(string, JsonObject)> into)
    {
        if (node is not JsonObject o) return;
        if (o["base"] is JsonValue && o["named"] is JsonValue && o["random_values"] is JsonArray)
        {
            into.Add((path == "" ? "check" : path, o));
            return;
        }
        foreach (var (k, v) in o) Find(path == "" ? k : $"{path}.{k}", v, into);
    }

    /// <summary>Histogram of a scorer's document scores in 30 equal-width bins, one series per label value when
    /// <paramref name="labelled"/>; null when no document has a score.</summary>
    public static (Plot Plot, int Height)? Scores(string scorer, IReadOnlyList<JsonObject> records, bool labelled)
    {
        ArgumentNullException.ThrowIfNull(records);
        var scored = records.Select(r => (Score: ReportStyle.Number(r["metrics"]?[scorer]?["score"]), Label: r["label"] is JsonValue l && l.TryGetValue<bool>(out var b) ? b : (bool?)null))
            .Where(x => x.Score is { } s && double.IsFinite(s)).Select(x => (Score: x.Score!.Value, x.Label)).ToList();
        if (scored.Count == 0) return null;
        double lo = scored.Min(x => x.Score), hi = scored.Max(x => x.Score);
        if (hi - lo < 1e-12) hi = lo + 1;
        const int bins = 30;
        var width = (hi - lo) / bins;
        var plot = ReportPlots.NewPlot();
        plot.Title($"{scorer}: document scores", size: 15);
        plot.XLabel("score", size: 13);
        plot.YLabel("documents", size: 13);
        var series = labelled
            ? new[] { ("label true", (bool?)true, ReportStyle.HighlightColours[0]), ("label false", (bool?)false, ReportStyle.HighlightColours[1]) }
            : new[] { ("all documents", (bool?)null, ReportStyle.HighlightColours[0]) };
        foreach (var (label, value, colour) in series)
        {
            var counts = new int[bins];
            foreach (var x in scored.Where(x => !labelled || x.Label == value))
                counts[Math.Min(bins - 1, (int)((x.Score - lo) / width))]++;
            var bars = plot.Add.Bars(counts.Select((n, b) => new Bar
            {
                Position = lo + (b + 0.5) * width, Value = n, Size = width * 0.95, FillColor = Color.FromHex(colour).WithAlpha(0.55), LineWidth = 0,
            }).ToList());
            bars.LegendText = label;
        }
        plot.Axes.Margins(bottom: 0);
        plot.ShowLegend(Edge.Right);
        return (plot, 380);
    }
}
