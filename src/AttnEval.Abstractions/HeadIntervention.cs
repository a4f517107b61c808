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
