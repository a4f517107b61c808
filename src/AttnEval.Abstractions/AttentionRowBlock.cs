namespace AttnEval.Abstractions;

/// <summary>
/// A block of post-softmax attention rows of one layer, handed to an <see cref="IAttentionRowReducer"/>
/// by the backend while it computes the forward pass (TransformerLens point
/// <c>blocks.{l}.attn.hook_pattern</c>). The memory is owned by the backend and is reused or freed as
/// soon as <see cref="IAttentionRowReducer.Accept"/> returns: copy what you keep.
/// </summary>
/// <remarks>
/// Layout of <see cref="Weights"/>: <c>[Heads, QueryCount, KeyLength]</c>, row-major, float32.
/// Row <c>(h, i)</c> is the attention of query head <c>h</c> at absolute position <c>QueryStart + i</c>
/// over key positions <c>0 .. KeyLength-1</c>. Causal: entries with key position &gt; query position are 0,
/// and each row sums to 1 (within float32 rounding). During prefill a backend may deliver the prompt's
/// rows in several blocks (query chunks); during decoding each step delivers one row per head
/// (<c>QueryCount = 1</c>, <c>KeyLength = position + 1</c>).
/// </remarks>
public readonly ref struct AttentionRowBlock
{
    /// <summary>Creates a block; <paramref name="weights"/> must hold <c>heads × queryCount × keyLength</c> floats.</summary>
    /// <exception cref="ArgumentException">The span length does not match the shape.</exception>
    public AttentionRowBlock(int sequence, int layer, int queryStart, int queryCount, int heads, int keyLength, ReadOnlySpan<float> weights)
    {
        if (weights.Length != (long)heads * queryCount * keyLength)
            throw new ArgumentException($"attention block has {weights.Length} floats, expected heads×queries×keys = {heads}×{queryCount}×{keyLength}.", nameof(weights));
        Sequence = sequence; Layer = layer; QueryStart = queryStart; QueryCount = queryCount;
        Heads = heads; KeyLength = keyLength; Weights = weights;
    }

    /// <summary>Index of the sequence within a batched call (0 for single-sequence calls).</summary>
    public int Sequence { get; }
    /// <summary>0-based layer.</summary>
    public int Layer { get; }
    /// <summary>Absolute position of the first query row in the block.</summary>
    public int QueryStart { get; }
    /// <summary>Number of query positions in the block.</summary>
    public int QueryCount { get; }
    /// <summary>Number of query heads (all heads of the layer).</summary>
    public int Heads { get; }
    /// <summary>Number of key positions in every row.</summary>
    public int KeyLength { get; }
    /// <summary>The weights, <c>[Heads, QueryCount, KeyLength]</c>, each in [0, 1].</summary>
    public ReadOnlySpan<float> Weights { get; }

    /// <summary>The row of head <paramref name="head"/> at block-relative query index <paramref name="query"/> (length <see cref="KeyLength"/>).</summary>
    public ReadOnlySpan<float> Row(int head, int query) => Weights.Slice((head * QueryCount + query) * KeyLength, KeyLength);
}
