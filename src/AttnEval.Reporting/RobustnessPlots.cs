using System.Text.Json.Nodes;
using AttnEval.Core.Reports;
using AttnEval.Core.Runs;
using ScottPlot;

namespace AttnEval.Reporting;

/// <summary>
/// The figure of an agent-robustness run: ΔAcc = Acc(reference) − Acc(condition) per perturbed condition as bars with
/// their paired-bootstrap intervals as whiskers (specs/head-methods.md §4.2.3), drawn from <c>summary.json</c> alone into
/// <c>plots/robustness-accuracy.svg</c> (ScottPlot 5, SVG, <see cref="Width"/> × <see cref="Height"/>);
/// then <c>report.html</c> is rendered again so that it shows the figure.
/// </summary>
public static class RobustnessPlots
{
    /// <summary>File name of the figure under <c>plots/</c>.</summary>
    public const string File = RobustnessReport.AccuracyFigure;

    /// <summary>File name of the confidence figure under <c>plots/</c>.</summary>
    public const string ConfidenceFile = RobustnessReport.ConfidenceFigure;

    /// <summary>Width of both figures, SVG pixels.</summary>
    public const int Width = 640;

    /// <summary>Height of both figures, SVG pixels.</summary>
    public const int Height = 480;

    /// <summary>Draws the figure (when some condition has a ΔAcc) and re-renders the report.</summary>
    /// <param name="runDir">A finished agent-robustness run folder.</param>
    /// <param name="figureError">Called when the figure cannot be drawn (e.g. SkiaSharp's native library does not load); null = rethrow.</param>
    /// <returns>The path of <c>report.html</c>.</returns>
    /// <exception cref="FileNotFoundException">No <c>summary.json</c> (see <see cref="RunFolder.RequireSummary"/> for a missing folder or one that is not a run).</exception>
    public static string Write(string runDir, Action<Exception>? figureError = null)
    {
        try { Draw(runDir); }
        catch (Exception e) when (figureError is not null && e is not FileNotFoundException)
        {
            figureError(e);
        }
        return HtmlReport.Write(runDir);
    }

    /// <summary>Draws the two figures of an agent-robustness run folder into <c>plots/</c> (a figure with nothing to show is removed).</summary>
    /// <exception cref="FileNotFoundException">No <c>summary.json</c>.</exception>
    public static void Draw(string runDir)
    {
        var summaryPath = RunFolder.RequireSummary(runDir);
        var summary = JsonNode.Parse(System.IO.File.ReadAllText(summaryPath))!.AsObject();
        // PNG figures of earlier versions would be shown by nothing any more.
        if (Directory.Exists(Path.Combine(runDir, HtmlReport.PlotsFolder)))
            foreach (var old in new[] { "robustness-accuracy.png", "robustness-confidence.png" }) System.IO.File.Delete(Path.Combine(runDir, HtmlReport.PlotsFolder, old));
        Save(DeltaAccuracy(summary), Path.Combine(runDir, HtmlReport.PlotsFolder, File));
        Save(Confidence(summary), Path.Combine(runDir, HtmlReport.PlotsFolder, ConfidenceFile));

        static void Save(Plot? plot, string path)
        {
            using (plot)
            {
                if (plot is null) System.IO.File.Delete(path);
                else
                {
                    Directory.CreateDirectory(Path.GetDirectoryName(path)!);
                    plot.SaveSvg(path, Width, Height);
                }
            }
        }
    }

    /// <summary>
    /// The confidence figure of an agent-robustness summary: per condition, accuracy next to the mean confidence the
    /// confidence middleware gave (a gap = over- or under-confidence) and the ECE of that confidence (LM-Polygraph
    /// definition, the run's bins). Null when no condition carries a confidence.
    /// </summary>
    public static Plot? Confidence(JsonObject summary)
    {
        var rows = (summary["analysis"]?["conditions"]?.AsObject() ?? [])
            .Where(kv => kv.Value?["mean_confidence"] is not null && kv.Value?["accuracy"] is not null)
            .Select(kv => (Name: kv.Key, Acc: (double)kv.Value!["accuracy"]!, Conf: (double)kv.Value["mean_confidence"]!, Ece: (double?)kv.Value["ece"]))
            .ToList();
        if (rows.Count == 0) return null;
        var plot = ReportPlots.NewPlot();
        plot.Title("Accuracy, mean confidence and ECE per condition");
        plot.YLabel("fraction");
        var series = new (string Label, Color Color, Func<(string Name, double Acc, double Conf, double? Ece), double?> Value)[]
        {
            ("accuracy", Color.FromHex(ReportStyle.HighlightColours[0]), r => r.Acc),
            ("mean confidence", Color.FromHex("#E69F00"), r => r.Conf),
            ("ECE", Color.FromHex(ReportStyle.HighlightColours[1]), r => r.Ece),
        };
        const double width = 0.27;
        for (int s = 0; s < series.Length; s++)
        {
            var bars = rows.Select((r, i) => series[s].Value(r) is { } v
                    ? new ScottPlot.Bar { Position = i + (s - 1) * width, Value = v, FillColor = series[s].Color, Size = width }
                    : null)
                .OfType<ScottPlot.Bar>().ToList();
            var added = plot.Add.Bars(bars);
            added.LegendText = series[s].Label;
        }
        plot.Axes.Bottom.SetTicks(Enumerable.Range(0, rows.Count).Select(i => (double)i).ToArray(), rows.Select(r => r.Name).ToArray());
        plot.Axes.Bottom.TickLabelStyle.Rotation = 30;
        plot.Axes.Bottom.TickLabelStyle.Alignment = Alignment.MiddleLeft;
        plot.Axes.Bottom.MinimumSize = 160;
        plot.Axes.SetLimitsY(0, 1.08);
        plot.ShowLegend(Edge.Right);
        return plot;
    }

    /// <summary>The ΔAcc bar chart of an agent-robustness summary; null when no condition has a ΔAcc.</summary>
    public static Plot? DeltaAccuracy(JsonObject summary)
    {
        var rows = (summary["analysis"]?["conditions"]?.AsObject() ?? [])
            .Where(kv => kv.Value?["delta_acc"]?["value"] is not null)
            .Select(kv => (Name: kv.Key, D: (double)kv.Value!["delta_acc"]!["value"]!, Lo: (double?)kv.Value["delta_acc"]!["ci_low"], Hi: (double?)kv.Value["delta_acc"]!["ci_high"]))
            .ToList();
        if (rows.Count == 0) return null;
        var plot = ReportPlots.NewPlot();
        plot.Title($"Accuracy drop against {(string?)summary["analysis"]?["reference"] ?? "reference"} (95% paired bootstrap)");
        plot.YLabel("ΔAcc = Acc(reference) − Acc(condition)");
        for (int i = 0; i < rows.Count; i++)
        {
            var bar = plot.Add.Bar(i, rows[i].D);
            bar.Color = Color.FromHex(rows[i].Lo > 0 ? ReportStyle.HighlightColours[1] : ReportStyle.HighlightColours[0]);
            if (rows[i].Lo is { } lo && rows[i].Hi is { } hi)
            {
                var w = plot.Add.Line(i, lo, i, hi);
                w.LineColor = Colors.Black;
                w.LineWidth = 2;
            }
        }
        var zero = plot.Add.HorizontalLine(0);
        zero.LineColor = Colors.Gray;
        plot.Axes.Bottom.SetTicks(Enumerable.Range(0, rows.Count).Select(i => (double)i).ToArray(), rows.Select(r => r.Name).ToArray());
        plot.Axes.Bottom.TickLabelStyle.Rotation = 30;
        plot.Axes.Bottom.TickLabelStyle.Alignment = Alignment.MiddleLeft;
        plot.Axes.Bottom.MinimumSize = 160;
        return plot;
    }
}
