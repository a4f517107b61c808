using AttnEval.Abstractions;

namespace AttnEval.Metrics.AttentionUq;

/// <summary>
/// CSL's reduction of the eliciting pass (specs/uq-attention-methods.md §3.1–§3.5): of every layer and head, only the row
/// of one query position (the last token of the eliciting input, <c>|E| − 1</c>) at the keys of the answer span
/// <c>[s, s + n)</c>, summed over all (layer, head) into one <c>n</c>-vector as the rows stream in.
/// </summary>
/// <remarks>Memory: <c>n</c> doubles. Rows of other query positions (the whole prefill but one row) are dropped as soon as
/// they arrive; blocks may come in any query chunking.</remarks>
internal sealed class LastRowSpanReducer : IAttentionRowReducer
{
    private readonly double[] _sums;
    private readonly HashSet<int> _layersSeen = new();

    /// <summary>Creates the reducer for one eliciting pass.</summary>
    /// <param name="queryPosition">Absolute position of the query row to read (<c>|E| − 1</c>).</param>
    /// <param name="spanStart">s, the absolute position of the answer's first token in the eliciting input.</param>
    /// <param name="spanLength">n, the number of answer tokens (≥ 1).</param>
    /// <exception cref="ArgumentOutOfRangeException">The span is empty, negative or does not end before the query.</exception>
    public LastRowSpanReducer(int queryPosition, int spanStart, int spanLength)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(spanStart);
        ArgumentOutOfRangeException.ThrowIfLessThan(spanLength, 1);
        if (spanStart + spanLength > queryPosition + 1)
            throw new ArgumentOutOfRangeException(nameof(spanLength), $"the span [{spanStart}, {spanStart + spanLength}) must lie at or before the query position {queryPosition}");
        QueryPosition = queryPosition;
        SpanStart = spanStart;
        _sums = new double[spanLength];
    }

    /// <summary>All layers (CSL averages over every layer and head).</summary>
    public IReadOnlySet<int>? Layers => null;

    /// <summary>The query position read.</summary>
    public int QueryPosition { get; }

    /// <summary>s.</summary>
    public int SpanStart { get; }

    /// <summary>Number of (layer, head) rows summed so far (L·H after a complete pass).</summary>
    public int RowsSeen { get; private set; }

    /// <summary>Number of distinct layers that delivered the query row.</summary>
    public int LayersSeen => _layersSeen.Count;

    /// <summary><c>Σ_{l,h} A_E^{l,h}[|E|−1, s+i]</c> for <c>i = 0 … n−1</c> (a copy).</summary>
    public double[] Sums => (double[])_sums.Clone();

    /// <inheritdoc />
    public void Accept(in AttentionRowBlock block)
    {
        if (block.Sequence != 0) return;
        int q = QueryPosition - block.QueryStart;
        if (q < 0 || q >= block.QueryCount || block.KeyLength < SpanStart + _sums.Length) return;
        for (int h = 0; h < block.Heads; h++)
        {
            var span = block.Row(h, q).Slice(SpanStart, _sums.Length);
            for (int i = 0; i < _sums.Length; i++) _sums[i] += span[i];
        }
        RowsSeen += block.Heads;
        _layersSeen.Add(block.Layer);
    }
}
