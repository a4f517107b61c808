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

/// <summary>
/// Consumes attention where it is produced (DESIGN.md §4): the backend calls <see cref="Accept"/>
/// layer by layer during the forward pass and frees the rows afterwards, so no L×H×T×T tensor is
/// ever kept. A reducer keeps only what its metric needs (e.g. a per-row max, an argmax), so its
/// memory grows with T, not with L×H×T².
/// </summary>
/// <remarks>Reducers are per call: one instance receives the rows of one <c>Generate</c> or <c>Score</c> call.
/// Calls arrive on the thread that runs the forward pass, in increasing layer order for each forward step.</remarks>
public interface IAttentionRowReducer
{
    /// <summary>Layers the reducer wants; null means all layers. Backends skip capture for other layers.</summary>
    IReadOnlySet<int>? Layers { get; }

    /// <summary>Receives one block of rows. Must not keep a reference to <paramref name="block"/>'s memory.</summary>
    void Accept(in AttentionRowBlock block);
}

/// <summary>
/// Debug reducer that keeps every full pattern it receives, as <c>pattern[layer][head][query][key]</c>
/// over absolute positions. Memory is L×H×T² floats: meant for short inputs only (the debug dump).
/// </summary>
public sealed class FullPatternRecorder : IAttentionRowReducer
{
    private readonly Dictionary<(int Sequence, int Layer, int Head, int Query), float[]> _rows = new();

    /// <summary>Creates a recorder for the given layers (null = all).</summary>
    public FullPatternRecorder(IReadOnlySet<int>? layers = null) => Layers = layers;

    /// <inheritdoc />
    public IReadOnlySet<int>? Layers { get; }

    /// <inheritdoc />
    public void Accept(in AttentionRowBlock block)
    {
        for (int h = 0; h < block.Heads; h++)
            for (int i = 0; i < block.QueryCount; i++)
                _rows[(block.Sequence, block.Layer, h, block.QueryStart + i)] = block.Row(h, i).ToArray();
    }

    /// <summary>The recorded row of (layer, head) at absolute query position, or null if none arrived.</summary>
    public float[]? Row(int layer, int head, int query, int sequence = 0) =>
        _rows.TryGetValue((sequence, layer, head, query), out var r) ? r : null;

    /// <summary>Number of recorded rows.</summary>
    public int Count => _rows.Count;

    /// <summary>Every recorded (sequence, layer, head, query) key.</summary>
    public IEnumerable<(int Sequence, int Layer, int Head, int Query)> Keys => _rows.Keys;
}

/// <summary>TransformerLens activation-point names (specs/head-methods.md §6.1), used as public names in both backends.</summary>
public static class ActivationNames
{
    /// <summary><c>blocks.{l}.attn.hook_pattern</c>: post-softmax attention, <c>[batch, head, q_pos, k_pos]</c>.</summary>
    public static string Pattern(int layer) => $"blocks.{layer}.attn.hook_pattern";
    /// <summary><c>blocks.{l}.attn.hook_attn_scores</c>: pre-softmax masked scores, <c>[batch, head, q_pos, k_pos]</c>.</summary>
    public static string AttnScores(int layer) => $"blocks.{layer}.attn.hook_attn_scores";
    /// <summary><c>blocks.{l}.attn.hook_q</c>: queries, <c>[batch, pos, head, d_head]</c>.</summary>
    public static string Q(int layer) => $"blocks.{layer}.attn.hook_q";
    /// <summary><c>blocks.{l}.attn.hook_z</c>: per-head output before W_O, <c>[batch, pos, head, d_head]</c>.</summary>
    public static string Z(int layer) => $"blocks.{layer}.attn.hook_z";
    /// <summary><c>blocks.{l}.hook_resid_post</c>: residual stream after the block, <c>[batch, pos, d_model]</c>.</summary>
    public static string ResidPost(int layer) => $"blocks.{layer}.hook_resid_post";
}
