using AttnEval.Plugins.Sdk;

namespace AttnEval.Core.Evaluation;

/// <summary>
/// Uncertainty-evaluation metrics exactly as specs/uq-methods.md §5 defines them: AUROC (§5.1), average
/// precision (§5.2), PRR and PRR@ρ (§5.3, LM-Polygraph definition), ECE (§5.4), Brier (§5.5) and AUARC (§5.6).
/// </summary>
/// <remarks>
/// <para><b>Orientation.</b> An uncertainty <c>u</c> is higher = less trustworthy. A label is correctness:
/// 1 = correct, 0 = wrong (some metrics also accept a quality in [0, 1]). A confidence <c>c</c> is a
/// probability-like value in [0, 1], higher = more trustworthy.</para>
/// <para><b>Input policy</b> (§5, LM-Polygraph <c>manager.py: _delete_nans</c>): items whose label is NaN are
/// dropped; a score (uncertainty) of +∞ becomes 1e7, −∞ becomes −1e7 and NaN becomes −1e7 (see
/// <see cref="SanitizeScore"/>). Confidences for ECE/Brier are not sanitised: they must lie in [0, 1].</para>
/// <para><b>Errors vs. NaN.</b> Malformed inputs (null, lists of different lengths, a label outside [0, 1] or not
/// 0/1 where a binary label is required, a confidence outside [0, 1] or NaN, a bin count below 1, ρ outside
/// (0, 1]) throw <see cref="ArgumentException"/>. Statistically degenerate but well-formed inputs return
/// <see cref="double.NaN"/>: no items left after dropping NaN labels (every metric), only one class present
/// (AUROC, AP), fewer than 2 items (Lin AUARC) or ⌊ρN⌋ = 0 (PRR). PRR with all qualities equal follows
/// LM-Polygraph and returns the raw area, flagged in <see cref="PrrResult.Normalized"/>.</para>
/// <para>Ties: AUROC averages them (mid-ranks, ½ per tied pair); AP lets tied items enter together; PRR and AUARC
/// order by <c>u</c> ascending and, by default, take the exact expectation over the orders of each tied block
/// (<see cref="TieBreaking.Expected"/>), so no tie order is favoured; <see cref="TieBreaking.Stable"/> keeps ties in
/// input order (spec §5.3 as written, the previous behaviour).</para>
/// </remarks>
public static class UncertaintyMetrics
{
    /// <summary>The finite value that replaces ±∞ (and, negated, NaN) in scores (spec §5).</summary>
    public const double InfinityReplacement = 1e7;

    /// <summary>Maps a score to a finite value per spec §5: +∞ → 1e7, −∞ → −1e7, NaN → −1e7; other values unchanged.</summary>
    public static double SanitizeScore(double score) =>
        double.IsNaN(score) || double.IsNegativeInfinity(score) ? -InfinityReplacement :
        double.IsPositiveInfinity(score) ? InfinityReplacement : score;

    /// <summary>
    /// Area under the ROC curve of <paramref name="scores"/> for detecting the items flagged in
    /// <paramref name="positive"/> (spec §5.1): <c>(R₊ − n₊(n₊+1)/2) / (n₊ n₋)</c> with mid-ranks, so tied
    /// positive/negative pairs count ½ (equals sklearn <c>roc_auc_score</c>; Hanley &amp; McNeil 1982). Range [0, 1].
    /// Computed by the plugin SDK's <see cref="Ranking.Auroc"/> after sanitising, so plugins get the same numbers.
    /// </summary>
    /// <param name="scores">One score per item, higher = more likely positive; non-finite values are sanitised.</param>
    /// <param name="positive">Class of each item.</param>
    /// <returns>The AUROC, or NaN when there are no items or only one class.</returns>
    /// <exception cref="ArgumentException">Null inputs or different lengths.</exception>
    public static double Auroc(IReadOnlyList<double> scores, IReadOnlyList<bool> positive)
    {
        CheckLengths(scores, positive, nameof(positive));
        return AurocCore(scores.Select(SanitizeScore).ToArray(), positive.ToArray());
    }

    /// <summary>
    /// Average precision (non-interpolated; sklearn ≥ 0.19 <c>average_precision_score</c>, spec §5.2):
    /// over distinct thresholds in descending order, <c>AP = Σ_n (R_n − R_{n−1}) P_n</c>, all items tied at a
    /// threshold entering together. Range [0, 1].
    /// </summary>
    /// <param name="scores">One score per item, higher = more likely positive; non-finite values are sanitised.</param>
    /// <param name="positive">Class of each item.</param>
    /// <returns>The AP, or NaN when there are no items or only one class (with no negatives AP would be 1 for any scores).</returns>
    /// <exception cref="ArgumentException">Null inputs or different lengths.</exception>
    public static double AveragePrecision(IReadOnlyList<double> scores, IReadOnlyList<bool> positive)
    {
        CheckLengths(scores, positive, nameof(positive));
        return AveragePrecisionCore(scores.Select(SanitizeScore).ToArray(), positive.ToArray());
    }

    /// <summary>
    /// AUROC of the uncertainty for detecting errors (spec §5.1, error-detection convention of SAR and
    /// LM-Polygraph: positive = wrong, score = <c>u</c>). Equal to the correct-detection AUROC of <c>c = −u</c>
    /// (UQAC convention). 1 = every wrong answer is more uncertain than every correct one; 0.5 = chance.
    /// </summary>
    /// <param name="uncertainty">One uncertainty per item (higher = less trustworthy).</param>
    /// <param name="correct">Labels 1 (correct) / 0 (wrong); NaN labels drop the item.</param>
    /// <returns>AUROC in [0, 1], or NaN when no items remain or all are correct / all wrong.</returns>
    /// <exception cref="ArgumentException">Different lengths, or a label other than 0, 1 or NaN.</exception>
    public static double AurocError(IReadOnlyList<double> uncertainty, IReadOnlyList<double> correct)
    {
        var (u, a) = Prepare(uncertainty, correct, binary: true);
        return AurocCore(u, a.Select(x => x == 0).ToArray());
    }

    /// <summary>
    /// AUPRC-err (spec §5.2 default): average precision of the uncertainty with positive = wrong, score = <c>u</c>.
    /// The chance level is the error rate.
    /// </summary>
    /// <param name="uncertainty">One uncertainty per item (higher = less trustworthy).</param>
    /// <param name="correct">Labels 1 (correct) / 0 (wrong); NaN labels drop the item.</param>
    /// <returns>AP in [0, 1], or NaN when no items remain or only one class is present.</returns>
    /// <exception cref="ArgumentException">Different lengths, or a label other than 0, 1 or NaN.</exception>
    public static double AuprcError(IReadOnlyList<double> uncertainty, IReadOnlyList<double> correct)
    {
        var (u, a) = Prepare(uncertainty, correct, binary: true);
        return AveragePrecisionCore(u, a.Select(x => x == 0).ToArray());
    }

    /// <summary>
    /// AUPRC-corr (spec §5.2, optional): average precision with positive = correct, score = <c>−u</c>
    /// (i.e. a confidence). The chance level is the accuracy.
    /// </summary>
    /// <param name="uncertainty">One uncertainty per item (higher = less trustworthy); the score used is its negation.</param>
    /// <param name="correct">Labels 1 (correct) / 0 (wrong); NaN labels drop the item.</param>
    /// <returns>AP in [0, 1], or NaN when no items remain or only one class is present.</returns>
    /// <exception cref="ArgumentException">Different lengths, or a label other than 0, 1 or NaN.</exception>
    public static double AuprcCorrect(IReadOnlyList<double> uncertainty, IReadOnlyList<double> correct)
    {
        var (u, a) = Prepare(uncertainty, correct, binary: true);
        return AveragePrecisionCore(u.Select(x => -x).ToArray(), a.Select(x => x == 1).ToArray());
    }

    /// <summary>
    /// Prediction–rejection ratio, LM-Polygraph definition (spec §5.3; <c>ue_metrics/pred_rej_area.py</c>).
    /// Qualities are min–max normalised to q̃ (all 0.5 when max = min); items are ordered by <c>u</c> ascending
    /// (ties per <paramref name="ties"/>); <c>A(u) = (1/n_rej) Σ_{m=N−n_rej+1}^{N} mean(q̃ of the m most confident)</c>
    /// with <c>n_rej = ⌊ρN⌋</c>; oracle <c>A(−q)</c>; random baseline the exact expectation <c>mean(q̃)</c>
    /// (LM-Polygraph estimates it with 1000 permutations); <c>PRR = (A − A_rnd)/(A_orc − A_rnd)</c>.
    /// </summary>
    /// <param name="uncertainty">One uncertainty per item (higher = less trustworthy).</param>
    /// <param name="quality">Correctness 0/1 or a quality in [0, 1]; NaN drops the item.</param>
    /// <param name="maxRejection">ρ in (0, 1]: 1 for PRR, 0.5 for PRR@50.</param>
    /// <param name="ties">Items with equal <c>u</c>: <see cref="TieBreaking.Expected"/> (default) averages the area over every
    /// order of each tied block (closed form, see <see cref="TieBreaking"/>); <see cref="TieBreaking.Stable"/> keeps input order.</param>
    /// <returns>The PRR and its parts; all NaN when no item remains or ⌊ρN⌋ = 0. PRR is 1 for the oracle order,
    /// ≈ 0 for random, negative when worse than random.</returns>
    /// <exception cref="ArgumentException">Different lengths, a quality outside [0, 1], or ρ outside (0, 1].</exception>
    public static PrrResult Prr(IReadOnlyList<double> uncertainty, IReadOnlyList<double> quality, double maxRejection = 1.0, TieBreaking ties = TieBreaking.Expected)
    {
        CheckRejection(maxRejection);
        var (u, q) = Prepare(uncertainty, quality, binary: false);
        return PrrCore(u, q, maxRejection, ties);
    }

    /// <summary>
    /// Area under the accuracy–rejection (coverage) curve (spec §5.6). Items are ordered by <c>u</c> ascending
    /// and <c>acc(m)</c> is the mean label of the m most confident (its expectation over the orders of tied blocks by
    /// default, see <see cref="TieBreaking"/>). Range [0, 1]; an all-correct set gives 1, an all-wrong set 0.
    /// </summary>
    /// <param name="uncertainty">One uncertainty per item (higher = less trustworthy).</param>
    /// <param name="correct">Labels 0/1 (or qualities in [0, 1]); NaN drops the item.</param>
    /// <param name="variant"><see cref="AuarcVariant.LinTrapezoid"/> (default) or <see cref="AuarcVariant.Step"/>.</param>
    /// <param name="ties">Items with equal <c>u</c>: <see cref="TieBreaking.Expected"/> (default) or <see cref="TieBreaking.Stable"/>.</param>
    /// <returns>The area, or NaN when no items remain (or fewer than 2 for the trapezoid).</returns>
    /// <exception cref="ArgumentException">Different lengths or a label outside [0, 1].</exception>
    public static double Auarc(IReadOnlyList<double> uncertainty, IReadOnlyList<double> correct, AuarcVariant variant = AuarcVariant.LinTrapezoid, TieBreaking ties = TieBreaking.Expected)
    {
        var (u, a) = Prepare(uncertainty, correct, binary: false);
        return AuarcCore(u, a, variant, ties);
    }

    /// <summary>
    /// Expected calibration error with <paramref name="bins"/> equal-width bins on [0, 1] (spec §5.4):
    /// <c>ECE = Σ_b (|B_b|/N) · |mean_{B_b} a − mean_{B_b} c|</c>, empty bins skipped. Range [0, 1].
    /// </summary>
    /// <param name="confidence">One confidence per item, each in [0, 1] (higher = more likely correct).</param>
    /// <param name="correct">Labels 0/1 (or qualities in [0, 1], as LM-Polygraph accepts); NaN drops the item.</param>
    /// <param name="bins">Number of bins M ≥ 1; 20 in both UQAC and LM-Polygraph.</param>
    /// <param name="binning">Edge convention; default <see cref="EceBinning.LeftClosed"/> (UQAC). Use
    /// <see cref="EceBinning.RightClosed"/> for LM-Polygraph parity.</param>
    /// <returns>The ECE, or NaN when no items remain.</returns>
    /// <exception cref="ArgumentException">Different lengths, a label outside [0, 1], a confidence outside [0, 1] or
    /// NaN, or <paramref name="bins"/> &lt; 1.</exception>
    public static double Ece(IReadOnlyList<double> confidence, IReadOnlyList<double> correct, int bins = 20, EceBinning binning = EceBinning.LeftClosed)
    {
        if (bins < 1) throw new ArgumentException($"ECE needs at least 1 bin (got {bins})", nameof(bins));
        var (c, a) = PrepareConfidence(confidence, correct);
        return EceCore(c, a, bins, binning);
    }

    /// <summary>Brier score <c>(1/N) Σ (c_i − a_i)²</c> (spec §5.5; sklearn <c>brier_score_loss</c>). Range [0, 1], lower is better.</summary>
    /// <param name="confidence">One confidence per item, each in [0, 1].</param>
    /// <param name="correct">Labels 0/1 (or qualities in [0, 1]); NaN drops the item.</param>
    /// <returns>The Brier score, or NaN when no items remain.</returns>
    /// <exception cref="ArgumentException">Different lengths, a label outside [0, 1], or a confidence outside [0, 1] or NaN.</exception>
    public static double Brier(IReadOnlyList<double> confidence, IReadOnlyList<double> correct)
    {
        var (c, a) = PrepareConfidence(confidence, correct);
        return BrierCore(c, a);
    }

    // ---------------------------------------------------------------- input checks

    private static void CheckLengths<T1, T2>(IReadOnlyList<T1> x, IReadOnlyList<T2> y, string yName)
    {
        ArgumentNullException.ThrowIfNull(x);
        ArgumentNullException.ThrowIfNull(y, yName);
        if (x.Count != y.Count)
            throw new ArgumentException($"scores and labels must have the same length (got {x.Count} and {y.Count})", yName);
    }

    internal static void CheckRejection(double maxRejection)
    {
        if (!(maxRejection > 0 && maxRejection <= 1))
            throw new ArgumentException($"max rejection ρ must be in (0, 1] (got {maxRejection})", nameof(maxRejection));
    }

    internal static void CheckLabel(double label, int index, bool binary)
    {
        if (binary ? label is not (0 or 1) : !(label >= 0 && label <= 1))
            throw new ArgumentException(binary
                ? $"label {index} is {label}; this metric needs correctness labels 0 (wrong) or 1 (correct)"
                : $"label {index} is {label}; labels must be correctness 0/1 or a quality in [0, 1]");
    }

    internal static void CheckConfidence(double confidence, int index)
    {
        if (!(confidence >= 0 && confidence <= 1))
            throw new ArgumentException($"confidence {index} is {confidence}; ECE and Brier need confidences in [0, 1] (spec §5.4)");
    }

    private static (double[] Scores, double[] Labels) Prepare(IReadOnlyList<double> scores, IReadOnlyList<double> labels, bool binary)
    {
        CheckLengths(scores, labels, nameof(labels));
        var s = new List<double>(scores.Count);
        var a = new List<double>(scores.Count);
        for (var i = 0; i < scores.Count; i++)
        {
            if (double.IsNaN(labels[i])) continue;
            CheckLabel(labels[i], i, binary);
            s.Add(SanitizeScore(scores[i]));
            a.Add(labels[i]);
        }
        return (s.ToArray(), a.ToArray());
    }

    private static (double[] Confidence, double[] Labels) PrepareConfidence(IReadOnlyList<double> confidence, IReadOnlyList<double> labels)
    {
        CheckLengths(confidence, labels, nameof(labels));
        var c = new List<double>(confidence.Count);
        var a = new List<double>(confidence.Count);
        for (var i = 0; i < confidence.Count; i++)
        {
            if (double.IsNaN(labels[i])) continue;
            CheckLabel(labels[i], i, binary: false);
            CheckConfidence(confidence[i], i);
            c.Add(confidence[i]);
            a.Add(labels[i]);
        }
        return (c.ToArray(), a.ToArray());
    }

    // ---------------------------------------------------------------- cores (clean, finite inputs)

    /// <summary>Indices 0…n−1 ordered by <paramref name="key"/> ascending, ties in index order (stable).</summary>
    private static int[] StableOrder(double[] key)
    {
        var idx = new int[key.Length];
        for (var i = 0; i < idx.Length; i++) idx[i] = i;
        Array.Sort(idx, (i, j) =>
        {
            var c = key[i].CompareTo(key[j]);
            return c != 0 ? c : i.CompareTo(j);
        });
        return idx;
    }

    /// <summary>AUROC of clean (sanitised, finite) scores: the plugin SDK's <see cref="Ranking.Auroc"/>, mid-ranks.</summary>
    internal static double AurocCore(double[] s, bool[] positive) => Ranking.Auroc(s, positive);

    internal static double AveragePrecisionCore(double[] s, bool[] positive)
    {
        var n = s.Length;
        var nPos = positive.Count(p => p);
        if (nPos == 0 || nPos == n) return double.NaN;
        var order = StableOrder(s);
        Array.Reverse(order); // descending scores; ties are grouped below, so their order does not matter
        double ap = 0, prevRecall = 0;
        int tp = 0, fp = 0;
        for (var start = 0; start < n;)
        {
            var end = start;
            while (end + 1 < n && s[order[end + 1]] == s[order[start]]) end++;
            for (var k = start; k <= end; k++) { if (positive[order[k]]) tp++; else fp++; }
            var recall = (double)tp / nPos;
            ap += (recall - prevRecall) * ((double)tp / (tp + fp));
            prevRecall = recall;
            start = end + 1;
        }
        return ap;
    }

    /// <summary>
    /// Prefix sums of <paramref name="q"/> with items ordered by <paramref name="key"/> ascending: element m−1 is
    /// <c>S_m</c>, the sum of the first m values. With <see cref="TieBreaking.Stable"/> ties keep index order; with
    /// <see cref="TieBreaking.Expected"/> it is <c>E[S_m]</c> over uniformly random orders of each tied block: for a block
    /// of k items after s others, <c>E[S_{s+j}] = S_s + (j/k)·Q_B</c> (each block item is among the first j with
    /// probability j/k).
    /// </summary>
    internal static double[] PrefixSums(double[] key, double[] q, TieBreaking ties)
    {
        var n = key.Length;
        var order = StableOrder(key);
        var sums = new double[n];
        double before = 0;
        for (var start = 0; start < n;)
        {
            var end = start;
            while (end + 1 < n && key[order[end + 1]] == key[order[start]]) end++;
            if (ties == TieBreaking.Stable || end == start)
            {
                for (var j = start; j <= end; j++) { before += q[order[j]]; sums[j] = before; }
            }
            else
            {
                double block = 0;
                for (var j = start; j <= end; j++) block += q[order[j]];
                double k = end - start + 1;
                for (var j = start; j < end; j++) sums[j] = before + (j - start + 1) / k * block;
                before += block;
                sums[end] = before;
            }
            start = end + 1;
        }
        return sums;
    }

    /// <summary>Mean over retained-set sizes m = N−nRej+1 … N of <c>S_m / m</c> (the mean of the m most confident), given the prefix sums.</summary>
    private static double RejectionArea(double[] prefix, int nRej)
    {
        var n = prefix.Length;
        double area = 0;
        for (var m = n - nRej + 1; m <= n; m++) area += prefix[m - 1] / m;
        return area / nRej;
    }

    internal static PrrResult PrrCore(double[] u, double[] q, double maxRejection, TieBreaking ties = TieBreaking.Expected)
    {
        var n = u.Length;
        var nRej = (int)Math.Floor(maxRejection * n);
        if (n == 0 || nRej == 0) return new PrrResult(double.NaN, double.NaN, double.NaN, double.NaN, false);
        double min = q.Min(), max = q.Max();
        if (max - min < 1e-12) { min -= 1; max += 1; }
        var qn = q.Select(x => (x - min) / (max - min)).ToArray();
        var area = RejectionArea(PrefixSums(u, qn, ties), nRej);
        // The oracle orders by quality; tied items have equal quality, so the tie order cannot change its area.
        var oracle = RejectionArea(PrefixSums(q.Select(x => -x).ToArray(), qn, TieBreaking.Stable), nRej);
        var random = qn.Average();
        var normalized = Math.Abs(oracle - random) > 1e-12;
        var prr = normalized ? (area - random) / (oracle - random) : area;
        return new PrrResult(prr, area, oracle, random, normalized);
    }

    internal static double AuarcCore(double[] u, double[] a, AuarcVariant variant, TieBreaking ties = TieBreaking.Expected)
    {
        var n = u.Length;
        if (n == 0 || (variant == AuarcVariant.LinTrapezoid && n < 2)) return double.NaN;
        var prefix = PrefixSums(u, a, ties);
        double sum = 0, first = 0, last = 0;
        for (var m = 1; m <= n; m++)
        {
            var acc = prefix[m - 1] / m;
            sum += acc;
            if (m == 1) first = acc;
            last = acc;
        }
        return variant == AuarcVariant.Step
            ? sum / n
            : (sum - (first + last) / 2) / (n - 1); // trapezoid over x_m = (m−1)/(N−1)
    }

    /// <summary>Tolerance, in units of bins, within which c·M counts as lying exactly on an edge.</summary>
    internal const double EdgeTolerance = 1e-9;

    /// <summary>
    /// The 0-based bin of confidence <paramref name="c"/> ∈ [0, 1] among <paramref name="bins"/> equal-width bins with
    /// ideal edges k/M. With t = c·M: when t is within <see cref="EdgeTolerance"/> of an integer k the value is on edge k
    /// and goes to bin k (left-closed) or k−1 (right-closed); otherwise to bin ⌊t⌋. Clamped to [0, M−1], so 0 is in the
    /// first bin and 1 in the last under both conventions.
    /// </summary>
    internal static int BinOf(double c, int bins, EceBinning binning)
    {
        var t = c * bins;
        var k = Math.Round(t);
        int b;
        if (Math.Abs(t - k) <= EdgeTolerance) b = binning == EceBinning.LeftClosed ? (int)k : (int)k - 1;
        else b = (int)Math.Floor(t);
        return Math.Clamp(b, 0, bins - 1);
    }

    internal static double EceCore(double[] c, double[] a, int bins, EceBinning binning)
    {
        var n = c.Length;
        if (n == 0) return double.NaN;
        var count = new int[bins];
        var sumC = new double[bins];
        var sumA = new double[bins];
        for (var i = 0; i < n; i++)
        {
            var b = BinOf(c[i], bins, binning);
            count[b]++;
            sumC[b] += c[i];
            sumA[b] += a[i];
        }
        double ece = 0;
        for (var b = 0; b < bins; b++)
            if (count[b] > 0) ece += (double)count[b] / n * Math.Abs(sumA[b] / count[b] - sumC[b] / count[b]);
        return ece;
    }

    internal static double BrierCore(double[] c, double[] a)
    {
        if (c.Length == 0) return double.NaN;
        double s = 0;
        for (var i = 0; i < c.Length; i++) s += (c[i] - a[i]) * (c[i] - a[i]);
        return s / c.Length;
    }
}

/// <summary>The result of <see cref="UncertaintyMetrics.Prr"/> (specs/uq-methods.md §5.3).</summary>
/// <param name="Value">The PRR when <paramref name="Normalized"/>; otherwise the raw area <paramref name="Area"/>
/// (LM-Polygraph <c>normalize_metric</c> behaviour when oracle = random, e.g. all answers correct). NaN when undefined.</param>
/// <param name="Area">Rejection area <c>A(u)</c> of the method, in [0, 1].</param>
/// <param name="OracleArea">Oracle area <c>A(−q)</c>.</param>
/// <param name="RandomArea">Random-order expectation <c>mean(q̃)</c>.</param>
/// <param name="Normalized">False when oracle and random areas coincide, so no ratio exists.</param>
public sealed record PrrResult(double Value, double Area, double OracleArea, double RandomArea, bool Normalized);
