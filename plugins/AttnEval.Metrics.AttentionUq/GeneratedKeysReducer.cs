using AttnEval.Abstractions;

namespace AttnEval.Metrics.AttentionUq;

/// <summary>How <see cref="GeneratedKeysReducer"/> combines the rows of all layers and heads.</summary>
internal enum HeadCombination
{
    /// <summary>Element-wise maximum over every (layer, head): Focus's <c>M[i, k] = max_{l,h} G^{l,h}[i, k]</c> (spec §4.1).</summary>
    Max,
    /// <summary>Element-wise mean over every (layer, head): the prototypes' <c>Ā[j, k] = (1/(L·H)) Σ_{l,h} G^{l,h}[j, k]</c> (spec §5.1).</summary>
    Mean,
}

/// <summary>
/// Reduces LM-Polygraph's generation-time tensor <c>G</c> (specs/uq-attention-methods.md §0.2) over all layers and heads,
/// as the rows stream in: row <c>j</c> of <c>G</c> is the attention of the query at absolute position <c>P + j − 1</c>
/// (decode step <c>j ≥ 1</c>, which produces <c>y_j</c>) over the keys of the generated tokens <c>y_0 … y_{j−1}</c>, i.e.
/// key positions <c>P … P + j − 1</c>; the prompt keys are dropped.
/// </summary>
/// <remarks>
/// <para>Shapes: <see cref="Row"/>(j) has length <c>j</c> (columns <c>k &lt; j</c>); row 0 (the prefill) is all zeros in
/// <c>G</c> and is never stored. Rows do not sum to 1: the prompt's share of the attention is gone (§0.2).</para>
/// <para>Memory: one lower-triangular <c>n × n</c> matrix in doubles, never <c>L × H × n²</c>. Prompt rows (query positions
/// &lt; P) are skipped. A teacher-forced pass over prompt + answer would also deliver the query at <c>T − 1</c>
/// (row <c>n</c>), which generation never computes; estimators read rows <c>1 … n−1</c> only.</para>
/// </remarks>
internal sealed class GeneratedKeysReducer : IAttentionRowReducer
{
    private readonly HeadCombination _combination;
    private readonly Dictionary<int, (double[] Values, int Count)> _rows = new();

    /// <summary>Creates the reducer for one generation.</summary>
    /// <param name="promptLength">P, the number of prompt tokens (≥ 1): rows of query positions ≥ P are kept.</param>
    /// <param name="combination">Max or mean over all (layer, head).</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="promptLength"/> &lt; 1.</exception>
    public GeneratedKeysReducer(int promptLength, HeadCombination combination)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(promptLength, 1);
        PromptLength = promptLength;
        _combination = combination;
    }

    /// <summary>All layers: both reductions run over every layer and head.</summary>
    public IReadOnlySet<int>? Layers => null;

    /// <summary>P.</summary>
    public int PromptLength { get; }

    /// <summary>The reduced row <c>j ≥ 1</c> over generated keys <c>k = 0 … j−1</c> (max or mean over the (layer, head)
    /// rows received), or null when no row for step <c>j</c> arrived.</summary>
    public double[]? Row(int j)
    {
        if (!_rows.TryGetValue(j, out var r)) return null;
        if (_combination == HeadCombination.Max) return (double[])r.Values.Clone();
        return r.Values.Select(v => v / r.Count).ToArray();
    }

    /// <summary>Number of (layer, head) rows folded into row <c>j</c> (L·H once every layer of that step has arrived).</summary>
    public int Contributions(int j) => _rows.TryGetValue(j, out var r) ? r.Count : 0;

    /// <inheritdoc />
    public void Accept(in AttentionRowBlock block)
    {
        if (block.Sequence != 0) return;
        for (int q = 0; q < block.QueryCount; q++)
        {
            int t = block.QueryStart + q;
            if (t < PromptLength || t >= block.KeyLength) continue;
            int j = t - PromptLength + 1;                       // keys P … t are y_0 … y_{j−1}
            if (!_rows.TryGetValue(j, out var acc))
                acc = (_combination == HeadCombination.Max ? Enumerable.Repeat(double.NegativeInfinity, j).ToArray() : new double[j], 0);
            var values = acc.Values;
            for (int h = 0; h < block.Heads; h++)
            {
                var row = block.Row(h, q).Slice(PromptLength, j);
                if (_combination == HeadCombination.Max)
                    for (int k = 0; k < j; k++) values[k] = Math.Max(values[k], row[k]);
                else
                    for (int k = 0; k < j; k++) values[k] += row[k];
            }
            _rows[j] = (values, acc.Count + block.Heads);
        }
    }
}
