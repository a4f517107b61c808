using System.Text.Json.Nodes;
using AttnEval.Core.Kinds;
using AttnEval.Core.Reports;
using AttnEval.Core.Runs;
using ScottPlot;

namespace AttnEval.Reporting;

/// <summary>
/// Draws the figures of an uncertainty run's report as SVG files under <c>plots/</c> of the run folder, from
/// <c>summary.json</c> and <c>samples.jsonl</c> alone (so <c>attneval report</c> redraws them). The ROC and
/// accuracy–rejection figures are layered: a base (<c>roc.svg</c>, <c>accuracy-rejection.svg</c>: axes and every method as a
/// thin grey line) and one transparent layer per method (<c>roc/&lt;method&gt;.svg</c>, …) in the method's colour, drawn
/// with the same fixed data area so that the report stacks the layers of the methods a reader ticks (the highlighted ones,
/// <see cref="ReportStyle.Highlighted"/>, by default). The reliability diagram is one small panel per method with a
/// confidence (<c>reliability/&lt;method&gt;.svg</c>): equal-count bins and, below, the histogram of its confidences. The
/// data come from <see cref="ReportCurves"/>, so each curve's area is the AUROC / AUARC of the method table
/// (specs/uq-methods.md §5.1, §5.4, §5.6). Rendering: ScottPlot 5, SVG (sharp at any zoom and in print).
/// </summary>
public static class ReportPlots
{
    /// <summary>Width of the ROC and accuracy–rejection figures, SVG pixels.</summary>
    public const int Width = 600;

    /// <summary>Height of the ROC and accuracy–rejection figures, SVG pixels.</summary>
    public const int Height = 460;

    /// <summary>Width of one reliability panel, SVG pixels.</summary>
    public const int PanelWidth = 400;

    /// <summary>Height of one reliability panel, SVG pixels.</summary>
    public const int PanelHeight = 340;

    /// <summary>The data area's distance from the figure's edges (left, right, bottom, top), the same in a base and its
    /// layers so that they line up.</summary>
    private static readonly PixelPadding Padding = new(64, 18, 56, 34);

    private static readonly PixelPadding PanelPadding = new(58, 58, 52, 40);

    /// <summary>Draws the figures that have data, after removing those of an earlier rendering (and the PNG figures of
    /// earlier versions).</summary>
    /// <param name="runDir">A finished run folder (with <c>summary.json</c>).</param>
    /// <returns>Full paths of the SVG files written: the bases with their layers, then the reliability panels.</returns>
    /// <exception cref="FileNotFoundException">No <c>summary.json</c> in the folder (see <see cref="RunFolder.RequireSummary"/> for a missing folder or one that is not a run).</exception>
    public static IReadOnlyList<string> Write(string runDir)
    {
        var summaryPath = RunFolder.RequireSummary(runDir);
        var summary = JsonNode.Parse(File.ReadAllText(summaryPath))!.AsObject();
        var curves = ReportCurves.FromRun(summary, RunFolder.ReadSamples(runDir));
        var colours = ReportStyle.Colours(curves.Select(c => c.Method).ToList(), ReportStyle.Highlighted(summary));
        var dir = Path.Combine(runDir, HtmlReport.PlotsFolder);
        Clear(dir);
        var written = new List<string>();

        void Save(Plot? plot, string file, int width, int height)
        {
            using (plot)
            {
                if (plot is null) return;
                var path = Path.Combine(dir, file);
                Directory.CreateDirectory(Path.GetDirectoryName(path)!);
                plot.SaveSvg(path, width, height);
                written.Add(path);
            }
        }

        var rocBase = Roc(curves);
        if (rocBase is not null)
        {
            Save(rocBase, HtmlReport.RocFigure + ".svg", Width, Height);
            foreach (var c in curves.Where(c => c.Roc.Count > 0))
                Save(Layer(c.Roc, colours[c.Method], RocLimits), Path.Combine(HtmlReport.RocFigure, ReportStyle.FileName(c.Method) + ".svg"), Width, Height);
        }
        var accuracy = (double?)summary["accuracy"];
        var arBase = AccuracyRejection(curves, accuracy);
        if (arBase is not null)
        {
            var limits = AccuracyRejectionLimits(curves, accuracy);
            Save(arBase, HtmlReport.AccuracyRejectionFigure + ".svg", Width, Height);
            foreach (var c in curves.Where(c => c.AccuracyRejection.Count > 0))
                Save(Layer(c.AccuracyRejection, colours[c.Method], limits), Path.Combine(HtmlReport.AccuracyRejectionFigure, ReportStyle.FileName(c.Method) + ".svg"), Width, Height);
        }
        foreach (var c in curves.Where(c => c.AdaptiveReliability is { Count: > 0 }))
            Save(Reliability(c, ReportStyle.Number(summary["methods"]?[c.Method]?["ece"]?["value"]), colours[c.Method]),
                Path.Combine(HtmlReport.ReliabilityFigure, ReportStyle.FileName(c.Method) + ".svg"), PanelWidth, PanelHeight);
        return written;
    }

    /// <summary>Removes the figures of an earlier rendering (SVG bases, layer folders, and the PNG files of earlier versions).</summary>
    private static void Clear(string dir)
    {
        if (!Directory.Exists(dir)) return;
        foreach (var name in new[] { HtmlReport.RocFigure, HtmlReport.AccuracyRejectionFigure, HtmlReport.ReliabilityFigure })
        {
            foreach (var ext in new[] { ".svg", ".png" }) File.Delete(Path.Combine(dir, name + ext));
            if (Directory.Exists(Path.Combine(dir, name))) Directory.Delete(Path.Combine(dir, name), recursive: true);
        }
    }

    private static readonly AxisLimits RocLimits = new(-0.02, 1.02, -0.02, 1.02);

    /// <summary>The base of the ROC figure: axes, the chance diagonal and every method with a curve as a thin grey line;
    /// null when no method's samples include both verdicts.</summary>
    public static Plot? Roc(IReadOnlyList<MethodCurves> curves)
    {
        ArgumentNullException.ThrowIfNull(curves);
        var drawn = curves.Where(c => c.Roc.Count > 0).ToList();
        if (drawn.Count == 0) return null;
        var plot = Base("ROC: uncertainty detecting wrong answers", "false positive rate (correct answers flagged)", "true positive rate (wrong answers flagged)", RocLimits);
        Dashed(plot.Add.Line(0, 0, 1, 1));
        foreach (var c in drawn) Grey(plot, c.Roc);
        return plot;
    }

    /// <summary>The base of the accuracy–rejection figure: axes fitted to the curves (<see cref="AccuracyRejectionLimits"/>),
    /// the accuracy of all answers dashed, and every method as a thin grey line; null when no method has 2 samples.</summary>
    public static Plot? AccuracyRejection(IReadOnlyList<MethodCurves> curves, double? accuracy)
    {
        ArgumentNullException.ThrowIfNull(curves);
        var drawn = curves.Where(c => c.AccuracyRejection.Count > 0).ToList();
        if (drawn.Count == 0) return null;
        var plot = Base("Accuracy–rejection", "rejection rate (most uncertain answers rejected first)", "accuracy of the kept answers", AccuracyRejectionLimits(curves, accuracy));
        if (accuracy is { } a) Dashed(plot.Add.HorizontalLine(a));
        foreach (var c in drawn) Grey(plot, c.AccuracyRejection);
        return plot;
    }

    /// <summary>
    /// Axis limits of the accuracy–rejection figure: x over [0, 1]; y from a little below the lowest accuracy any curve
    /// reaches while rejecting at most 90 % of the answers (and below the accuracy of all answers), rounded down to 0.05, up
    /// to 1. The last tenth of a curve rests on a handful of answers and may leave the axis at the bottom.
    /// </summary>
    public static AxisLimits AccuracyRejectionLimits(IReadOnlyList<MethodCurves> curves, double? accuracy)
    {
        ArgumentNullException.ThrowIfNull(curves);
        var low = curves.SelectMany(c => c.AccuracyRejection.Where(p => p.X <= 0.9).Select(p => p.Y))
            .Append(accuracy ?? 1).DefaultIfEmpty(0).Min();
        var bottom = Math.Clamp(Math.Floor((low - 0.02) * 20) / 20, 0, 0.95);
        var margin = (1 - bottom) * 0.02;
        return new AxisLimits(-0.01, 1.01, bottom, 1 + margin);
    }

    /// <summary>One method's curve alone, in its colour, on a transparent figure with the same data area as the base of
    /// the given limits and no axes, to be stacked over the base.</summary>
    public static Plot Layer(IReadOnlyList<CurvePoint> points, string colour, AxisLimits limits)
    {
        ArgumentNullException.ThrowIfNull(points);
        var plot = NewPlot();
        plot.Axes.Frameless();
        plot.HideGrid();
        plot.FigureBackground.Color = Colors.Transparent;
        plot.DataBackground.Color = Colors.Transparent;
        var s = plot.Add.ScatterLine(points.Select(p => p.X).ToArray(), points.Select(p => p.Y).ToArray());
        s.Color = Color.FromHex(colour);
        s.LineWidth = 2.5f;
        plot.Axes.SetLimits(limits);
        plot.Layout.Fixed(Padding);
        return plot;
    }

    /// <summary>
    /// The reliability panel of one method: its equal-count bins (<see cref="MethodCurves.AdaptiveReliability"/>) as points
    /// of mean confidence against accuracy, joined, over the diagonal of perfect calibration; under them, on the right axis,
    /// the number of answers in each of 20 equal-width confidence bins (the histogram of the confidences). Null when the
    /// method reports no confidence.
    /// </summary>
    /// <param name="curves">The method's curves.</param>
    /// <param name="ece">Its ECE from the summary (shown in the title), or null.</param>
    /// <param name="colour">Its colour (hex).</param>
    public static Plot? Reliability(MethodCurves curves, double? ece, string colour)
    {
        ArgumentNullException.ThrowIfNull(curves);
        if (curves.AdaptiveReliability is not { Count: > 0 } bins || curves.Confidences is not { Count: > 0 } conf) return null;
        var plot = NewPlot();
        plot.Title($"{curves.Method}" + (ece is { } e ? $" · ECE {ReportStyle.Fixed(e)}" : ""), size: 15);
        plot.XLabel("confidence", size: 13);
        plot.YLabel("accuracy", size: 13);

        const int histogramBins = 20;
        var counts = new int[histogramBins];
        foreach (var c in conf) counts[Math.Min(histogramBins - 1, (int)(c * histogramBins))]++;
        var max = Math.Max(1, counts.Max());
        var bars = plot.Add.Bars(counts.Select((n, b) => new Bar
        {
            Position = (b + 0.5) / histogramBins, Value = n, Size = 1.0 / histogramBins * 0.9,
            FillColor = Colors.Gray.WithAlpha(0.35), LineWidth = 0,
        }).ToList());
        bars.Axes.YAxis = plot.Axes.Right;
        // The histogram fills the lower quarter: the right axis runs to 4 × the largest count, ticked up to that count.
        plot.Axes.Right.Min = 0;
        plot.Axes.Right.Max = max * 4.0;
        plot.Axes.Right.SetTicks([0, max], ["0", max.ToString(System.Globalization.CultureInfo.InvariantCulture)]);
        plot.Axes.Right.Label.Text = "answers per 0.05 of confidence";
        plot.Axes.Right.Label.FontSize = 11;

        Dashed(plot.Add.Line(0, 0, 1, 1));
        var s = plot.Add.Scatter(bins.Select(b => b.MeanConfidence).ToArray(), bins.Select(b => b.Accuracy).ToArray());
        s.Color = Color.FromHex(colour);
        s.LineWidth = 2;
        s.MarkerSize = 8;
        plot.Axes.SetLimits(-0.02, 1.02, -0.02, 1.04);
        plot.Layout.Fixed(PanelPadding);
        return plot;
    }

    /// <summary>The reliability panels of every method that reports a confidence, as (method, panel).</summary>
    public static IReadOnlyList<(string Method, Plot Plot)> Reliability(IReadOnlyList<MethodCurves> curves, IReadOnlyDictionary<string, string> colours)
    {
        ArgumentNullException.ThrowIfNull(curves);
        ArgumentNullException.ThrowIfNull(colours);
        return curves.Select(c => (c.Method, Plot: Reliability(c, null, colours.TryGetValue(c.Method, out var col) ? col : ReportStyle.HighlightColours[0])))
            .Where(x => x.Plot is not null).Select(x => (x.Method, x.Plot!)).ToList();
    }

    /// <summary>The first of a few common sans-serif families installed here (SVG text names it; a browser without it uses
    /// another font), else ScottPlot's default.</summary>
    private static readonly Lazy<string> SansFont = new(() =>
        new[] { "DejaVu Sans", "Liberation Sans", "Arial", "Helvetica", "Noto Sans" }.FirstOrDefault(name =>
        {
            using var typeface = SkiaSharp.SKFontManager.Default.MatchFamily(name);
            return typeface?.FamilyName == name;
        }) ?? Fonts.Default);

    /// <summary>A new plot in the reports' style (a sans-serif font).</summary>
    internal static Plot NewPlot()
    {
        var plot = new Plot();
        plot.Font.Set(SansFont.Value);
        return plot;
    }

    private static Plot Base(string title, string x, string y, AxisLimits limits)
    {
        var plot = NewPlot();
        plot.Title(title, size: 16);
        plot.XLabel(x, size: 14);
        plot.YLabel(y, size: 14);
        plot.Axes.SetLimits(limits);
        plot.Layout.Fixed(Padding);
        return plot;
    }

    private static void Grey(Plot plot, IReadOnlyList<CurvePoint> points)
    {
        var s = plot.Add.ScatterLine(points.Select(p => p.X).ToArray(), points.Select(p => p.Y).ToArray());
        s.Color = Colors.Gray.WithAlpha(0.45);
        s.LineWidth = 1;
    }

    private static void Dashed(ScottPlot.Plottables.LinePlot line)
    {
        line.LinePattern = LinePattern.Dashed;
        line.LineColor = Colors.Black.WithAlpha(0.6);
        line.LineWidth = 1;
    }

    private static void Dashed(ScottPlot.Plottables.HorizontalLine line)
    {
        line.LinePattern = LinePattern.Dashed;
        line.LineColor = Colors.Black.WithAlpha(0.6);
        line.LineWidth = 1;
    }
}

/// <summary>The one report pipeline (what <c>attneval run</c> does at the end and <c>attneval report</c> redoes): the figures of the
/// run's kind (<see cref="Figures"/>: <see cref="ReportPlots"/> for an uncertainty run, <see cref="AnalysisPlots"/> for a
/// head-attribution or data-scoring run, <see cref="RobustnessPlots"/> for an agent-robustness run; a plugin's kind draws its own
/// inline), then <c>report.html</c> from the kind's page (<see cref="HtmlReport.Write(string, IReadOnlyDictionary{string, RecipeKindDescriptor}?)"/>).</summary>
public static class RunReport
{
    /// <summary>Figure sets by kind name: what draws a run's figures into <c>plots/</c> before its page is rendered.</summary>
    public static IReadOnlyDictionary<string, Action<string>> Figures { get; } = new Dictionary<string, Action<string>>(StringComparer.Ordinal)
    {
        [BuiltInKinds.Uncertainty] = d => ReportPlots.Write(d),
        [BuiltInKinds.HeadAttribution] = d => AnalysisPlots.Write(d),
        [BuiltInKinds.DataScoring] = d => AnalysisPlots.Write(d),
        [BuiltInKinds.AgentRobustness] = RobustnessPlots.Draw,
    };

    /// <summary>Draws the figures and renders <c>report.html</c> of a run of a built-in kind.</summary>
    /// <inheritdoc cref="Write(string, IReadOnlyDictionary{string, RecipeKindDescriptor}?, Action{Exception}?)"/>
    public static string Write(string runDir, Action<Exception>? figureError = null) => Write(runDir, null, figureError);

    /// <summary>Draws the figures and renders <c>report.html</c>.</summary>
    /// <param name="runDir">A finished run folder.</param>
    /// <param name="kinds">The host's recipe kinds (<see cref="Core.Plugins.IComponentCatalog.Kinds"/>); null = the built-in ones.</param>
    /// <param name="figureError">Called with the exception when the figures cannot be drawn (e.g. the native SkiaSharp library
    /// cannot load); the HTML is then written without them. Null = rethrow.</param>
    /// <returns>The path of <c>report.html</c>.</returns>
    /// <exception cref="FileNotFoundException">No <c>summary.json</c> (see <see cref="RunFolder.RequireSummary"/> for a missing folder or one that is not a run).</exception>
    /// <exception cref="InvalidDataException">The run's kind is not among <paramref name="kinds"/>.</exception>
    public static string Write(string runDir, IReadOnlyDictionary<string, RecipeKindDescriptor>? kinds, Action<Exception>? figureError = null)
    {
        var kind = HtmlReport.KindOf(runDir, kinds);
        if (Figures.TryGetValue(kind.Name, out var draw))
        {
            try { draw(runDir); }
            catch (Exception e) when (figureError is not null && e is not FileNotFoundException)
            {
                figureError(e);
            }
        }
        return HtmlReport.Write(runDir, kind);
    }
}
