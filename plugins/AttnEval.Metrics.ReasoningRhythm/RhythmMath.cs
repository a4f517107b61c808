using AttnEval.Abstractions;
using AttnEval.Plugins.Sdk;

namespace AttnEval.Metrics.ReasoningRhythm;

/// <summary>WAAD and FAI of one response after grouping, with the head groups and distances they came from.</summary>
/// <param name="Local">H_loc: the heads with the lowest mean backward distance, lowest first.</param>
/// <param name="Global">H_glob: the heads with the highest mean backward distance, highest first.</param>
/// <param name="Distances">d(l,h) of every sampled head.</param>
/// <param name="Waad">WAAD_t for each response position (index r, absolute t = P + r).</param>
/// <param name="Fai">FAI_s for each response position, null where the horizon T(s) is empty.</param>
internal sealed record RhythmSeries(IReadOnlyList<HeadId> Local, IReadOnlyList<HeadId> Global, IReadOnlyDictionary<HeadId, double> Distances,
    double[] Waad, double?[] Fai);

/// <summary>Pooled counts behind the coupling rates (sums so that items pool and resumed items count like fresh ones).</summary>
internal sealed record CouplingCounts
{
    public double EntropyAtPeaks { get; init; }
    public int WaadPeaks { get; init; }
    public double EntropyAll { get; init; }
    public int Tokens { get; init; }
    public double NextEntropyAtPeaks { get; init; }
    public int NextPeaks { get; init; }
    public double NextEntropyAll { get; init; }
    public int NextTokens { get; init; }
    public int FaiPeaks { get; init; }
    public int FaiPeaksCoupled { get; init; }
    public int FaiPositions { get; init; }
    public int FaiPositionsCoupled { get; init; }

    public static CouplingCounts operator +(CouplingCounts a, CouplingCounts b) => new()
    {
        EntropyAtPeaks = a.EntropyAtPeaks + b.EntropyAtPeaks, WaadPeaks = a.WaadPeaks + b.WaadPeaks,
        EntropyAll = a.EntropyAll + b.EntropyAll, Tokens = a.Tokens + b.Tokens,
        NextEntropyAtPeaks = a.NextEntropyAtPeaks + b.NextEntropyAtPeaks, NextPeaks = a.NextPeaks + b.NextPeaks,
        NextEntropyAll = a.NextEntropyAll + b.NextEntropyAll, NextTokens = a.NextTokens + b.NextTokens,
        FaiPeaks = a.FaiPeaks + b.FaiPeaks, FaiPeaksCoupled = a.FaiPeaksCoupled + b.FaiPeaksCoupled,
        FaiPositions = a.FaiPositions + b.FaiPositions, FaiPositionsCoupled = a.FaiPositionsCoupled + b.FaiPositionsCoupled,
    };
}

/// <summary>The arithmetic of the reasoning-rhythm kind (specs/head-methods.md §5.1), free of any model.</summary>
internal static class RhythmMath
{
    /// <summary>The paper's layer rule: <paramref name="count"/> evenly spaced layers from ⌊L/3⌋ to ⌊2L/3⌋, each rounded
    /// half away from zero, duplicates merged (so a 4-layer model gets {1, 2}); one layer → the middle of that range.</summary>
    public static IReadOnlyList<int> MiddleThirdLayers(int layers, int count)
    {
        int lo = layers / 3, hi = Math.Min(layers - 1, 2 * layers / 3);
        if (count == 1) return [(int)Math.Round((lo + hi) / 2.0, MidpointRounding.AwayFromZero)];
        var result = new SortedSet<int>();
        for (int i = 0; i < count; i++) result.Add((int)Math.Round(lo + i * (hi - lo) / (double)(count - 1), MidpointRounding.AwayFromZero));
        return result.ToList();
    }

    /// <summary>Number of heads in each group: ⌊fraction × heads⌋, at least 1.</summary>
    public static int GroupSize(int heads, double fraction) => Math.Max(1, (int)Math.Floor(fraction * heads + 1e-9));

    /// <summary>Groups the sampled heads by d (ties by head id) and averages WAAD over H_loc and FAI over H_glob.</summary>
    public static RhythmSeries Combine(RhythmReducer r, double groupFraction)
    {
        int k = r.HeadCount, n = r.ResponseLength, g = GroupSize(k, groupFraction);
        var order = Enumerable.Range(0, k).OrderBy(r.MeanDistance).ThenBy(r.Head).ToList();
        var local = order.Take(g).ToList();
        var global = order.AsEnumerable().Reverse().Take(g).ToList();
        var waad = new double[n];
        var fai = new double?[n];
        for (int i = 0; i < n; i++)
        {
            waad[i] = local.Sum(h => r.HeadWaad(h, i)) / local.Count;
            int size = r.HorizonSize(i);
            fai[i] = size == 0 ? null : global.Sum(h => r.HeadFaiSum(h, i)) / global.Count / size;
        }
        var distances = Enumerable.Range(0, k).ToDictionary(r.Head, r.MeanDistance);
        return new RhythmSeries(local.Select(r.Head).ToList(), global.Select(r.Head).ToList(), distances, waad, fai);
    }

    /// <summary>
    /// Peaks of a series: positions i with a value that is a local maximum — above the previous value (or first) and at least
    /// the next (or last), strictly above at least one neighbour (a flat run or a lone value has none; the first position of a
    /// raised plateau counts) — and at least the <paramref name="quantile"/> quantile (linear interpolation, the plugin SDK's
    /// <see cref="Ranking.Quantile"/>) of the defined values. Null values are undefined: they are neither peaks nor neighbours.
    /// </summary>
    /// <exception cref="ArgumentException"><paramref name="quantile"/> outside [0, 1].</exception>
    public static int[] Peaks(IReadOnlyList<double?> x, double quantile)
    {
        var defined = x.Where(v => v.HasValue).Select(v => v!.Value).Order().ToArray();
        if (defined.Length < 2) return [];
        double threshold = Ranking.Quantile(defined, quantile);   // the plugin SDK's type-7 quantile, as the host's bootstrap
        var peaks = new List<int>();
        for (int i = 0; i < x.Count; i++)
        {
            if (x[i] is not double v || v < threshold) continue;
            double? prev = i > 0 ? x[i - 1] : null, next = i + 1 < x.Count ? x[i + 1] : null;
            if (prev is null && next is null) continue;
            if (prev is { } p && v <= p) continue;
            if (next is { } q && v < q) continue;
            if ((prev is { } p2 && v > p2) || (next is { } q2 && v > q2)) peaks.Add(i);
        }
        return peaks.ToArray();
    }

    /// <summary>Peaks of a fully defined series.</summary>
    public static int[] Peaks(IReadOnlyList<double> x, double quantile) => Peaks(x.Select(v => (double?)v).ToList(), quantile);

    /// <summary>The top ⌈fraction × m⌉ of the m positions with a defined FAI, highest first (ties by position).</summary>
    public static int[] TopPositions(IReadOnlyList<double?> fai, double fraction)
    {
        var defined = Enumerable.Range(0, fai.Count).Where(i => fai[i].HasValue).ToList();
        int take = (int)Math.Ceiling(fraction * defined.Count - 1e-9);
        return defined.OrderByDescending(i => fai[i]!.Value).ThenBy(i => i).Take(take).ToArray();
    }

    /// <summary>True when a WAAD peak lies in [s − lag, s]: the FAI position s follows or coincides with a WAAD peak.</summary>
    public static bool FollowsWaadPeak(int s, IReadOnlyList<int> waadPeaks, int lag) => waadPeaks.Any(p => p <= s && p >= s - lag);

    /// <summary>
    /// The coupling counts of one response. Entropy: entropy[r] is that of the distribution that chose response token r (the
    /// paper's per-token entropy); "next" pairs WAAD_r with the distribution its own row computes (token r + 1). Random
    /// baselines are exact expectations of a uniformly drawn position: the mean over all positions (entropy), and the share of
    /// all FAI-defined positions that follow or coincide with a WAAD peak (FAI coupling).
    /// </summary>
    public static CouplingCounts Couple(IReadOnlyList<double> entropy, IReadOnlyList<int> waadPeaks, IReadOnlyList<double?> fai, IReadOnlyList<int> faiPeaks, int lag)
    {
        int n = entropy.Count;
        var positions = Enumerable.Range(0, fai.Count).Where(i => fai[i].HasValue).ToList();
        var nextPeaks = waadPeaks.Where(p => p + 1 < n).ToList();
        return new CouplingCounts
        {
            EntropyAtPeaks = waadPeaks.Sum(p => entropy[p]), WaadPeaks = waadPeaks.Count,
            EntropyAll = entropy.Sum(), Tokens = n,
            NextEntropyAtPeaks = nextPeaks.Sum(p => entropy[p + 1]), NextPeaks = nextPeaks.Count,
            NextEntropyAll = entropy.Skip(1).Sum(), NextTokens = Math.Max(0, n - 1),
            FaiPeaks = faiPeaks.Count, FaiPeaksCoupled = faiPeaks.Count(s => FollowsWaadPeak(s, waadPeaks, lag)),
            FaiPositions = positions.Count, FaiPositionsCoupled = positions.Count(s => FollowsWaadPeak(s, waadPeaks, lag)),
        };
    }
}
