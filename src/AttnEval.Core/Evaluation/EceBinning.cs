namespace AttnEval.Core.Evaluation;

/// <summary>
/// How a confidence that lies exactly on a bin edge is assigned in the equal-width ECE bins
/// (specs/uq-methods.md §5.4). The two conventions give the same ECE unless some confidence equals an
/// edge <c>k/M</c>. Edges are the ideal values k/M: a confidence counts as lying on edge k when <c>c·M</c> is within
/// 1e-9 of the integer k, so decimals such as 0.3 or 0.55 fall where their decimal value says. This is the rule of
/// the spec's table (<c>⌊c·M⌋</c>) and reproduces every test vector of §7 (TV-5's second vector has 0.25 and 0.30
/// on edges). numpy builds edges as <c>k·(1/M)</c> (edge 6 of 20 is 0.30000000000000004), so a numpy-based tool
/// can put a confidence lying exactly on an edge one bin lower (§5.4 implementation note); values off the edges
/// bin identically.
/// </summary>
public enum EceBinning
{
    /// <summary>
    /// <b>Default.</b> Bins <c>[lo, hi)</c>; a confidence of exactly 1.0 goes into the last bin
    /// (bin index <c>min(⌊c·M⌋, M−1)</c>). Used by UQAC
    /// (<c>src/eval/metric.py</c>, <c>np.digitize</c>, M = 20) and the default of specs/uq-methods.md §8.
    /// </summary>
    LeftClosed = 0,

    /// <summary>
    /// First bin <c>[0, 1/M]</c>, the others <c>(lo, hi]</c> (bin index <c>max(⌈c·M⌉ − 1, 0)</c>). Used by LM-Polygraph
    /// (<c>ue_metrics/ece.py</c>, M = 20; note that LM-Polygraph also min–max normalises <c>−u</c> first,
    /// which this enum does not do).
    /// </summary>
    RightClosed = 1,
}

/// <summary>Which area-under-the-accuracy–rejection-curve definition to compute (specs/uq-methods.md §5.6).</summary>
public enum AuarcVariant
{
    /// <summary>
    /// <b>Default.</b> Lin, Trivedi and Sun (2023), <c>zlin7/UQ-NLG: area_under_accuracy_coverage_curve</c>:
    /// trapezoidal area of <c>acc(m)</c> over <c>x_m = (m−1)/(N−1)</c>, m = 1…N. Needs N ≥ 2.
    /// </summary>
    LinTrapezoid = 0,

    /// <summary>Step version <c>(1/N) Σ_m acc(m)</c> (= LM-Polygraph 1 − RCC-AUC for binary labels; = PRR area with ρ = 1).</summary>
    Step = 1,
}
