using System.Globalization;
using AttnEval.Abstractions;
using AttnEval.Plugins.Sdk;

namespace AttnEval.Metrics.ReasoningRhythm;

/// <summary>The validated <c>analysis:</c> options of a <c>reasoning-rhythm</c> run (specs/head-methods.md §5.1).</summary>
internal sealed record RhythmOptions
{
    private static readonly RhythmOptions Defaults = new();

    /// <summary>WAAD clipping window W (paper default 10).</summary>
    [Option("window", "WAAD clipping window W in tokens: WAAD_t = Σ_s Ā_loc[t,s]·min(t−s, W) (arXiv 2510.13554; spec §5.1, default 10)", Min = 1)]
    public int Window { get; init; } = 10;
    /// <summary>FAI horizon lower end H_lo (paper default 10).</summary>
    [Option("horizon_lo", "FAI horizon start H_lo in tokens: rows t with s+H_lo ≤ t ≤ s+H_hi (spec §5.1, default 10)", Min = 0)]
    public int HorizonLo { get; init; } = 10;
    /// <summary>FAI horizon upper end H_hi (paper default 100).</summary>
    [Option("horizon_hi", "FAI horizon end H_hi in tokens, ≥ horizon_lo (spec §5.1, default 100)", Min = 0)]
    public int HorizonHi { get; init; } = 100;
    /// <summary>Share of the sampled heads in each of H_loc (lowest d) and H_glob (highest d); paper "e.g." 30 %.</summary>
    [Option("group_fraction", "share of the sampled heads in H_loc (lowest mean backward distance d) and in H_glob (highest d) each (spec §5.1: 30 %)", Min = 0, Max = 0.5)]
    public double GroupFraction { get; init; } = 0.3;
    /// <summary>Explicit layers to sample, or null for <see cref="LayerCount"/> evenly spaced layers in the middle third.</summary>
    [Option("layers", "layers whose heads are grouped and averaged; default: layer_count evenly spaced layers in ⌊L/3⌋…⌊2L/3⌋ (spec §5.1)", Min = 0)]
    public IReadOnlyList<int>? Layers { get; init; }
    /// <summary>Number of evenly spaced middle-third layers when <see cref="Layers"/> is null (paper: 5).</summary>
    [Option("layer_count", "number of evenly spaced middle-third layers when layers is unset (spec §5.1: 5); fewer on small models (duplicates merge)", Min = 1)]
    public int LayerCount { get; init; } = 5;
    /// <summary>A local maximum is a peak when its value is at least this quantile of the item's series.</summary>
    [Option("peak_quantile", "a local maximum of WAAD or FAI is a peak when it is at least this quantile of the item's series (AttnEval choice [P])", Min = 0, Max = 1)]
    public double PeakQuantile { get; init; } = 0.75;
    /// <summary>An FAI peak at s is coupled when a WAAD peak lies in [s − lag, s].</summary>
    [Option("coupling_lag", "an FAI peak at s follows or coincides with a WAAD peak when one lies in [s − lag, s] (AttnEval choice [P])", Min = 0)]
    public int CouplingLag { get; init; } = 3;
    /// <summary>Share of the response positions (by FAI, highest first) listed as top-FAI positions (spec: q = 40 %).</summary>
    [Option("top_fai_fraction", "share of response positions listed as top-FAI positions (spec §5.1 RL selection: q = 40 %)", Min = 0, Max = 1)]
    public double TopFaiFraction { get; init; } = 0.4;
    /// <summary>Items drawn as WAAD/FAI charts in the report.</summary>
    [Option("report_items", "items drawn as WAAD/FAI charts in report.html", Min = 0)]
    public int ReportItems { get; init; } = 20;

    /// <summary>The option specs the host validates the recipe's <c>analysis:</c> section against, from the declarations above.</summary>
    public static IReadOnlyList<OptionSpec> Specs => OptionBinder.Specs<RhythmOptions>();

    /// <summary>Reads and checks the options (ranges and the relations between them).</summary>
    /// <exception cref="ArgumentException">A value out of range or of the wrong type; the message names <c>analysis.&lt;key&gt;</c>.</exception>
    public static RhythmOptions From(OptionValues values)
    {
        ArgumentNullException.ThrowIfNull(values);
        var known = Specs.Select(s => s.Key).ToHashSet(StringComparer.Ordinal);
        foreach (var key in values.Values.Keys)
            if (!known.Contains(key)) throw new ArgumentException($"analysis.{key}: unknown option of reasoning-rhythm (known: {string.Join(", ", known)})");
        var o = new RhythmOptions
        {
            Window = Int(values, "window", Defaults.Window),
            HorizonLo = Int(values, "horizon_lo", Defaults.HorizonLo),
            HorizonHi = Int(values, "horizon_hi", Defaults.HorizonHi),
            GroupFraction = Number(values, "group_fraction", Defaults.GroupFraction),
            Layers = IntList(values, "layers"),
            LayerCount = Int(values, "layer_count", Defaults.LayerCount),
            PeakQuantile = Number(values, "peak_quantile", Defaults.PeakQuantile),
            CouplingLag = Int(values, "coupling_lag", Defaults.CouplingLag),
            TopFaiFraction = Number(values, "top_fai_fraction", Defaults.TopFaiFraction),
            ReportItems = Int(values, "report_items", Defaults.ReportItems),
        };
        if (o.GroupFraction <= 0) throw new ArgumentException($"analysis.group_fraction: must be above 0 (got {Show(o.GroupFraction)}); each group needs a share of the heads");
        if (o.HorizonHi < o.HorizonLo) throw new ArgumentException($"analysis.horizon_hi: must be at least analysis.horizon_lo ({o.HorizonLo}), got {o.HorizonHi}");
        if (o.Layers is { } layers)
        {
            if (layers.Count == 0) throw new ArgumentException("analysis.layers: an empty list; leave it out for the middle-third default");
            var dup = layers.GroupBy(l => l).FirstOrDefault(g => g.Count() > 1);
            if (dup is not null) throw new ArgumentException($"analysis.layers: layer {dup.Key} is listed twice");
        }
        return o;
    }

    /// <summary>The layers to sample on a model with <paramref name="modelLayers"/> layers: the explicit list (sorted), or
    /// <see cref="LayerCount"/> evenly spaced layers from ⌊L/3⌋ to ⌊2L/3⌋ (rounded, duplicates merged).</summary>
    /// <exception cref="ArgumentException">An explicit layer outside [0, L); the message names <c>analysis.layers</c>.</exception>
    public IReadOnlyList<int> ResolveLayers(int modelLayers)
    {
        if (modelLayers < 1) throw new ArgumentException($"the model reports {modelLayers} layers");
        if (Layers is { } explicitLayers)
        {
            foreach (var l in explicitLayers)
                if (l < 0 || l >= modelLayers) throw new ArgumentException($"analysis.layers: layer {l} is outside the model's 0…{modelLayers - 1}");
            return explicitLayers.Order().ToList();
        }
        return RhythmMath.MiddleThirdLayers(modelLayers, LayerCount);
    }

    /// <summary>The options as echoed into the run's summary (the resolved layers included).</summary>
    public Dictionary<string, object?> ToSummary(IReadOnlyList<int> layers) => new()
    {
        ["layers"] = layers.ToList(),
        ["layers_rule"] = Layers is null ? $"{LayerCount} evenly spaced in floor(L/3)..floor(2L/3)" : "explicit",
        ["window"] = Window,
        ["horizon"] = new List<int> { HorizonLo, HorizonHi },
        ["group_fraction"] = GroupFraction,
        ["peak_quantile"] = PeakQuantile,
        ["coupling_lag"] = CouplingLag,
        ["top_fai_fraction"] = TopFaiFraction,
        ["report_items"] = ReportItems,
    };

    private static OptionSpec Spec(string key) => Specs.Single(s => s.Key == key);

    private static int Int(OptionValues v, string key, int fallback)
    {
        var min = (long)(Spec(key).Min ?? long.MinValue);
        if (!v.Values.TryGetValue(key, out var raw) || raw is null) return fallback;
        long value = raw switch
        {
            long l => l,
            int i => i,
            short s => s,
            double d when d == Math.Floor(d) && !double.IsInfinity(d) => (long)d,
            _ => throw new ArgumentException($"analysis.{key}: expected a whole number, got '{Convert.ToString(raw, CultureInfo.InvariantCulture)}'"),
        };
        if (value < min || value > int.MaxValue) throw new ArgumentException($"analysis.{key}: must be at least {min} (got {value})");
        return (int)value;
    }

    private static double Number(OptionValues v, string key, double fallback)
    {
        double min = Spec(key).Min ?? double.NegativeInfinity, max = Spec(key).Max ?? double.PositiveInfinity;
        if (!v.Values.TryGetValue(key, out var raw) || raw is null) return fallback;
        double value = raw switch
        {
            double d => d,
            float f => f,
            long l => l,
            int i => i,
            _ => throw new ArgumentException($"analysis.{key}: expected a number, got '{Convert.ToString(raw, CultureInfo.InvariantCulture)}'"),
        };
        if (double.IsNaN(value) || value < min || value > max) throw new ArgumentException($"analysis.{key}: must be in [{Show(min)}, {Show(max)}] (got {Show(value)})");
        return value;
    }

    private static IReadOnlyList<int>? IntList(OptionValues v, string key)
    {
        if (!v.Values.TryGetValue(key, out var raw) || raw is null) return null;
        if (raw is not System.Collections.IEnumerable items || raw is string)
            throw new ArgumentException($"analysis.{key}: expected a list of whole numbers, got '{Convert.ToString(raw, CultureInfo.InvariantCulture)}'");
        var list = new List<int>();
        foreach (var item in items)
        {
            long value = item switch
            {
                long l => l,
                int i => i,
                double d when d == Math.Floor(d) && !double.IsInfinity(d) => (long)d,
                _ => throw new ArgumentException($"analysis.{key}: expected whole numbers, got '{Convert.ToString(item, CultureInfo.InvariantCulture)}'"),
            };
            if (value < 0 || value > int.MaxValue) throw new ArgumentException($"analysis.{key}: layer {value} is negative or too large");
            list.Add((int)value);
        }
        return list;
    }

    private static string Show(double x) => x.ToString("0.###", CultureInfo.InvariantCulture);
}
