namespace AttnEval.Abstractions;

/// <summary>
/// A head operator applied during one <c>Generate</c> or <c>Score</c> call (specs/head-methods.md §0).
/// Interventions are values: compose by passing several; a backend applies them in list order.
/// With grouped-query attention every operator acts on the query head (its q, pattern or z), never
/// on a K/V head shared by its group.
/// </summary>
/// <param name="Head">The query head acted on.</param>
public abstract record HeadIntervention(HeadId Head)
{
    /// <summary>Absolute query position (0-based token index in the sequence) from which the operator acts; the rows
    /// of earlier queries are computed as without it. 0 (default) = every position. Wu et al.'s masking experiment acts
    /// on the decode steps only, which is <c>FromPosition = prompt length − 1</c> (the last prompt token is the first
    /// query of decoding; specs/head-methods.md §1.4, <c>mask_phase: decode</c>). The torchsharp backend acts per query row,
    /// the onnx backend splits its graph runs at the position; a backend that cannot act on a subset of positions throws
    /// <see cref="NotSupportedException"/> for a non-zero value. Added in contract 1.1.</summary>
    /// <exception cref="ArgumentOutOfRangeException">A negative value.</exception>
    public int FromPosition
    {
        get;
        init => field = value >= 0 ? value : throw new ArgumentOutOfRangeException(nameof(FromPosition), value, "FromPosition must be >= 0.");
    }
}

/// <summary>Replace the head's pattern by causal-uniform attention U[i,j] = 1/(i+1) for j ≤ i
/// (Wu et al. 2024 masking; Hua et al. 2025 AttentionInfluence; Zhou et al. 2024 "undifferentiated attention").</summary>
public sealed record UniformAttention(HeadId Head) : HeadIntervention(Head);

/// <summary>q_h ← ε·q_h before the scores (Ships/Sahara, Zhou et al. 2024 §3; ε = 1e-4 or 1e-5).</summary>
/// <param name="Head">Query head.</param>
/// <param name="Epsilon">Scale factor, finite, usually in (0, 1].</param>
public sealed record ScaleQuery(HeadId Head, double Epsilon) : HeadIntervention(Head);

/// <summary>z_h ← ε·z_h, the head output before W_O (Ships "scaling contribution").</summary>
/// <param name="Head">Query head.</param>
/// <param name="Epsilon">Scale factor, finite.</param>
public sealed record ScaleOutput(HeadId Head, double Epsilon) : HeadIntervention(Head);

/// <summary>z_h ← 0 (TransformerLens-style zero ablation).</summary>
public sealed record ZeroOutput(HeadId Head) : HeadIntervention(Head);

/// <summary>z_h ← a fixed mean vector at every position (mean ablation).</summary>
/// <param name="Head">Query head.</param>
/// <param name="Mean">Mean head output over a reference set, length d_head.</param>
public sealed record MeanOutput(HeadId Head, IReadOnlyList<float> Mean) : HeadIntervention(Head);

/// <summary>Multiply the pattern columns in <paramref name="Columns"/> by β and give the freed mass to the
/// other columns of the row in proportion to their weight, so rows still sum to 1 (ACT sink calibration, Yu et al. 2024).</summary>
/// <param name="Head">Query head.</param>
/// <param name="Columns">Absolute key positions to reweight.</param>
/// <param name="Beta">Factor in [0, 1].</param>
public sealed record ReweightColumns(HeadId Head, IReadOnlyList<int> Columns, double Beta) : HeadIntervention(Head);
