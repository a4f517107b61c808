using System.Globalization;

namespace AttnEval.Core.Evaluation;

/// <summary>One judged sample of one method, as the evaluation needs it.</summary>
/// <param name="Uncertainty">The method's uncertainty, higher = less trustworthy. Non-finite values are mapped as in
/// specs/uq-methods.md §5 (+∞ → 1e7, −∞ and NaN → −1e7) and counted in the result's note.</param>
/// <param name="Confidence">The method's own confidence in [0, 1], or null when it has none (ECE and Brier then
/// do not apply).</param>
/// <param name="Correct">The judge's verdict (true = correct), or null when the sample could not be judged
/// (the sample is then left out, like a NaN label in §5).</param>
public sealed record EvaluationItem(double Uncertainty, double? Confidence, bool? Correct);

/// <summary>Settings of an evaluation (the recipe's <c>evaluation:</c> section).</summary>
public sealed record EvaluationOptions
{
    /// <summary>Number of bootstrap resamples B; 0 = no confidence intervals. Default 1000.</summary>
    public int BootstrapResamples { get; init; } = 1000;
    /// <summary>Coverage of the intervals, in (0, 1). Default 0.95.</summary>
    public double ConfidenceLevel { get; init; } = 0.95;
    /// <summary>Seed of the bootstrap resampling (<see cref="SplitMix64"/>). Default 0.</summary>
    public long Seed { get; init; }
    /// <summary>Number of equal-width ECE bins M ≥ 1. Default 20 (UQAC and LM-Polygraph).</summary>
    public int EceBins { get; init; } = 20;
    /// <summary>ECE bin-edge convention. Default <see cref="EceBinning.LeftClosed"/> (UQAC; spec §8.2).</summary>
    public EceBinning EceBinning { get; init; } = EceBinning.LeftClosed;
    /// <summary>AUARC definition. Default <see cref="AuarcVariant.LinTrapezoid"/> (spec §5.6).</summary>
    public AuarcVariant AuarcVariant { get; init; } = AuarcVariant.LinTrapezoid;
    /// <summary>Ties of the uncertainty in PRR and AUARC. Default <see cref="TieBreaking.Expected"/> (the exact expectation
    /// over tie orders); <see cref="TieBreaking.Stable"/> keeps the items' order.</summary>
    public TieBreaking Ties { get; init; } = TieBreaking.Expected;
    /// <summary>How intervals are read from the bootstrap replicates. Default <see cref="IntervalMethod.Centered"/> (the
    /// bias-centred percentile interval, which always holds the estimate); <see cref="IntervalMethod.Percentile"/> is the
    /// previous convention.</summary>
    public IntervalMethod Interval { get; init; } = IntervalMethod.Centered;
}

/// <summary>Whether a metric has a value.</summary>
public enum MetricStatus
{
    /// <summary>The metric was computed; <see cref="MetricResult.Value"/> is set.</summary>
    Ok,
    /// <summary>The inputs are degenerate for this metric (e.g. all answers correct for AUROC); the note says why.</summary>
    Undefined,
    /// <summary>The metric does not apply to this method (ECE/Brier for a method with no confidence).</summary>
    NotApplicable,
}

/// <summary>One metric of one method, with its bootstrap interval (<see cref="EvaluationOptions.Interval"/>).</summary>
/// <param name="Name">Metric name (<c>auroc</c>, <c>auprc</c>, <c>prr</c>, <c>prr50</c>, <c>ece</c>, <c>brier</c>, <c>auarc</c>).</param>
/// <param name="Status">Whether <paramref name="Value"/> is set.</param>
/// <param name="Value">The metric on all used samples; null unless <see cref="MetricStatus.Ok"/>. Never NaN, so it
/// serialises to JSON as is.</param>
/// <param name="Lower">Lower bound of the bootstrap interval, or null (no bootstrap, or no valid resample).</param>
/// <param name="Upper">Upper bound of the bootstrap interval, or null.</param>
/// <param name="Count">Number of samples the metric used.</param>
/// <param name="Note">Why the metric is undefined / not applicable, or a caveat (partial confidences, unnormalised
/// PRR, resamples left out of the interval, mapped non-finite uncertainties); null when there is nothing to say.</param>
public sealed record MetricResult(string Name, MetricStatus Status, double? Value, double? Lower, double? Upper, int Count, string? Note)
{
    /// <summary>The value, or NaN when there is none.</summary>
    public double ValueOrNaN => Value ?? double.NaN;
}

/// <summary>All requested metrics of one method.</summary>
/// <param name="Method">The method (estimator) name.</param>
/// <param name="Count">Number of judged samples (items with a non-null <see cref="EvaluationItem.Correct"/>).</param>
/// <param name="Unjudged">Number of items left out because they had no verdict.</param>
/// <param name="Accuracy">Fraction of judged samples that are correct, or null when none is judged.</param>
/// <param name="Metrics">Results by metric name, in the order requested.</param>
public sealed record MethodEvaluation(string Method, int Count, int Unjudged, double? Accuracy, IReadOnlyDictionary<string, MetricResult> Metrics);

/// <summary>
/// Computes the uncertainty-evaluation metrics of specs/uq-methods.md §5 for one method, with bootstrap intervals
/// (<see cref="Bootstrap"/>; bias-centred percentile by default, <see cref="IntervalMethod"/>). This is the entry point the runner calls once per estimator.
/// </summary>
/// <remarks>
/// <para>Metrics (all with labels = correctness, uncertainty higher = less trustworthy):</para>
/// <list type="bullet">
/// <item><c>auroc</c>: AUROC of <c>u</c> for detecting wrong answers (§5.1; LM-Polygraph/SAR orientation, equal to
/// UQAC's AUROC of <c>c = −u</c> for correct answers). Undefined when all answers are correct or all wrong.</item>
/// <item><c>auprc</c>: AUPRC-err, average precision with positive = wrong, score = <c>u</c> (§5.2). Undefined as AUROC.</item>
/// <item><c>prr</c>, <c>prr50</c>: PRR with ρ = 1 and ρ = 0.5 (§5.3). When all answers are correct or all wrong the
/// raw rejection area is reported with a note, as LM-Polygraph does.</item>
/// <item><c>ece</c>, <c>brier</c>: on the method's confidence (§5.4, §5.5); <see cref="MetricStatus.NotApplicable"/>
/// when no sample has one (no confidence is ever derived from <c>u</c>); computed on the samples that have one when
/// only some do (noted); <see cref="MetricStatus.Undefined"/> when a confidence lies outside [0, 1].</item>
/// <item><c>auarc</c>: area under the accuracy–rejection curve (§5.6, Lin trapezoid by default).</item>
/// <item>PRR and AUARC with tied uncertainties: the exact expectation over the orders of each tied block by default
/// (<see cref="EvaluationOptions.Ties"/>, <see cref="TieBreaking"/>).</item>
/// </list>
/// <para>Degenerate inputs never throw: no judged samples makes every metric <see cref="MetricStatus.Undefined"/>.
/// Bootstrap resamples on which a metric is undefined (e.g. one class only) are left out of its interval, and
/// the note says how many.</para>
/// </remarks>
public static class EvaluationSuite
{
    /// <summary>The metric names understood by <see cref="Evaluate"/> (recipe key <c>evaluation.metrics</c>).</summary>
    public static IReadOnlyList<string> MetricNames { get; } = ["auroc", "auprc", "prr", "prr50", "ece", "brier", "auarc"];

    /// <summary>Evaluates one method.</summary>
    /// <param name="method">Method name, copied into the result.</param>
    /// <param name="items">One item per sample, in a fixed order (the bootstrap resamples by position, and with
    /// <see cref="TieBreaking.Stable"/> the order breaks ties in PRR/AUARC): the runner passes dataset order.</param>
    /// <param name="metrics">Metric names from <see cref="MetricNames"/> (case-insensitive; duplicates ignored).</param>
    /// <param name="options">Bootstrap and binning settings; null = defaults.</param>
    /// <returns>The metrics, each with value, interval and note.</returns>
    /// <exception cref="ArgumentException">An unknown metric name, or invalid options (B &lt; 0, level outside (0, 1), bins &lt; 1).</exception>
    public static MethodEvaluation Evaluate(string method, IReadOnlyList<EvaluationItem> items, IEnumerable<string> metrics, EvaluationOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(items);
        ArgumentNullException.ThrowIfNull(metrics);
        options ??= new EvaluationOptions();
        if (options.BootstrapResamples < 0) throw new ArgumentException($"bootstrap resamples must be ≥ 0 (got {options.BootstrapResamples})", nameof(options));
        Bootstrap.CheckLevel(options.ConfidenceLevel);
        if (options.EceBins < 1) throw new ArgumentException($"ECE needs at least 1 bin (got {options.EceBins})", nameof(options));

        var names = new List<string>();
        foreach (var raw in metrics)
        {
            var name = (raw ?? "").Trim().ToLowerInvariant();
            if (!MetricNames.Contains(name))
                throw new ArgumentException($"unknown evaluation metric '{raw}' (known: {string.Join(", ", MetricNames)})", nameof(metrics));
            if (!names.Contains(name)) names.Add(name);
        }

        var judged = items.Where(i => i.Correct is not null).ToArray();
        var u = judged.Select(i => UncertaintyMetrics.SanitizeScore(i.Uncertainty)).ToArray();
        var a = judged.Select(i => i.Correct == true ? 1.0 : 0.0).ToArray();
        var nonFinite = judged.Count(i => !double.IsFinite(i.Uncertainty));
        var data = new Data(u, a, judged.Select(i => i.Confidence).ToArray(), nonFinite);

        var results = new Dictionary<string, MetricResult>(StringComparer.Ordinal);
        foreach (var name in names) results[name] = Compute(name, data, options);
        double? accuracy = a.Length == 0 ? null : a.Average();
        return new MethodEvaluation(method, judged.Length, items.Count - judged.Length, accuracy, results);
    }

    private sealed record Data(double[] U, double[] A, double?[] C, int NonFinite);

    private static MetricResult Compute(string name, Data d, EvaluationOptions o)
    {
        var n = d.U.Length;
        if (n == 0) return new MetricResult(name, MetricStatus.Undefined, null, null, null, 0, "no judged samples");
        var mapped = d.NonFinite > 0 && name is not ("ece" or "brier")
            ? $"{d.NonFinite} non-finite uncertainties mapped to ±1e7 (spec §5)" : null;

        switch (name)
        {
            case "auroc":
            case "auprc":
            {
                Func<double[], double[], double> f = name == "auroc"
                    ? (u, a) => UncertaintyMetrics.AurocCore(u, a.Select(x => x == 0).ToArray())
                    : (u, a) => UncertaintyMetrics.AveragePrecisionCore(u, a.Select(x => x == 0).ToArray());
                var correct = (int)d.A.Sum();
                if (correct == 0 || correct == n)
                    return new MetricResult(name, MetricStatus.Undefined, null, null, null, n,
                        Join($"all {n} judged samples are {(correct == 0 ? "wrong" : "correct")}; {name.ToUpperInvariant()} needs both correct and wrong answers", mapped));
                return WithInterval(name, f(d.U, d.A), n, idx => f(Pick(d.U, idx), Pick(d.A, idx)), o, mapped);
            }
            case "prr":
            case "prr50":
            {
                var rho = name == "prr" ? 1.0 : 0.5;
                var full = UncertaintyMetrics.PrrCore(d.U, d.A, rho, o.Ties);
                if (double.IsNaN(full.Value))
                    return new MetricResult(name, MetricStatus.Undefined, null, null, null, n, Join($"⌊ρN⌋ = 0 rejected samples for N = {n}", mapped));
                string? note = full.Normalized ? null
                    : "all judged samples have the same label, so oracle = random: raw rejection area reported, not a ratio (LM-Polygraph normalize_metric)";
                return WithInterval(name, full.Value, n, idx =>
                {
                    var r = UncertaintyMetrics.PrrCore(Pick(d.U, idx), Pick(d.A, idx), rho, o.Ties);
                    return r.Normalized == full.Normalized ? r.Value : double.NaN;
                }, o, Join(note, mapped));
            }
            case "auarc":
            {
                var v = UncertaintyMetrics.AuarcCore(d.U, d.A, o.AuarcVariant, o.Ties);
                if (double.IsNaN(v))
                    return new MetricResult(name, MetricStatus.Undefined, null, null, null, n, Join("the trapezoidal AUARC needs at least 2 samples", mapped));
                return WithInterval(name, v, n, idx => UncertaintyMetrics.AuarcCore(Pick(d.U, idx), Pick(d.A, idx), o.AuarcVariant, o.Ties), o, mapped);
            }
            case "ece":
            case "brier":
            {
                var withC = Enumerable.Range(0, n).Where(i => d.C[i] is not null).ToArray();
                if (withC.Length == 0)
                    return new MetricResult(name, MetricStatus.NotApplicable, null, null, null, 0, "the method reports no confidence in [0, 1]");
                var c = withC.Select(i => d.C[i]!.Value).ToArray();
                var a = withC.Select(i => d.A[i]).ToArray();
                var bad = Array.FindIndex(c, x => !(x >= 0 && x <= 1));
                if (bad >= 0)
                    return new MetricResult(name, MetricStatus.Undefined, null, null, null, withC.Length,
                        string.Create(CultureInfo.InvariantCulture, $"confidence {c[bad]} of judged sample {withC[bad]} is outside [0, 1] (spec §5.4 requires a calibrated confidence)"));
                Func<double[], double[], double> f = name == "ece"
                    ? (cc, aa) => UncertaintyMetrics.EceCore(cc, aa, o.EceBins, o.EceBinning)
                    : UncertaintyMetrics.BrierCore;
                var partial = withC.Length < n ? $"computed on the {withC.Length} of {n} judged samples that report a confidence" : null;
                return WithInterval(name, f(c, a), withC.Length, idx => f(Pick(c, idx), Pick(a, idx)), o, partial);
            }
            default:
                throw new InvalidOperationException($"metric '{name}' has no implementation");
        }
    }

    private static MetricResult WithInterval(string name, double value, int n, Func<int[], double> statistic, EvaluationOptions o, string? note)
    {
        if (o.BootstrapResamples == 0) return new MetricResult(name, MetricStatus.Ok, value, null, null, n, note);
        // PRR is at most 1 (and has no lower bound); every other metric lies in [0, 1].
        (double, double) bounds = name is "prr" or "prr50" ? (double.NegativeInfinity, 1) : (0, 1);
        var ci = Bootstrap.Interval(n, statistic, value, o.Interval, o.BootstrapResamples, o.ConfidenceLevel, o.Seed, bounds);
        if (ci.Valid < ci.Resamples)
            note = Join(note, $"interval from {ci.Valid} of {ci.Resamples} resamples (the metric is undefined on the rest)");
        var alpha = (1 - o.ConfidenceLevel) / 2;
        if (ci.Valid > 0 && (ci.ShareBelow < alpha || ci.ShareBelow > 1 - alpha))
        {
            var side = ci.ShareBelow < alpha ? "below" : "above";
            var share = Math.Max(ci.ShareBelow, 1 - ci.ShareBelow);
            var tail = o.Interval == IntervalMethod.Centered ? "; the bias-centred interval is shown" : "";
            note = Join(note, string.Create(CultureInfo.InvariantCulture,
                $"biased on resamples: the value lies {side} {share:P1} of its bootstrap replicates (median {ci.Median:0.####}), outside their percentile interval{tail}"));
        }
        return ci.Valid == 0
            ? new MetricResult(name, MetricStatus.Ok, value, null, null, n, note)
            : new MetricResult(name, MetricStatus.Ok, value, ci.Lower, ci.Upper, n, note);
    }

    private static double[] Pick(double[] x, int[] idx)
    {
        var r = new double[idx.Length];
        for (var i = 0; i < idx.Length; i++) r[i] = x[idx[i]];
        return r;
    }

    private static string? Join(string? a, string? b) => a is null ? b : b is null ? a : a + "; " + b;
}
