using AttnEval.Abstractions;

namespace AttnEval.Metrics.AttentionUq;

/// <summary>
/// Keeps the self-weight <c>A^{l,h}[t, t]</c> (the diagonal of the attention matrix: the weight a query puts on its own
/// token) of every head, for the wanted layers and every query position <c>t ≥ fromPosition</c>; everything else in the
/// rows is dropped as soon as it arrives (DESIGN.md §4).
/// </summary>
/// <remarks>
/// <para>Used by RAUQ (specs/uq-attention-methods.md §1.5: during generation decode step <c>j</c> delivers the query at
/// <c>P + j − 1</c>, whose self-weight is RAUQ's <c>a^{l,h}_j = G[j, j−1]</c>, §0.2; <b>not</b> the sub-diagonal
/// <c>A[t, t−1]</c>) and by Attention Score (§2.5: the diagonal of one layer, from a teacher-forced pass or from the
/// generation rows).</para>
/// <para>Works with prefill blocks of many query rows (in any chunking), with one-row decode steps and with teacher-forced
/// <c>Score</c> passes. Rows of other layers, other sequences of a batched call and positions before
/// <c>fromPosition</c> are ignored. Memory: <c>|layers| × H</c> floats per kept position.</para>
/// </remarks>
internal sealed class SelfWeightReducer : IAttentionRowReducer
{
    private readonly Dictionary<int, Dictionary<int, float[]>> _byLayer = new();
    private readonly HashSet<int> _layers;

    /// <summary>Creates the reducer for one call.</summary>
    /// <param name="layers">Layers to keep (0-based, non-empty); the backend makes only these eager.</param>
    /// <param name="fromPosition">First absolute query position kept (the prompt length P during generation, 0 for a whole teacher-forced pass), ≥ 0.</param>
    /// <exception cref="ArgumentException">No layer, a negative layer or a negative position.</exception>
    public SelfWeightReducer(IEnumerable<int> layers, int fromPosition)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(fromPosition);
        _layers = layers.ToHashSet();
        if (_layers.Count == 0) throw new ArgumentException("at least one layer is needed", nameof(layers));
        if (_layers.Any(l => l < 0)) throw new ArgumentException($"layers must be ≥ 0, got [{string.Join(", ", _layers.Order())}]", nameof(layers));
        FromPosition = fromPosition;
        foreach (var l in _layers) _byLayer[l] = new Dictionary<int, float[]>();
    }

    /// <inheritdoc />
    public IReadOnlySet<int>? Layers => _layers;

    /// <summary>First absolute query position kept.</summary>
    public int FromPosition { get; }

    /// <summary>Why the estimator cannot use this reducer (e.g. a configured layer outside the model), or null. Set by the
    /// estimator that created it, so that a bad layer costs only that estimator's value, not the whole sample.</summary>
    public string? Problem { get; init; }

    /// <summary>Number of heads of the last block received (0 before any).</summary>
    public int Heads { get; private set; }

    /// <summary>The self-weights of every head of <paramref name="layer"/> at absolute query position
    /// <paramref name="position"/> (length H, each in [0, 1]), or null when that row never arrived.</summary>
    public float[]? SelfWeights(int layer, int position) =>
        _byLayer.TryGetValue(layer, out var rows) && rows.TryGetValue(position, out var w) ? w : null;

    /// <inheritdoc />
    public void Accept(in AttentionRowBlock block)
    {
        if (block.Sequence != 0 || !_byLayer.TryGetValue(block.Layer, out var rows)) return;
        Heads = block.Heads;
        for (int q = 0; q < block.QueryCount; q++)
        {
            int t = block.QueryStart + q;
            if (t < FromPosition || t >= block.KeyLength) continue;   // a row without its own key is not a causal row: left out
            var w = new float[block.Heads];
            for (int h = 0; h < block.Heads; h++) w[h] = block.Row(h, q)[t];
            rows[t] = w;
        }
    }
}
