using System.Globalization;
using System.Text.Json.Nodes;

namespace AttnEval.Core.Reports;

/// <summary>
/// What every report and figure agrees on: which methods are highlighted, the colour of each method (the same in the
/// tables and the figures), which direction is better for each evaluation metric, how numbers are written (a fixed
/// number of decimals per column, never "-0"), and the shared stylesheet and script inlined into every
/// <c>report.html</c> (so a run folder is read offline, with nothing fetched).
/// </summary>
public static class ReportStyle
{
    /// <summary>Most methods drawn in colour by default; the others are drawn on request (a checkbox each).</summary>
    public const int MaxHighlighted = 4;

    /// <summary>Methods highlighted whenever the run has them, after the best by AUROC.</summary>
    public static IReadOnlyList<string> Preferred { get; } = ["msp", "uqac", "sar"];

    /// <summary>The Okabe–Ito colours given to the highlighted methods, in order (distinguishable with every common colour
    /// vision deficiency).</summary>
    public static IReadOnlyList<string> HighlightColours { get; } = ["#0072B2", "#D55E00", "#009E73", "#CC79A7"];

    /// <summary>Tableau 10, cycled over the other methods when they are shown.</summary>
    public static IReadOnlyList<string> OtherColours { get; } =
        ["#4E79A7", "#F28E2B", "#E15759", "#76B7B2", "#59A14F", "#EDC948", "#B07AA1", "#FF9DA7", "#9C755F", "#BAB0AC"];

    /// <summary>True for the evaluation metrics where a lower value is better (ECE, Brier); every other metric (AUROC,
    /// AUPRC, PRR, AUARC, …) is better higher.</summary>
    public static bool LowerIsBetter(string metric) => metric is "ece" or "brier";

    /// <summary>The highlighted methods of an uncertainty summary: the best by AUROC (when the run evaluates it), then
    /// <see cref="Preferred"/> methods the run has, at most <see cref="MaxHighlighted"/>, in that order; all of them when the
    /// run has no more than that.</summary>
    public static IReadOnlyList<string> Highlighted(JsonObject summary)
    {
        ArgumentNullException.ThrowIfNull(summary);
        var methods = (summary["methods"]?.AsObject() ?? []).Select(kv => kv.Key).ToList();
        if (methods.Count <= MaxHighlighted) return methods;
        var chosen = new List<string>();
        var best = (summary["methods"]?.AsObject() ?? [])
            .Select(kv => (kv.Key, Value: Number(kv.Value?["auroc"]?["value"])))
            .Where(x => x.Value is not null).OrderByDescending(x => x.Value).Select(x => x.Key).FirstOrDefault();
        if (best is not null) chosen.Add(best);
        chosen.AddRange(Preferred.Where(p => methods.Contains(p) && !chosen.Contains(p)));
        chosen.AddRange(methods.Where(m => !chosen.Contains(m)));
        return chosen.Take(MaxHighlighted).ToList();
    }

    /// <summary>The colour of each method, in <paramref name="methods"/> order: highlighted methods take
    /// <see cref="HighlightColours"/> in highlight order, the others cycle through <see cref="OtherColours"/>.</summary>
    public static IReadOnlyDictionary<string, string> Colours(IReadOnlyList<string> methods, IReadOnlyList<string> highlighted)
    {
        ArgumentNullException.ThrowIfNull(methods);
        ArgumentNullException.ThrowIfNull(highlighted);
        var colours = new Dictionary<string, string>();
        for (var i = 0; i < highlighted.Count; i++) colours[highlighted[i]] = HighlightColours[i % HighlightColours.Count];
        var other = 0;
        foreach (var m in methods)
            if (!colours.ContainsKey(m)) colours[m] = OtherColours[other++ % OtherColours.Count];
        return colours;
    }

    /// <summary>A name made safe as a file name (method names become figure files): characters other than letters, digits,
    /// '.', '-' and '_' become '_'.</summary>
    public static string FileName(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        var chars = name.Select(c => char.IsAsciiLetterOrDigit(c) || c is '.' or '-' or '_' ? c : '_').ToArray();
        var s = new string(chars);
        return s is "" or "." or ".." ? "_" + s : s;
    }

    /// <summary>The number in a JSON node, or null (missing, not a number, NaN).</summary>
    public static double? Number(JsonNode? node) =>
        node is JsonValue v && v.TryGetValue<double>(out var d) && !double.IsNaN(d) ? d : null;

    /// <summary><paramref name="x"/> with <paramref name="decimals"/> decimals, never "-0.000" (a negative number that
    /// rounds to zero is written as zero).</summary>
    public static string Fixed(double x, int decimals = 3)
    {
        var text = x.ToString("F" + decimals.ToString(CultureInfo.InvariantCulture), CultureInfo.InvariantCulture);
        return text.StartsWith('-') && text.All(c => c is '-' or '0' or '.') ? text[1..] : text;
    }

    /// <summary>A JSON number with three decimals (<see cref="Fixed(double, int)"/>), "n/a" when it is missing or not a number.</summary>
    public static string Fixed(JsonNode? node) => Number(node) is { } d ? Fixed(d) : "n/a";

    /// <summary>Decimals for a column of values, between 0 and 6: enough for three significant digits at its typical
    /// (median) magnitude (3 for values around 0.1–1, 5 around 0.001, 0 for hundreds) and for three of its spread (max − min;
    /// values −8.29 to −8.05 get 3 decimals, not 2).</summary>
    public static int Decimals(IEnumerable<double> values)
    {
        ArgumentNullException.ThrowIfNull(values);
        var finite = values.Where(double.IsFinite).ToList();
        var magnitudes = finite.Select(Math.Abs).Where(a => a > 0).Order().ToList();
        if (magnitudes.Count == 0) return 3;
        var median = magnitudes[magnitudes.Count / 2];
        var decimals = 2 - (int)Math.Floor(Math.Log10(median));
        var spread = finite.Max() - finite.Min();
        if (spread > 0) decimals = Math.Max(decimals, 2 - (int)Math.Floor(Math.Log10(spread)));
        return Math.Clamp(decimals, 0, 6);
    }

    /// <summary>The stylesheet every report inlines (embedded resource <c>report.css</c>).</summary>
    public static string Css => Assets.Value.Css;

    /// <summary>The script every report inlines (embedded resource <c>report.js</c>): sortable tables, the sample filter,
    /// drill-down rows, and the method checkboxes that show a method's curve in the figures and its column in the tables.</summary>
    public static string Script => Assets.Value.Js;

    private static readonly Lazy<(string Css, string Js)> Assets = new(() => (Resource("report.css"), Resource("report.js")));

    /// <summary>The text of an embedded resource under <c>AttnEval.Core.Reports</c>.</summary>
    internal static string Resource(string name)
    {
        using var stream = typeof(ReportStyle).Assembly.GetManifestResourceStream("AttnEval.Core.Reports." + name)
                           ?? throw new InvalidOperationException($"report resource {name} missing from AttnEval.Core");
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }
}
