using AttnEval.Plugins.Sdk;
using MathNet.Numerics.LinearAlgebra;

namespace AttnEval.Metrics.SafetyHeads;

/// <summary>Which singular subspace of the n × d representation matrix generalized Ships compares.</summary>
internal enum SingularSubspace
{
    /// <summary>Left singular vectors (sample space, length n): the reference code's choice (official).</summary>
    [OptionName("left_singular")] Left,
    /// <summary>Right singular vectors (feature space, length d): non-official alternative.</summary>
    [OptionName("right_singular")] Right,
}

/// <summary>
/// Generalized Ships (Zhou et al. 2024, arXiv 2410.13708, §3.2; specs/head-methods.md §2.3): stack one representation row
/// per harmful query into <c>M ∈ R^{n×d}</c>, the same rows with heads ablated into <c>M_A</c>, and measure how far the
/// leading singular subspace turns: <c>Σ_{r=1..r_main} φ_r</c> with <c>φ_r = arccos σ_r(U_rᵀ U_A,r)</c>, the principal angles
/// between the spans of the first <c>r_main</c> singular vectors. The reference uses r_main = 1, left singular vectors and
/// degrees, so <c>φ = arccos |u_1 · u_A,1|</c> ∈ [0°, 90°].
/// </summary>
/// <remarks>
/// The singular vectors come from the symmetric eigendecomposition of the n × n Gram matrices <c>M Mᵀ</c> (left vectors are its
/// eigenvectors, σ² its eigenvalues), so no d × d factor is formed when d is a vocabulary. For the right subspace,
/// <c>V_rᵀ V_A,r = Σ_r⁻¹ U_rᵀ (M M_Aᵀ) U_A,r Σ_A,r⁻¹</c>. Singular vectors of a repeated singular value are not unique; the
/// angle is then as arbitrary as in the reference.
/// </remarks>
internal static class GeneralizedShips
{
    /// <summary>The sum of the first <paramref name="rank"/> principal angles between the leading singular subspaces of
    /// <paramref name="m"/> and <paramref name="mAblated"/>.</summary>
    /// <param name="m">Rows of the unablated model, n × d (n ≥ 1 rows of equal length d ≥ 1).</param>
    /// <param name="mAblated">Rows with the heads ablated, same n × d.</param>
    /// <param name="rank">r_main, in [1, min(n, d)].</param>
    /// <param name="subspace">Left (official) or right singular vectors.</param>
    /// <param name="degrees">Degrees (official) or radians.</param>
    /// <returns>In [0, rank·90°] (or [0, rank·π/2]); NaN when the r-th singular value of either matrix is zero (the
    /// subspace is undefined).</returns>
    /// <exception cref="ArgumentException">Shapes differ, ragged rows, or rank outside [1, min(n, d)].</exception>
    public static double Angle(IReadOnlyList<double[]> m, IReadOnlyList<double[]> mAblated, int rank = 1,
        SingularSubspace subspace = SingularSubspace.Left, bool degrees = true)
    {
        var a = ToMatrix(m, nameof(m));
        var b = ToMatrix(mAblated, nameof(mAblated));
        if (a.RowCount != b.RowCount || a.ColumnCount != b.ColumnCount)
            throw new ArgumentException($"generalized Ships compares matrices of one shape; got {a.RowCount}×{a.ColumnCount} and {b.RowCount}×{b.ColumnCount}");
        if (rank < 1 || rank > Math.Min(a.RowCount, a.ColumnCount))
            throw new ArgumentException($"rank must be in [1, min(n, d)] = [1, {Math.Min(a.RowCount, a.ColumnCount)}], got {rank}", nameof(rank));
        var (ua, sa) = LeadingLeft(a, rank);
        var (ub, sb) = LeadingLeft(b, rank);
        if (sa[rank - 1] <= 0 || sb[rank - 1] <= 0) return double.NaN;
        Matrix<double> c = ua.TransposeThisAndMultiply(ub);                                  // r × r
        if (subspace == SingularSubspace.Right)
        {
            var cross = ua.TransposeThisAndMultiply(a.TransposeAndMultiply(b)).Multiply(ub); // U_rᵀ M M_Aᵀ U_A,r
            c = Matrix<double>.Build.DiagonalOfDiagonalArray(sa.Select(s => 1 / s).ToArray())
                .Multiply(cross)
                .Multiply(Matrix<double>.Build.DiagonalOfDiagonalArray(sb.Select(s => 1 / s).ToArray()));
        }
        var cosines = c.Svd(computeVectors: false).S;
        double sum = 0;
        for (int r = 0; r < rank; r++) sum += Math.Acos(Math.Clamp(cosines[r], -1, 1));
        return degrees ? sum * 180 / Math.PI : sum;
    }

    /// <summary>The first <paramref name="rank"/> left singular vectors (columns, n × r) and singular values, descending.</summary>
    private static (Matrix<double> U, double[] S) LeadingLeft(Matrix<double> m, int rank)
    {
        var gram = m.TransposeAndMultiply(m);                                                // n × n, symmetric
        var evd = gram.Evd(Symmetricity.Symmetric);
        var order = Enumerable.Range(0, gram.RowCount).OrderByDescending(i => evd.EigenValues[i].Real).Take(rank).ToArray();
        var u = Matrix<double>.Build.Dense(gram.RowCount, rank);
        var s = new double[rank];
        double top = Math.Max(evd.EigenValues[order[0]].Real, 0);
        for (int r = 0; r < rank; r++)
        {
            u.SetColumn(r, evd.EigenVectors.Column(order[r]));
            double lambda = evd.EigenValues[order[r]].Real;
            // σ² at the rounding level of the Gram matrix (relative 1e-14, i.e. σ below ~1e-7·σ_1) counts as a zero singular value
            s[r] = lambda > top * 1e-14 && lambda > 0 ? Math.Sqrt(lambda) : 0;
        }
        return (u, s);
    }

    private static Matrix<double> ToMatrix(IReadOnlyList<double[]> rows, string name)
    {
        if (rows.Count == 0) throw new ArgumentException("generalized Ships needs at least one query row", name);
        int d = rows[0].Length;
        if (d == 0) throw new ArgumentException("representation rows are empty", name);
        for (int i = 0; i < rows.Count; i++)
            if (rows[i].Length != d) throw new ArgumentException($"row {i} has {rows[i].Length} entries, expected {d} like row 0", name);
        return Matrix<double>.Build.DenseOfRowArrays(rows);
    }
}
