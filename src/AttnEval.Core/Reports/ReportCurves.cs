using System.Text.Json.Nodes;
using AttnEval.Core.Evaluation;

namespace AttnEval.Core.Reports;

/// <summary>A point of a curve.</summary>
/// <param name="X">Abscissa (a rate in [0, 1]).</param>
/// <param name="Y">Ordinate (a rate in [0, 1]).</param>
public readonly record struct CurvePoint(double X, double Y);

/// <summary>One equal-width confidence bin of a reliability diagram (specs/uq-methods.md §5.4).</summary>
/// <param name="Lower">Bin's lower edge b/M.</param>
/// <param name="Upper">Bin's upper edge (b+1)/M.</param>
/// <param name="Count">Number of samples whose confidence falls in it (≥ 1: empty bins are left out).</param>
/// <param name="MeanConfidence">Mean confidence of those samples.</param>
/// <param name="Accuracy">Fraction of them that are correct.</param>
public sealed record ReliabilityBin(double Lower, double Upper, int Count, double MeanConfidence, double Accuracy);

/// <summary>The curves the report draws for one method.</summary>
/// <param name="Method">Estimator name.</param>
/// <param name="Count">Judged samples with a value for the method.</param>
/// <param name="Roc">ROC curve for detecting wrong answers (empty when all samples have the same verdict).</param>
/// <param name="Reliability">Reliability bins of the method's confidence, or null when it reports none.</param>
/// <param name="AccuracyRejection">Accuracy–rejection curve (empty with fewer than 2 samples).</param>
public sealed record MethodCurves(string Method, int Count, IReadOnlyList<CurvePoint> Roc, IReadOnlyList<ReliabilityBin>? Reliability, IReadOnlyList<CurvePoint> AccuracyRejection)
{
    /// <summary>Equal-count reliability bins of the method's confidence (<see cref="ReportCurves.AdaptiveReliability"/>), the
    /// ones the report draws; null when it reports no confidence.</summary>
    public IReadOnlyList<ReliabilityBin>? AdaptiveReliability { get; init; }

    /// <summary>The method's confidences (those in [0, 1]), for the histogram under the reliability diagram; null when it
    /// reports none.</summary>
    public IReadOnlyList<double>? Confidences { get; init; }
}

/// <summary>
/// The data behind the report's figures, computed from <c>samples.jsonl</c> records exactly as <c>summary.json</c> is, so a
/// curve's area is the number in the method table: the trapezoidal area under <see cref="Roc"/> is the AUROC of §5.1, the
/// reliability bins give the ECE of §5.4, and the trapezoidal area under <see cref="AccuracyRejection"/> is Lin's AUARC of §5.6
/// (specs/uq-methods.md).
/// </summary>
public static class ReportCurves
{
    /// <summary>The evaluated items of one method, in dataset order (<see cref="Running.RunSummary.DatasetOrder"/>, never
    /// line order): judged records (with <c>correct</c>) that have <c>metrics.&lt;method&gt;.uncertainty</c> (the selection
    /// of <see cref="Running.RunSummary"/>).</summary>
    public static IReadOnlyList<EvaluationItem> Items(IReadOnlyList<JsonObject> records, string method)
    {
        ArgumentNullException.ThrowIfNull(records);
        return Running.RunSummary.DatasetOrder(records)
            .Where(r => r["correct"] is JsonValue && r["metrics"]?[method]?["uncertainty"] is JsonValue)
            .Select(r => new EvaluationItem((double)r["metrics"]![method]!["uncertainty"]!, (double?)r["metrics"]![method]!["confidence"], (bool)r["correct"]!))
            .ToList();
    }

    /// <summary>
    /// ROC curve of the uncertainty for detecting wrong answers (positive = wrong, score = u; §5.1): points (FPR, TPR) from
    /// (0, 0) to (1, 1), one per distinct score in descending order, so tied scores make one diagonal segment (the ½ rule of
    /// the mid-rank AUROC). Non-finite scores are mapped as in §5.
    /// </summary>
    /// <param name="uncertainty">One score per sample.</param>
    /// <param name="correct">Verdicts, same length.</param>
    /// <returns>The points, or an empty list when there are no wrong or no correct answers.</returns>
    /// <exception cref="ArgumentException">Different lengths.</exception>
    public static IReadOnlyList<CurvePoint> Roc(IReadOnlyList<double> uncertainty, IReadOnlyList<bool> correct)
    {
        Check(uncertainty, correct);
        int pos = correct.Count(c => !c), neg = correct.Count - pos;
        if (pos == 0 || neg == 0) return [];
        var order = Enumerable.Range(0, uncertainty.Count).Select(i => (U: UncertaintyMetrics.SanitizeScore(uncertainty[i]), Wrong: !correct[i]))
            .OrderByDescending(x => x.U).ToArray();
        var points = new List<CurvePoint> { new(0, 0) };
        int tp = 0, fp = 0;
        for (var i = 0; i < order.Length; i++)
        {
            if (order[i].Wrong) tp++; else fp++;
            if (i == order.Length - 1 || order[i + 1].U != order[i].U) points.Add(new((double)fp / neg, (double)tp / pos));
        }
        return points;
    }

    /// <summary>
    /// Reliability diagram of a confidence: M equal-width bins with the edge convention of <see cref="EceBinning"/>; each
    /// non-empty bin's mean confidence and accuracy. <c>Σ_b (n_b/N)·|acc_b − conf_b|</c> over these bins is the ECE.
    /// </summary>
    /// <param name="confidence">Confidences in [0, 1].</param>
    /// <param name="correct">Verdicts, same length.</param>
    /// <param name="bins">M ≥ 1 (the run's <c>evaluation.ece_bins</c>).</param>
    /// <param name="binning">Edge convention (default left-closed, as the evaluation).</param>
    /// <exception cref="ArgumentException">Different lengths, M &lt; 1, or a confidence outside [0, 1].</exception>
    public static IReadOnlyList<ReliabilityBin> Reliability(IReadOnlyList<double> confidence, IReadOnlyList<bool> correct, int bins = 20, EceBinning binning = EceBinning.LeftClosed)
    {
        Check(confidence, correct);
        if (bins < 1) throw new ArgumentException($"a reliability diagram needs at least 1 bin (got {bins})", nameof(bins));
        var count = new int[bins];
        var sumC = new double[bins];
        var sumA = new double[bins];
        for (var i = 0; i < confidence.Count; i++)
        {
            var c = confidence[i];
            if (!(c >= 0 && c <= 1)) throw new ArgumentException($"confidence {c} of item {i} is outside [0, 1]", nameof(confidence));
            var b = UncertaintyMetrics.BinOf(c, bins, binning);
            count[b]++;
            sumC[b] += c;
            sumA[b] += correct[i] ? 1 : 0;
        }
        return Enumerable.Range(0, bins).Where(b => count[b] > 0)
            .Select(b => new ReliabilityBin((double)b / bins, (double)(b + 1) / bins, count[b], sumC[b] / count[b], sumA[b] / count[b]))
            .ToList();
    }

    /// <summary>
    /// Reliability diagram with equal-count (adaptive) bins: the samples sorted by confidence and cut into
    /// <c>B = clamp(N / minPerBin, 1, maxBins)</c> groups of nearly equal size, a cut moved forward past tied confidences so
    /// that equal confidences share a bin; each bin's range of confidences, count, mean confidence and accuracy. Unlike the
    /// equal-width bins of the ECE, no bin is nearly empty, so the accuracy of each point rests on about N/B answers.
    /// </summary>
    /// <param name="confidence">Confidences in [0, 1].</param>
    /// <param name="correct">Verdicts, same length.</param>
    /// <param name="maxBins">Most bins (≥ 1).</param>
    /// <param name="minPerBin">Fewest samples a bin should have (≥ 1); fewer samples than that make one bin.</param>
    /// <returns>The bins in increasing confidence; empty when there are no samples.</returns>
    /// <exception cref="ArgumentException">Different lengths, a bound below 1, or a confidence outside [0, 1].</exception>
    public static IReadOnlyList<ReliabilityBin> AdaptiveReliability(IReadOnlyList<double> confidence, IReadOnlyList<bool> correct, int maxBins = 10, int minPerBin = 20)
    {
        Check(confidence, correct);
        if (maxBins < 1 || minPerBin < 1) throw new ArgumentException($"adaptive bins need maxBins ≥ 1 and minPerBin ≥ 1 (got {maxBins}, {minPerBin})", nameof(maxBins));
        var n = confidence.Count;
        for (var i = 0; i < n; i++)
            if (!(confidence[i] >= 0 && confidence[i] <= 1)) throw new ArgumentException($"confidence {confidence[i]} of item {i} is outside [0, 1]", nameof(confidence));
        var order = Enumerable.Range(0, n).OrderBy(i => confidence[i]).ToArray();
        var bins = Math.Clamp(n / minPerBin, 1, maxBins);
        var result = new List<ReliabilityBin>();
        var start = 0;
        for (var b = 1; b <= bins && start < n; b++)
        {
            var end = b == bins ? n : Math.Max(start + 1, (int)Math.Round((double)n * b / bins));
            while (end < n && confidence[order[end]] == confidence[order[end - 1]]) end++;
            var items = order[start..end];
            result.Add(new ReliabilityBin(confidence[items[0]], confidence[items[^1]], items.Length,
                items.Average(i => confidence[i]), items.Count(i => correct[i]) / (double)items.Length));
            start = end;
        }
        return result;
    }

    /// <summary>
    /// Accuracy–rejection curve (§5.6): samples sorted by u ascending; keeping the m most confident, accuracy acc(m) — with
    /// tied uncertainties its expectation over the orders of each tied block (<see cref="TieBreaking.Expected"/>, as the
    /// evaluation's default) or the value for ties in input order (<see cref="TieBreaking.Stable"/>) — drawn at rejection rate <c>(N − m)/(N − 1)</c> (Lin's grid read from the other end),
    /// m = N … 1, so the curve spans [0, 1] and its trapezoidal area is Lin's AUARC.
    /// </summary>
    /// <returns>N points from rejection 0 to 1, or an empty list when N &lt; 2.</returns>
    /// <exception cref="ArgumentException">Different lengths.</exception>
    public static IReadOnlyList<CurvePoint> AccuracyRejection(IReadOnlyList<double> uncertainty, IReadOnlyList<bool> correct, TieBreaking ties = TieBreaking.Expected)
    {
        Check(uncertainty, correct);
        var n = uncertainty.Count;
        if (n < 2) return [];
        var prefix = UncertaintyMetrics.PrefixSums(uncertainty.Select(UncertaintyMetrics.SanitizeScore).ToArray(), correct.Select(c => c ? 1.0 : 0.0).ToArray(), ties);
        var acc = new double[n + 1];
        for (var m = 1; m <= n; m++) acc[m] = prefix[m - 1] / m;
        return Enumerable.Range(0, n).Select(j => new CurvePoint((double)j / (n - 1), acc[n - j])).ToList();
    }

    /// <summary>The curves of every method in the summary (in its order), from the records.</summary>
    /// <param name="summary">Parsed <c>summary.json</c> (its <c>methods</c>, <c>ece_bins</c> and <c>ties</c>; a summary without
    /// <c>ties</c> predates the option and was computed with stable ties).</param>
    /// <param name="records">Parsed <c>samples.jsonl</c>.</param>
    public static IReadOnlyList<MethodCurves> FromRun(JsonObject summary, IReadOnlyList<JsonObject> records)
    {
        ArgumentNullException.ThrowIfNull(summary);
        var bins = (int?)summary["ece_bins"] ?? 20;
        var ties = Recipes.RecipeNames.ParseTieBreaking((string?)summary["ties"]) ?? TieBreaking.Stable;
        var result = new List<MethodCurves>();
        foreach (var (method, _) in summary["methods"]?.AsObject() ?? [])
        {
            var items = Items(records, method);
            var u = items.Select(i => i.Uncertainty).ToArray();
            var a = items.Select(i => i.Correct == true).ToArray();
            var withC = items.Where(i => i.Confidence is >= 0 and <= 1).ToArray();
            var conf = withC.Select(i => i.Confidence!.Value).ToArray();
            var right = withC.Select(i => i.Correct == true).ToArray();
            var rel = withC.Length == 0 ? null : Reliability(conf, right, bins);
            result.Add(new MethodCurves(method, items.Count, Roc(u, a), rel, AccuracyRejection(u, a, ties))
            {
                AdaptiveReliability = withC.Length == 0 ? null : AdaptiveReliability(conf, right),
                Confidences = withC.Length == 0 ? null : conf,
            });
        }
        return result;
    }

    /// <summary>Trapezoidal area under a curve given in increasing X.</summary>
    public static double Area(IReadOnlyList<CurvePoint> points)
    {
        ArgumentNullException.ThrowIfNull(points);
        double s = 0;
        for (var i = 1; i < points.Count; i++) s += (points[i].X - points[i - 1].X) * (points[i].Y + points[i - 1].Y) / 2;
        return s;
    }

    private static void Check<T>(IReadOnlyList<T> values, IReadOnlyList<bool> correct)
    {
        ArgumentNullException.ThrowIfNull(values);
        ArgumentNullException.ThrowIfNull(correct);
        if (values.Count != correct.Count) throw new ArgumentException($"{values.Count} values but {correct.Count} verdicts", nameof(correct));
    }
}
