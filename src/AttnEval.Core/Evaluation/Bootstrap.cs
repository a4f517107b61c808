namespace AttnEval.Core.Evaluation;

/// <summary>A percentile bootstrap confidence interval.</summary>
/// <param name="Lower">Lower bound: the (1−level)/2 quantile of the valid replicates; NaN when none is valid.</param>
/// <param name="Upper">Upper bound: the (1+level)/2 quantile of the valid replicates; NaN when none is valid.</param>
/// <param name="Level">Nominal coverage in (0, 1), e.g. 0.95.</param>
/// <param name="Resamples">Number of resamples drawn (B).</param>
/// <param name="Valid">Number of resamples on which the statistic was defined (not NaN); the interval uses only these.</param>
public sealed record BootstrapInterval(double Lower, double Upper, double Level, int Resamples, int Valid);

/// <summary>
/// Nonparametric percentile bootstrap (Efron 1979; Efron and Tibshirani 1993, ch. 13): draw B resamples of the
/// N items with replacement, evaluate the statistic on each, and take the empirical (1−level)/2 and (1+level)/2
/// quantiles (linear interpolation between order statistics, numpy's default "linear" method).
/// Deterministic: resample indices come from <see cref="SplitMix64"/> seeded with the given seed, so the same
/// seed, data and statistic give the same interval on every machine.
/// </summary>
public static class Bootstrap
{
    /// <summary>
    /// Generates the resample index sets: <paramref name="resamples"/> arrays of <paramref name="count"/> indices in
    /// [0, count), drawn uniformly with replacement. Resample r consumes draws r·N … r·N+N−1 of the generator.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="count"/> or <paramref name="resamples"/> is negative.</exception>
    public static IEnumerable<int[]> Resamples(int count, int resamples, long seed)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        ArgumentOutOfRangeException.ThrowIfNegative(resamples);
        return Iterate();

        IEnumerable<int[]> Iterate()
        {
            var rng = new SplitMix64(seed);
            for (var r = 0; r < resamples; r++)
            {
                var idx = new int[count];
                for (var i = 0; i < count; i++) idx[i] = count == 0 ? 0 : rng.NextInt(count);
                yield return idx;
            }
        }
    }

    /// <summary>
    /// Percentile bootstrap interval of <paramref name="statistic"/> over <paramref name="count"/> items.
    /// </summary>
    /// <param name="count">Number of items N (≥ 1).</param>
    /// <param name="statistic">Evaluates the statistic on a resample given as N item indices (repeats allowed);
    /// may return NaN for a degenerate resample (e.g. one class only), which is then left out.</param>
    /// <param name="resamples">B ≥ 1 (1000 is customary).</param>
    /// <param name="level">Coverage in (0, 1), default 0.95.</param>
    /// <param name="seed">Seed of the resampling.</param>
    /// <exception cref="ArgumentException">count &lt; 1, resamples &lt; 1, or level outside (0, 1).</exception>
    public static BootstrapInterval PercentileInterval(int count, Func<int[], double> statistic, int resamples = 1000, double level = 0.95, long seed = 0)
    {
        ArgumentNullException.ThrowIfNull(statistic);
        if (count < 1) throw new ArgumentException($"bootstrap needs at least one item (got {count})", nameof(count));
        if (resamples < 1) throw new ArgumentException($"bootstrap needs at least one resample (got {resamples})", nameof(resamples));
        CheckLevel(level);
        var values = new List<double>(resamples);
        foreach (var idx in Resamples(count, resamples, seed))
        {
            var v = statistic(idx);
            if (!double.IsNaN(v)) values.Add(v);
        }
        return FromReplicates(values, level, resamples);
    }

    internal static void CheckLevel(double level)
    {
        if (!(level > 0 && level < 1)) throw new ArgumentException($"confidence level must be in (0, 1) (got {level})", nameof(level));
    }

    internal static BootstrapInterval FromReplicates(List<double> valid, double level, int resamples)
    {
        if (valid.Count == 0) return new BootstrapInterval(double.NaN, double.NaN, level, resamples, 0);
        valid.Sort();
        var alpha = (1 - level) / 2;
        return new BootstrapInterval(Quantile(valid, alpha), Quantile(valid, 1 - alpha), level, resamples, valid.Count);
    }

    /// <summary>Quantile <paramref name="p"/> ∈ [0, 1] of sorted values by linear interpolation at position (n−1)·p
    /// (Hyndman–Fan type 7, numpy <c>quantile</c> default).</summary>
    /// <exception cref="ArgumentException">Empty input or p outside [0, 1].</exception>
    public static double Quantile(IReadOnlyList<double> sorted, double p)
    {
        ArgumentNullException.ThrowIfNull(sorted);
        if (sorted.Count == 0) throw new ArgumentException("quantile of an empty list", nameof(sorted));
        if (!(p >= 0 && p <= 1)) throw new ArgumentException($"quantile level must be in [0, 1] (got {p})", nameof(p));
        var h = (sorted.Count - 1) * p;
        var lo = (int)Math.Floor(h);
        var hi = Math.Min(lo + 1, sorted.Count - 1);
        return sorted[lo] + (h - lo) * (sorted[hi] - sorted[lo]);
    }
}
