using AttnEval.Abstractions;

namespace AttnEval.Metrics.Uqac;

/// <summary>UQAC's reduced attention matrix <c>M</c> over the response rows (spec §1.4), as backtracking reads it.</summary>
internal interface IReducedAttention
{
    /// <summary>n_instr: rows at absolute positions ≥ this are response rows.</summary>
    int PromptLength { get; }

    /// <summary>Number of response rows held.</summary>
    int RowCount { get; }

    /// <summary>The reduced row at absolute query position <paramref name="position"/> over absolute key positions
    /// (length ≥ position + 1, entries in [0, 1]), or null when there is none (prompt positions, rows never received).</summary>
    float[]? Row(int position);
}

/// <summary>
/// Streams UQAC's attention preparation and head reduction (specs/uq-methods.md §1.4; UQAC code
/// <c>src/attrs/processor.py: attn_mat_preprocessing, attention_calibration, attn_mat_reduction</c>) over the rows a
/// backend hands out during generation, keeping only the reduced matrix <c>M[r, c]</c>.
/// </summary>
/// <remarks>
/// <para>For every response row (query position <c>p ≥ n_instr</c>) and every (layer, head) of the wanted layers, the row
/// <c>a[0..p]</c> is prepared: self-attention <c>a[p]</c> and the sink column <c>a[0]</c> set to 0; keys at distance
/// <c>d = p − c ∈ 1..10</c> multiplied by the recency factor κ_d (<see cref="RecencyFactors"/>); renormalised
/// <c>â = a / (Σ a + 1e−12)</c>; entropy <c>E = −Σ â log(â + 1e−12)</c>. Of all L·H candidates the <c>K</c> with the
/// lowest entropy are kept per row (ties: lower layer, then lower head first) and <c>M[r, c] = max_k â_k[c]</c>, not
/// renormalised. Prompt rows are ignored (the reference prepends all-zero rows for them).</para>
/// <para>Memory: the reduced rows (<c>R × (n_instr + R)</c> floats, one reduced T×T matrix at most) plus, for a row still
/// receiving layers, <c>K</c> candidate rows. During generation each step delivers one query row for all layers in
/// order, so at most one row is pending; a teacher-forced call with many queries per block keeps <c>K</c> candidates for
/// every pending row until its last layer arrives. No L×H×T×T tensor is ever held.</para>
/// <para>The recency bound check fixes the reference's wrap-around when <c>p − 10 &lt; 0</c> ([quirk] of spec §1.4).</para>
/// </remarks>
internal sealed class AttentionChainReducer : IAttentionRowReducer, IReducedAttention
{
    /// <summary>κ_1..κ_10, the recency de-biasing factors for keys 1..10 positions before the query
    /// (spec §1.4 table; UQAC <c>src/utils/macro.py: CALIBRATION_RATIO</c>).</summary>
    public static IReadOnlyList<double> RecencyFactors { get; } =
        [0.16644488, 0.20938152, 0.32959151, 0.46061748, 0.59304059, 0.67549127, 0.73914525, 0.81274293, 0.87378443, 0.93925344];

    private readonly int _topHeads;
    private readonly int _layerCount;
    private readonly Dictionary<int, Pending> _pending = new();
    private readonly Dictionary<int, float[]> _reduced = new();
    private double[] _scratch = [];

    /// <summary>Creates the reducer for one call.</summary>
    /// <param name="promptLength">n_instr: number of prompt tokens; rows at positions ≥ this are response rows.</param>
    /// <param name="modelLayers">Number of layers of the model.</param>
    /// <param name="topHeads">K, the number of lowest-entropy (layer, head) rows kept per query row, ≥ 1 (spec default 16).</param>
    /// <param name="layers">Layers to use (null = all).</param>
    /// <exception cref="ArgumentOutOfRangeException">A count is not positive or a layer is outside the model.</exception>
    public AttentionChainReducer(int promptLength, int modelLayers, int topHeads = 16, IReadOnlySet<int>? layers = null)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(promptLength);
        ArgumentOutOfRangeException.ThrowIfLessThan(modelLayers, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(topHeads, 1);
        if (layers is not null && layers.Any(l => l < 0 || l >= modelLayers))
            throw new ArgumentOutOfRangeException(nameof(layers), $"layers must be in [0, {modelLayers - 1}], got [{string.Join(", ", layers.Order())}]");
        PromptLength = promptLength;
        _topHeads = topHeads;
        Layers = layers;
        _layerCount = layers?.Count ?? modelLayers;
    }

    /// <inheritdoc />
    public IReadOnlySet<int>? Layers { get; }

    /// <summary>n_instr.</summary>
    public int PromptLength { get; }

    /// <summary>Number of finished response rows.</summary>
    public int RowCount => _reduced.Count;

    /// <summary>The reduced row <c>M</c> of the response token at absolute position <paramref name="position"/>, length
    /// <c>position + 1</c> over absolute key positions; null for prompt positions and for rows not (or not fully) received.</summary>
    public float[]? Row(int position) => _reduced.GetValueOrDefault(position);

    /// <inheritdoc />
    public void Accept(in AttentionRowBlock block)
    {
        if (block.Sequence != 0) return;
        for (int q = 0; q < block.QueryCount; q++)
        {
            int p = block.QueryStart + q;
            if (p < PromptLength) continue;
            if (!_pending.TryGetValue(p, out var pending)) _pending[p] = pending = new Pending(_topHeads, p + 1);
            // When K covers every (layer, head) candidate, all are kept and the ranking by entropy cannot change M.
            bool keepAll = _topHeads >= _layerCount * block.Heads;
            for (int h = 0; h < block.Heads; h++)
            {
                var entropy = Prepare(block.Row(h, q), p, !keepAll);
                if (keepAll) pending.Merge(_scratch);
                else pending.Offer(entropy, block.Layer, h, _scratch);
            }
            if (++pending.LayersSeen == _layerCount)
            {
                _reduced[p] = pending.Reduce();
                _pending.Remove(p);
            }
        }
    }

    /// <summary>Prepares one row into the scratch buffer (length p + 1) and returns its entropy (spec §1.4 steps 1–5; 0 when
    /// <paramref name="entropy"/> is false).</summary>
    private double Prepare(ReadOnlySpan<float> row, int p, bool entropy)
    {
        int n = p + 1;
        if (_scratch.Length < n) _scratch = new double[Math.Max(n, _scratch.Length * 2)];
        var a = _scratch.AsSpan(0, n);
        for (int c = 0; c < n; c++) a[c] = c < row.Length ? row[c] : 0;
        a[p] = 0;
        a[0] = 0;
        for (int d = 1; d <= RecencyFactors.Count && p - d >= 0; d++) a[p - d] *= RecencyFactors[d - 1];
        double sum = 0;
        foreach (var x in a) sum += x;
        double inv = 1.0 / (sum + 1e-12), e = 0;
        for (int c = 0; c < n; c++) a[c] *= inv;
        if (!entropy) return 0;
        for (int c = 0; c < n; c++) e -= a[c] * Math.Log(a[c] + 1e-12);
        return e;
    }

    /// <summary>The K lowest-entropy candidate rows of one query position.</summary>
    private sealed class Pending(int capacity, int length)
    {
        private readonly List<(double Entropy, int Layer, int Head, float[] Row)> _kept = new(capacity);
        public int LayersSeen;

        public void Offer(double entropy, int layer, int head, double[] prepared)
        {
            float[] target;
            if (_kept.Count < capacity) { target = new float[length]; _kept.Add((entropy, layer, head, target)); }
            else
            {
                int worst = 0;
                for (int i = 1; i < _kept.Count; i++) if (Worse(_kept[i], _kept[worst])) worst = i;
                // candidates arrive in (layer, head) order, so an equal entropy never displaces an earlier head
                if (!(entropy < _kept[worst].Entropy)) return;
                target = _kept[worst].Row;
                _kept[worst] = (entropy, layer, head, target);
            }
            for (int c = 0; c < length; c++) target[c] = (float)prepared[c];
        }

        private static bool Worse((double E, int L, int H, float[] _) x, (double E, int L, int H, float[] _) y) =>
            x.E > y.E || (x.E == y.E && (x.L, x.H).CompareTo((y.L, y.H)) > 0);

        private float[]? _max;

        /// <summary>Takes a prepared row into the running max directly (every candidate is kept).</summary>
        public void Merge(double[] prepared)
        {
            var m = _max ??= new float[length];
            for (int c = 0; c < length; c++) m[c] = Math.Max(m[c], (float)prepared[c]);
        }

        public float[] Reduce()
        {
            var m = _max ?? new float[length];
            foreach (var k in _kept)
                for (int c = 0; c < length; c++) m[c] = Math.Max(m[c], k.Row[c]);
            return m;
        }
    }
}
