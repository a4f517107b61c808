namespace AttnEval.Plugins.Sdk;

/// <summary>
/// Rank and order statistics shared by the host and the plugins, computed one way everywhere: the AUROC of the host's
/// uncertainty metrics (<c>AttnEval.Core.Evaluation.UncertaintyMetrics</c>) and of attention-influence's corpus check, and
/// the quantile of the host's bootstrap intervals and of reasoning-rhythm's peak threshold.
/// </summary>
public static class Ranking
{
    /// <summary>
    /// Area under the ROC curve of <paramref name="scores"/> for telling the items flagged in <paramref name="positive"/>
    /// from the others: the Mann–Whitney statistic over n₊·n₋, <c>(R₊ − n₊(n₊+1)/2) / (n₊ n₋)</c>, where R₊ is the sum of
    /// the positives' 1-based ranks by score ascending and tied scores share their mid-rank (Hanley &amp; McNeil 1982,
    /// "The meaning and use of the area under a receiver operating characteristic (ROC) curve", Radiology 143:29–36).
    /// It equals the probability that a random positive scores above a random negative, a tied pair counting ½, and
    /// scikit-learn's <c>roc_auc_score</c>.
    /// </summary>
    /// <remarks>
    /// <para>O(n log n). Ranks and mid-ranks are multiples of ½, so R₊ and the numerator are exact in double arithmetic
    /// (for n &lt; 2²⁶), and the result is the single correctly rounded quotient of the exact count of won pairs (ties ½) by
    /// n₊·n₋: bit for bit what the O(n₊·n₋) pairwise count gives.</para>
    /// <para>+∞ and −∞ are ordinary scores (equal infinities tie). NaN has no rank and is refused; callers that need a
    /// policy for it (the host maps NaN to −1e7, specs/uq-methods.md §5) apply it first.</para>
    /// </remarks>
    /// <param name="scores">One score per item, higher = more likely positive; not NaN.</param>
    /// <param name="positive">The class of each item, same length as <paramref name="scores"/>.</param>
    /// <returns>The AUROC in [0, 1] (1: every positive above every negative, 0.5: chance or all tied), or
    /// <see cref="double.NaN"/> when there are no items or only one class.</returns>
    /// <exception cref="ArgumentNullException">A list is null.</exception>
    /// <exception cref="ArgumentException">The lists differ in length, or a score is NaN.</exception>
    public static double Auroc(IReadOnlyList<double> scores, IReadOnlyList<bool> positive)
    {
        ArgumentNullException.ThrowIfNull(scores);
        ArgumentNullException.ThrowIfNull(positive);
        if (scores.Count != positive.Count)
            throw new ArgumentException($"scores and labels must have the same length (got {scores.Count} and {positive.Count})", nameof(positive));
        var n = scores.Count;
        long nPos = 0;
        for (var i = 0; i < n; i++)
        {
            if (double.IsNaN(scores[i])) throw new ArgumentException($"score {i} is NaN; AUROC needs an order on every score", nameof(scores));
            if (positive[i]) nPos++;
        }
        var nNeg = n - nPos;
        if (nPos == 0 || nNeg == 0) return double.NaN;

        var order = new int[n];
        for (var i = 0; i < n; i++) order[i] = i;
        Array.Sort(order, (i, j) => scores[i].CompareTo(scores[j]));
        double rankSum = 0;
        for (var start = 0; start < n;)
        {
            var end = start;
            while (end + 1 < n && scores[order[end + 1]] == scores[order[start]]) end++;
            var midRank = (start + end) / 2.0 + 1.0; // the mean of the 1-based ranks start+1 … end+1
            for (var k = start; k <= end; k++) if (positive[order[k]]) rankSum += midRank;
            start = end + 1;
        }
        return (rankSum - nPos * (nPos + 1) / 2.0) / ((double)nPos * nNeg);
    }

    /// <summary>
    /// Quantile <paramref name="p"/> of values sorted ascending, by linear interpolation between the order statistics at
    /// position h = (n−1)·p: <c>x[⌊h⌋] + (h − ⌊h⌋)·(x[⌊h⌋+1] − x[⌊h⌋])</c> (Hyndman &amp; Fan 1996, "Sample quantiles in
    /// statistical packages", The American Statistician 50:361–365, definition 7; numpy's <c>quantile</c> default).
    /// p = 0 gives the minimum, p = 1 the maximum, p = 0.5 the median.
    /// </summary>
    /// <param name="sorted">The values, sorted ascending (not checked); at least one.</param>
    /// <param name="p">The level, in [0, 1].</param>
    /// <returns>The quantile, between the smallest and the largest value.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="sorted"/> is null.</exception>
    /// <exception cref="ArgumentException"><paramref name="sorted"/> is empty, or <paramref name="p"/> is outside [0, 1] or NaN.</exception>
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
