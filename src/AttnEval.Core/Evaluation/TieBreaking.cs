namespace AttnEval.Core.Evaluation;

/// <summary>
/// How PRR (specs/uq-methods.md §5.3) and AUARC (§5.6) treat items with equal uncertainty. Both metrics walk the items
/// from most to least confident, so with ties the value depends on the order chosen inside each tied block; AUROC and AP
/// average ties by construction and are unaffected. Recipe key <c>evaluation.ties</c>.
/// </summary>
public enum TieBreaking
{
    /// <summary>
    /// Default (<c>expected</c>): the exact expectation over all orders of every tied block, each order equally likely.
    /// Invariant to how ties would be broken, in the same spirit as AUROC's mid-ranks. Closed form: both metrics are linear
    /// in the prefix sums <c>S_m = Σ_{k≤m} q̃_(k)</c>; for a tied block of k items occupying positions s+1 … s+k (s items
    /// before it) with quality sum Q_B, each item of the block lies among the first j block positions with probability
    /// j/k, so <c>E[S_{s+j}] = S_s + (j/k)·Q_B</c> for j = 0 … k (blocks before it are summed whole). Replacing S_m by this
    /// expectation in <c>A(u) = (1/n_rej) Σ_m S_m/m</c> and <c>acc(m) = S_m/m</c> gives the expected PRR area and AUARC
    /// exactly (the oracle and random areas do not depend on the tie order). On TV-4 of §7: A(u) = 1121/1680, PRR =
    /// 281/533 ≈ 0.527205, Lin AUARC = 1927/2940 ≈ 0.655442.
    /// </summary>
    Expected,

    /// <summary>
    /// The previous convention (<c>stable</c>), as specs/uq-methods.md §5.3 states it: ties keep the order the items are
    /// given in, which the run summary makes the dataset order (each record's <c>index</c>). One particular tie order, so
    /// methods with many ties (semantic-entropy-style cluster counts) land wherever that order puts them. On TV-4:
    /// A(u) = 2347/3360, PRR = 667/1066, Lin AUARC ≈ 0.691156.
    /// </summary>
    Stable,
}
