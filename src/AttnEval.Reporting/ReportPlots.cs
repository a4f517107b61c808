using System.Text.Json.Nodes;
using AttnEval.Core.Reports;
using AttnEval.Core.Runs;
using ScottPlot;

namespace AttnEval.Reporting;

/// <summary>
/// Draws the figures of an uncertainty run's report as PNG files under <c>plots/</c> of the run folder, from
/// <c>summary.json</c> and <c>samples.jsonl</c> alone (so <c>attneval report</c> redraws them): ROC curves for detecting
/// wrong answers, a reliability diagram of the methods that report a confidence, and accuracy–rejection curves. The data
/// come from <see cref="ReportCurves"/>, so each curve's area is the AUROC / AUARC of the method table
/// (specs/uq-methods.md §5.1, §5.4, §5.6). Rendering: ScottPlot 5 (SkiaSharp), 720×540 pixels.
/// </summary>
public static class ReportPlots
{
    /// <summary>Width of every figure, pixels.</summary>
    public const int Width = 720;

    /// <summary>Height of every figure, pixels.</summary>
    public const int Height = 540;

    /// <summary>Draws the figures that have data and deletes stale ones that no longer do.</summary>
    /// <param name="runDir">A finished run folder (with <c>summary.json</c>).</param>
    /// <returns>Full paths of the PNG files written, in <see cref="HtmlReport.Figures"/> order.</returns>
    /// <exception cref="FileNotFoundException">No <c>summary.json</c> in the folder (see <see cref="RunFolder.RequireSummary"/> for a missing folder or one that is not a run).</exception>
    public static IReadOnlyList<string> Write(string runDir)
    {
        var summaryPath = RunFolder.RequireSummary(runDir);
        var summary = JsonNode.Parse(File.ReadAllText(summaryPath))!.AsObject();
        var curves = ReportCurves.FromRun(summary, RunFolder.ReadSamples(runDir));
        var accuracy = (double?)summary["accuracy"];

        var dir = Path.Combine(runDir, HtmlReport.PlotsFolder);
        Directory.CreateDirectory(dir);
        var written = new List<string>();
        foreach (var (file, _, _) in HtmlReport.Figures)
        {
            var path = Path.Combine(dir, file);
            using var plot = file switch
            {
                "roc.png" => Roc(curves),
                "reliability.png" => Reliability(curves),
                "accuracy-rejection.png" => AccuracyRejection(curves, accuracy),
                _ => null,
            };
            if (plot is null)
            {
                File.Delete(path);
                continue;
            }
            plot.SavePng(path, Width, Height);
            written.Add(path);
        }
        return written;
    }

    /// <summary>ROC curves of the methods whose samples include both verdicts; null when none does.</summary>
    public static Plot? Roc(IReadOnlyList<MethodCurves> curves)
    {
        ArgumentNullException.ThrowIfNull(curves);
        var drawn = curves.Where(c => c.Roc.Count > 0).ToList();
        if (drawn.Count == 0) return null;
        var plot = NewPlot(drawn.Count, "ROC: uncertainty detecting wrong answers", "false positive rate (correct answers flagged)", "true positive rate (wrong answers flagged)");
        Diagonal(plot);
        foreach (var c in drawn)
            Line(plot, c.Roc.Select(p => p.X).ToArray(), c.Roc.Select(p => p.Y).ToArray(), $"{c.Method} ({ReportCurves.Area(c.Roc):0.000})", markers: false);
        Finish(plot, Alignment.LowerRight);
        return plot;
    }

    /// <summary>Reliability diagram of the methods with a confidence (one point per non-empty bin); null when none has one.</summary>
    public static Plot? Reliability(IReadOnlyList<MethodCurves> curves)
    {
        ArgumentNullException.ThrowIfNull(curves);
        var drawn = curves.Where(c => c.Reliability is { Count: > 0 }).ToList();
        if (drawn.Count == 0) return null;
        var plot = NewPlot(drawn.Count, "Reliability diagram", "mean confidence in bin", "accuracy in bin");
        Diagonal(plot);
        foreach (var c in drawn)
            Line(plot, c.Reliability!.Select(b => b.MeanConfidence).ToArray(), c.Reliability!.Select(b => b.Accuracy).ToArray(), c.Method, markers: true);
        Finish(plot, Alignment.UpperLeft);
        return plot;
    }

    /// <summary>Accuracy–rejection curves, with the accuracy of all answers dashed; null when no method has 2 samples.</summary>
    public static Plot? AccuracyRejection(IReadOnlyList<MethodCurves> curves, double? accuracy)
    {
        ArgumentNullException.ThrowIfNull(curves);
        var drawn = curves.Where(c => c.AccuracyRejection.Count > 0).ToList();
        if (drawn.Count == 0) return null;
        var plot = NewPlot(drawn.Count, "Accuracy–rejection", "rejection rate (most uncertain answers rejected first)", "accuracy of the kept answers");
        if (accuracy is { } a)
        {
            var h = plot.Add.HorizontalLine(a);
            h.LinePattern = LinePattern.Dashed;
            h.LineColor = Colors.Gray;
            h.LineWidth = 1;
        }
        foreach (var c in drawn)
            Line(plot, c.AccuracyRejection.Select(p => p.X).ToArray(), c.AccuracyRejection.Select(p => p.Y).ToArray(), $"{c.Method} ({ReportCurves.Area(c.AccuracyRejection):0.000})", markers: false);
        Finish(plot, Alignment.LowerLeft);
        return plot;
    }

    private static Plot NewPlot(int series, string title, string x, string y)
    {
        var plot = new Plot();
        // Ten strong colours while they suffice; Category20's paler halves only when more methods are drawn.
        plot.Add.Palette = series <= 10 ? new ScottPlot.Palettes.Category10() : new ScottPlot.Palettes.Category20();
        plot.Title(title);
        plot.XLabel(x);
        plot.YLabel(y);
        return plot;
    }

    private static void Diagonal(Plot plot)
    {
        var d = plot.Add.Line(0, 0, 1, 1);
        d.LinePattern = LinePattern.Dashed;
        d.LineColor = Colors.Gray;
        d.LineWidth = 1;
    }

    private static void Line(Plot plot, double[] xs, double[] ys, string label, bool markers)
    {
        var s = plot.Add.Scatter(xs, ys);
        s.LegendText = label;
        s.LineWidth = 2;
        s.MarkerSize = markers ? 6 : 0;
    }

    private static void Finish(Plot plot, Alignment legend)
    {
        plot.Axes.SetLimits(-0.02, 1.02, -0.02, 1.02);
        plot.ShowLegend(legend);
    }
}

/// <summary>Writes the whole report of a run folder: the figures (<see cref="ReportPlots"/> for an uncertainty run,
/// <see cref="RobustnessPlots"/> for an agent-robustness run), then
/// <c>report.html</c> (<see cref="HtmlReport"/>). What <c>attneval run</c> does at the end and <c>attneval report</c> redoes.</summary>
public static class RunReport
{
    /// <summary>Draws the figures (uncertainty and agent-robustness runs) and renders <c>report.html</c>.</summary>
    /// <param name="runDir">A finished run folder.</param>
    /// <param name="figureError">Called with the exception when the figures cannot be drawn (e.g. the native SkiaSharp library
    /// cannot load); the HTML is then written without them. Null = rethrow.</param>
    /// <returns>The path of <c>report.html</c>.</returns>
    /// <exception cref="FileNotFoundException">No <c>summary.json</c> (see <see cref="RunFolder.RequireSummary"/> for a missing folder or one that is not a run).</exception>
    public static string Write(string runDir, Action<Exception>? figureError = null)
    {
        var summaryPath = RunFolder.RequireSummary(runDir);
        var kind = (string?)JsonNode.Parse(File.ReadAllText(summaryPath))?["kind"];
        if (kind == "agent-robustness") return RobustnessPlots.Write(runDir, figureError);
        if (kind is null or "uncertainty")
        {
            try { ReportPlots.Write(runDir); }
            catch (Exception e) when (figureError is not null && e is not FileNotFoundException)
            {
                figureError(e);
            }
        }
        return HtmlReport.Write(runDir);
    }
}
