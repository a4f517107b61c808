namespace AttnEval.Core.Evaluation;

/// <summary>A bootstrap confidence interval.</summary>
/// <param name="Lower">Lower bound (see <see cref="Method"/>); NaN when no replicate is valid.</param>
/// <param name="Upper">Upper bound; NaN when no replicate is valid.</param>
/// <param name="Level">Nominal coverage in (0, 1), e.g. 0.95.</param>
/// <param name="Resamples">Number of resamples drawn (B).</param>
/// <param name="Valid">Number of resamples on which the statistic was defined (not NaN); the interval uses only these.</param>
public sealed record BootstrapInterval(double Lower, double Upper, double Level, int Resamples, int Valid)
{
    /// <summary>How the bounds were read from the replicates.</summary>
    public IntervalMethod Method { get; init; } = IntervalMethod.Percentile;
    /// <summary>Median of the valid replicates (NaN when none); minus the estimate it is the bootstrap's median bias.</summary>
    public double Median { get; init; } = double.NaN;
    /// <summary>Share of valid replicates below the estimate (ties count ½), or NaN when no estimate was given. Outside
    /// [(1−level)/2, (1+level)/2] the estimate lies outside the percentile interval of its own replicates.</summary>
    public double ShareBelow { get; init; } = double.NaN;
}

/// <summary>How a bootstrap interval is read from the replicates θ*_1 … θ*_B of an estimate θ̂ (recipe key
/// <c>evaluation.interval</c>).</summary>
public enum IntervalMethod
{
    /// <summary>
    /// Default (<c>centered</c>): the bias-centred percentile interval <c>[θ̂ + q_{α/2} − m, θ̂ + q_{1−α/2} − m]</c>, with q the
    /// quantiles and m the median of the replicates: the percentile interval of the replicates after removing the
    /// bootstrap's median bias m − θ̂, so it describes how far the estimate would move on another sample of the same size,
    /// centred on the estimate. It always holds θ̂ (q_{α/2} ≤ m ≤ q_{1−α/2}). Chosen for ECE-like statistics whose plug-in
    /// is biased on resamples: the percentile interval, Efron's BC/BCa and the basic (pivotal) interval all exclude θ̂
    /// exactly when θ̂ lies outside the central range of its own replicates (for BC: |z₀| > z_{1−α/2}), which is the
    /// case for a well-calibrated confidence (msp on the quickstart: ECE 0.066, percentile [0.067, 0.123], BCa
    /// [0.048, 0.066], basic [0.010, 0.066]). For a statistic without bootstrap bias (m ≈ θ̂) it equals the percentile
    /// interval.
    /// </summary>
    Centered,

    /// <summary>The previous convention (<c>percentile</c>): <c>[q_{α/2}, q_{1−α/2}]</c> of the replicates (Efron 1979;
    /// Efron and Tibshirani 1993, ch. 13). Can exclude the estimate when the statistic is biased on resamples.</summary>
    Percentile,
}

/// <summary>
/// Nonparametric bootstrap (Efron 1979; Efron and Tibshirani 1993, ch. 13): draw B resamples of the
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
    /// Bootstrap interval of <paramref name="statistic"/> over <paramref name="count"/> items, read from the replicates by
    /// <paramref name="method"/> around <paramref name="estimate"/> (the statistic on all items).
    /// </summary>
    /// <param name="count">Number of items N (≥ 1).</param>
    /// <param name="statistic">The statistic on a resample given as N item indices; NaN for a degenerate resample (left out).</param>
    /// <param name="estimate">θ̂, the statistic on all items (finite).</param>
    /// <param name="method">How the bounds are read (<see cref="IntervalMethod"/>).</param>
    /// <param name="resamples">B ≥ 1.</param>
    /// <param name="level">Coverage in (0, 1).</param>
    /// <param name="seed">Seed of the resampling.</param>
    /// <param name="bounds">Range of the statistic (e.g. [0, 1] for ECE); the centred interval is clipped to it.</param>
    /// <exception cref="ArgumentException">count &lt; 1, resamples &lt; 1, or level outside (0, 1).</exception>
    public static BootstrapInterval Interval(int count, Func<int[], double> statistic, double estimate, IntervalMethod method,
        int resamples = 1000, double level = 0.95, long seed = 0, (double Min, double Max)? bounds = null)
    {
        var values = Draw(count, statistic, resamples, level, seed);
        return FromReplicates(values, level, resamples, estimate, method, bounds);
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
        return FromReplicates(Draw(count, statistic, resamples, level, seed), level, resamples);
    }

    private static List<double> Draw(int count, Func<int[], double> statistic, int resamples, double level, long seed)
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
        return values;
    }

    /// <summary>The interval of <paramref name="method"/> from the valid replicates (sorted in place) around <paramref name="estimate"/>.</summary>
    internal static BootstrapInterval FromReplicates(List<double> valid, double level, int resamples, double estimate, IntervalMethod method, (double Min, double Max)? bounds = null)
    {
        var p = FromReplicates(valid, level, resamples);
        if (p.Valid == 0) return p with { Method = method };
        var below = (valid.Count(x => x < estimate) + 0.5 * valid.Count(x => x == estimate)) / valid.Count;
        if (method == IntervalMethod.Percentile) return p with { ShareBelow = below };
        var (lo, hi) = bounds ?? (double.NegativeInfinity, double.PositiveInfinity);
        return p with
        {
            Lower = Math.Clamp(estimate + p.Lower - p.Median, lo, hi),
            Upper = Math.Clamp(estimate + p.Upper - p.Median, lo, hi),
            Method = IntervalMethod.Centered, ShareBelow = below,
        };
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
        return new BootstrapInterval(Quantile(valid, alpha), Quantile(valid, 1 - alpha), level, resamples, valid.Count)
        {
            Median = Quantile(valid, 0.5),
        };
    }

    /// <summary>Quantile <paramref name="p"/> ∈ [0, 1] of sorted values by linear interpolation at position (n−1)·p
    /// (Hyndman–Fan type 7, numpy <c>quantile</c> default): the plugin SDK's <see cref="AttnEval.Plugins.Sdk.Ranking.Quantile"/>.</summary>
    /// <exception cref="ArgumentException">Empty input or p outside [0, 1].</exception>
    public static double Quantile(IReadOnlyList<double> sorted, double p) => AttnEval.Plugins.Sdk.Ranking.Quantile(sorted, p);
}
