using AttnEval.Abstractions;

namespace AttnEval.Metrics.AttentionSinks;

/// <summary>
/// Streams attention rows into per-head column sums <c>C[l, h, j] = Σ_i A[i, j]</c> and the number of rows seen, all
/// that hidden-sink detection needs: <c>c_j = C_j / (N − j)</c> and, the sink set S being a set of columns,
/// <c>mean_i Σ_{j∈S, j≤i} A[i, j] = Σ_{j∈S} C_j / N</c> (causal rows put no weight on <c>j &gt; i</c>). Memory: L × H × N
/// doubles. Works for a teacher-forced pass (rows in query chunks) and for generation (prefill rows, then one row per
/// step); each position's row must arrive once.
/// </summary>
internal sealed class ColumnSumReducer : IAttentionRowReducer
{
    private readonly double[]?[][] _sums;     // [layer][head] → column sums, grown as keys arrive
    private readonly int[] _rows;              // rows (query positions) seen per layer: N = max position + 1

    /// <summary>Creates the reducer for a model of <paramref name="layers"/> layers.</summary>
    public ColumnSumReducer(int layers)
    {
        _sums = new double[]?[layers][];
        for (int l = 0; l < layers; l++) _sums[l] = [];
        _rows = new int[layers];
    }

    /// <inheritdoc />
    public IReadOnlySet<int>? Layers => null;

    /// <inheritdoc />
    public void Accept(in AttentionRowBlock block)
    {
        if (block.Sequence != 0 || block.Layer < 0 || block.Layer >= _sums.Length) return;
        var layer = _sums[block.Layer];
        if (layer.Length < block.Heads)
        {
            Array.Resize(ref layer, block.Heads);
            _sums[block.Layer] = layer;
        }
        for (int h = 0; h < block.Heads; h++)
        {
            var sums = layer[h] ?? [];
            if (sums.Length < block.KeyLength) Array.Resize(ref sums, Math.Max(block.KeyLength, 2 * sums.Length));
            layer[h] = sums;
            for (int q = 0; q < block.QueryCount; q++)
            {
                var row = block.Row(h, q);
                for (int u = 0; u < row.Length; u++) sums[u] += row[u];
            }
        }
        _rows[block.Layer] = Math.Max(_rows[block.Layer], block.QueryStart + block.QueryCount);
    }

    /// <summary>N: the number of rows (positions 0..N−1) of <paramref name="layer"/> seen.</summary>
    public int Rows(int layer) => _rows[layer];

    /// <summary>Column sums of one head, length N (zeros before any row).</summary>
    public ReadOnlySpan<double> ColumnSums(int layer, int head)
    {
        var sums = head < _sums[layer].Length ? _sums[layer][head] : null;
        int n = _rows[layer];
        return sums is null ? new double[n] : sums.AsSpan(0, Math.Min(n, sums.Length));
    }
}
