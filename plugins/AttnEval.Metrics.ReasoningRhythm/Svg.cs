using System.Globalization;
using System.Net;
using System.Text;

namespace AttnEval.Metrics.ReasoningRhythm;

/// <summary>One line of a <see cref="Svg.LineChart"/>: values per position (null = gap), each line scaled to its own maximum.</summary>
/// <param name="Name">Legend text.</param>
/// <param name="Color">CSS colour.</param>
/// <param name="Values">One value per x position; null leaves a gap.</param>
/// <param name="Markers">Positions marked with a dot (peaks).</param>
/// <param name="Dashed">Draw the line dashed.</param>
internal sealed record ChartSeries(string Name, string Color, IReadOnlyList<double?> Values, IReadOnlyList<int> Markers, bool Dashed = false);

/// <summary>A minimal inline-SVG line chart for the report (no library: a few polylines, dots and labels).</summary>
internal static class Svg
{
    private const int Left = 8, Right = 8, Top = 22, Bottom = 46;

    /// <summary>Draws the series over <paramref name="labels"/>.Count positions; each series is scaled to [0, its max] (the
    /// legend gives the max), so shapes compare and units do not. Every text is HTML-encoded.</summary>
    /// <param name="series">Lines to draw.</param>
    /// <param name="labels">One label per x position (token texts); thinned to about 60 shown.</param>
    /// <param name="title">Accessible title.</param>
    /// <param name="width">Width in px.</param>
    /// <param name="height">Height in px.</param>
    public static string LineChart(IReadOnlyList<ChartSeries> series, IReadOnlyList<string> labels, string title, int width = 760, int height = 190)
    {
        int n = Math.Max(1, labels.Count);
        double plotW = width - Left - Right, plotH = height - Top - Bottom;
        double X(int i) => Left + (n == 1 ? plotW / 2 : i * plotW / (n - 1));
        var sb = new StringBuilder();
        sb.Append(CultureInfo.InvariantCulture, $"<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{height}\" viewBox=\"0 0 {width} {height}\" role=\"img\" style=\"font:11px sans-serif\">");
        sb.Append("<title>").Append(Enc(title)).Append("</title>");
        sb.Append(CultureInfo.InvariantCulture, $"<rect x=\"{Left}\" y=\"{Top}\" width=\"{plotW:0.#}\" height=\"{plotH:0.#}\" fill=\"none\" stroke=\"#ccc\"/>");
        double legendX = Left;
        foreach (var s in series)
        {
            double max = s.Values.Where(v => v.HasValue).Select(v => v!.Value).DefaultIfEmpty(0).Max();
            double scale = max > 0 ? max : 1;
            double Y(double v) => Top + plotH - v / scale * plotH;
            string dash = s.Dashed ? " stroke-dasharray=\"4 3\"" : "";
            foreach (var run in Runs(s.Values))
            {
                if (run.Count == 1)
                {
                    sb.Append(CultureInfo.InvariantCulture, $"<circle cx=\"{X(run[0]):0.##}\" cy=\"{Y(s.Values[run[0]]!.Value):0.##}\" r=\"1.5\" fill=\"{Enc(s.Color)}\"/>");
                    continue;
                }
                sb.Append("<polyline fill=\"none\" stroke-width=\"1.5\" stroke=\"").Append(Enc(s.Color)).Append('"').Append(dash).Append(" points=\"");
                foreach (int i in run) sb.Append(CultureInfo.InvariantCulture, $"{X(i):0.##},{Y(s.Values[i]!.Value):0.##} ");
                sb.Append("\"/>");
            }
            foreach (int i in s.Markers)
            {
                if (i < 0 || i >= s.Values.Count || s.Values[i] is not double v) continue;
                string label = i < labels.Count ? labels[i] : "";
                sb.Append(CultureInfo.InvariantCulture, $"<circle cx=\"{X(i):0.##}\" cy=\"{Y(v):0.##}\" r=\"3\" fill=\"{Enc(s.Color)}\"><title>{Enc($"{s.Name} peak at {i} «{label}»: {v.ToString("0.####", CultureInfo.InvariantCulture)}")}</title></circle>");
            }
            string legend = $"{s.Name} (max {max.ToString("0.###", CultureInfo.InvariantCulture)})";
            sb.Append(CultureInfo.InvariantCulture, $"<rect x=\"{legendX:0.#}\" y=\"6\" width=\"10\" height=\"3\" fill=\"{Enc(s.Color)}\"/>");
            sb.Append(CultureInfo.InvariantCulture, $"<text x=\"{legendX + 14:0.#}\" y=\"12\">{Enc(legend)}</text>");
            legendX += 24 + 6.2 * legend.Length;
        }
        int step = Math.Max(1, (int)Math.Ceiling(labels.Count / 60.0));
        for (int i = 0; i < labels.Count; i += step)
        {
            double x = X(i), y = Top + plotH + 6;
            sb.Append(CultureInfo.InvariantCulture, $"<text x=\"{x:0.##}\" y=\"{y:0.##}\" transform=\"rotate(60 {x:0.##} {y:0.##})\" font-size=\"9\">{Enc(Visible(labels[i]))}</text>");
        }
        sb.Append("</svg>");
        return sb.ToString();
    }

    /// <summary>A token's text with whitespace made visible (newline ⏎, tab ⇥, space ·).</summary>
    public static string Visible(string token) => token.Replace("\n", "⏎").Replace("\r", "").Replace("\t", "⇥").Replace(" ", "·");

    /// <summary>HTML-encodes text for element content and attribute values.</summary>
    public static string Enc(string text) => WebUtility.HtmlEncode(text);

    private static List<List<int>> Runs(IReadOnlyList<double?> values)
    {
        var runs = new List<List<int>>();
        List<int>? cur = null;
        for (int i = 0; i < values.Count; i++)
        {
            if (values[i].HasValue) (cur ??= []).Add(i);
            else if (cur is not null) { runs.Add(cur); cur = null; }
        }
        if (cur is not null) runs.Add(cur);
        return runs;
    }
}
