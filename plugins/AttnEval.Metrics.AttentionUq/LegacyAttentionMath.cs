namespace AttnEval.Metrics.AttentionUq;

/// <summary>Sequence and token values of one of the 2023 prototypes.</summary>
/// <param name="Sequence">The Seq estimator's value.</param>
/// <param name="Tokens">The Token estimator's values, <c>k = 0 … n−2</c> (the last token is dropped, as the prototypes did).</param>
/// <param name="Weights">AttentionEntropy: the column sums κ_k; AttentionRecursive: the recursion's u_k (length n).</param>
internal sealed record LegacyResult(double Sequence, IReadOnlyList<double> Tokens, IReadOnlyList<double> Weights);

/// <summary>
/// The four LM-Polygraph prototypes of 2023 (<c>estimators/attention_entropy.py</c>, <c>attention_recursive.py</c>,
/// <c>exp_attention_entropy.py</c>, <c>exp_attention_recursive.py</c> at <c>9477400d</c>, deleted in <c>faed2a79</c>; no
/// paper), specs/uq-attention-methods.md §5.2. All functions work on copies: the prototypes' in-place change of the
/// shared attention statistic (§5.2 quirks) is not reproduced.
/// </summary>
internal static class LegacyAttentionMath
{
    /// <summary>Row-normalises a generation-time matrix (spec §5.2 common step): <c>Â[j,·] = Ā[j,·] / Σ_k Ā[j,k]</c> for
    /// <c>j ≥ 1</c>; row 0 stays empty.</summary>
    /// <param name="rows"><c>rows[j]</c> has length j (columns k &lt; j); <c>rows[0]</c> is ignored.</param>
    /// <exception cref="ArgumentException">A row has the wrong length, or sums to 0 (the prototypes would give NaN).</exception>
    public static double[][] Normalise(IReadOnlyList<IReadOnlyList<double>> rows)
    {
        var result = new double[rows.Count][];
        if (rows.Count > 0) result[0] = [];
        for (int j = 1; j < rows.Count; j++)
        {
            var row = rows[j];
            if (row.Count != j) throw new ArgumentException($"row {j} has {row.Count} entries, expected {j}", nameof(rows));
            double sum = row.Sum();
            if (!(sum > 0)) throw new ArgumentException($"row {j} puts no attention on the generated tokens (sum {sum}): the prototypes are undefined (NaN)", nameof(rows));
            result[j] = row.Select(a => a / sum).ToArray();
        }
        return result;
    }

    /// <summary>The exponential variants' matrix already row-normalised: <c>E_β[j,k] = β^{j−k}</c> for <c>k &lt; j</c>,
    /// divided by its row sum (spec §5.1), computed with scaled powers so that no β or length overflows.</summary>
    /// <param name="n">Number of tokens, ≥ 1.</param>
    /// <param name="beta">β &gt; 0.</param>
    public static double[][] ExponentialRows(int n, double beta)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(n, 1);
        if (!(beta > 0) || !double.IsFinite(beta)) throw new ArgumentOutOfRangeException(nameof(beta), beta, "β must be a finite number > 0");
        var rows = new double[n][];
        rows[0] = [];
        double lnBeta = Math.Log(beta);
        for (int j = 1; j < n; j++)
        {
            // exponents j − k ∈ [1, j]; subtract the largest term's exponent (1 for β ≤ 1, j for β > 1) before exponentiating
            int top = beta <= 1 ? 1 : j;
            var row = new double[j];
            for (int k = 0; k < j; k++) row[k] = Math.Exp((j - k - top) * lnBeta);
            double sum = row.Sum();
            for (int k = 0; k < j; k++) row[k] /= sum;
            rows[j] = row;
        }
        return rows;
    }

    /// <summary>AttentionEntropy (spec §5.2): set <c>Â[j,j] = 1</c>, row-normalise again into <c>M</c> (row 0 becomes
    /// <c>[1, 0, …]</c>), <c>κ_k = Σ_j M[j,k]</c>; Seq = <c>(1/n) Σ_k κ_k e_k</c>, Token = <c>κ_k e_k</c> for k &lt; n−1.</summary>
    /// <param name="normalised">Â from <see cref="Normalise"/> or <see cref="ExponentialRows"/> (length n).</param>
    /// <param name="e">The token statistic e_k (length n).</param>
    public static LegacyResult Entropy(IReadOnlyList<IReadOnlyList<double>> normalised, IReadOnlyList<double> e)
    {
        int n = Check(normalised, e);
        var kappa = new double[n];
        for (int j = 0; j < n; j++)
        {
            var row = normalised[j];
            double sum = 1;                                   // the diagonal set to 1
            for (int k = 0; k < j; k++) sum += row[k];
            for (int k = 0; k < j; k++) kappa[k] += row[k] / sum;
            kappa[j] += 1 / sum;
        }
        var tokens = Enumerable.Range(0, n - 1).Select(k => kappa[k] * e[k]).ToArray();
        double seq = 0;
        for (int k = 0; k < n; k++) seq += kappa[k] * e[k];
        return new LegacyResult(seq / n, tokens, kappa);
    }

    /// <summary>AttentionRecursive (spec §5.2): <c>u_0 = e_0</c>, <c>u_i = ½ e_i + ½ Σ_{k&lt;i} Â[i−1, k] u_k</c> (the
    /// <b>previous</b> row, whose column i−1 is 0; so <c>u_1 = ½ e_1</c>); Seq = mean(u), Token = u_0 … u_{n−2}.</summary>
    /// <param name="normalised">Â (length n).</param>
    /// <param name="e">The token statistic e_k (length n).</param>
    public static LegacyResult Recursive(IReadOnlyList<IReadOnlyList<double>> normalised, IReadOnlyList<double> e)
    {
        int n = Check(normalised, e);
        var u = new double[n];
        u[0] = e[0];
        for (int i = 1; i < n; i++)
        {
            var previous = normalised[i - 1];
            double carried = 0;
            for (int k = 0; k < i - 1; k++) carried += previous[k] * u[k];
            u[i] = 0.5 * e[i] + 0.5 * carried;
        }
        return new LegacyResult(u.Average(), u.Take(n - 1).ToArray(), u);
    }

    private static int Check(IReadOnlyList<IReadOnlyList<double>> normalised, IReadOnlyList<double> e)
    {
        int n = e.Count;
        if (n < 1) throw new ArgumentException("at least one token is needed", nameof(e));
        if (normalised.Count != n) throw new ArgumentException($"{normalised.Count} attention rows for {n} tokens", nameof(normalised));
        for (int j = 1; j < n; j++)
            if (normalised[j].Count != j) throw new ArgumentException($"row {j} has {normalised[j].Count} entries, expected {j}", nameof(normalised));
        return n;
    }
}
