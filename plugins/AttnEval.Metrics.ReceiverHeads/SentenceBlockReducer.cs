using AttnEval.Abstractions;

namespace AttnEval.Metrics.ReceiverHeads;

/// <summary>
/// Streams attention rows into per-head sentence-block sums <c>B[l, h, i, j] = Σ_{t∈S_i, u∈S_j} A[t, u]</c>, from which
/// the sentence-averaged matrix <c>M[i, j] = B[i, j] / (|S_i|·|S_j|)</c> of Thought Anchors follows. Memory:
/// L × H × n² doubles for n sentences, never a token × token matrix. Rows of positions outside every sentence (BOS, the
/// prompt when it is not analysed, EOS) are skipped; keys outside every sentence are ignored.
/// </summary>
internal sealed class SentenceBlockReducer : IAttentionRowReducer
{
    private readonly int[] _sentenceOf;
    private readonly int[] _count;
    private readonly double[]?[] _sums;
    private readonly int[] _heads;
    private readonly double[] _row;

    /// <summary>Creates the reducer.</summary>
    /// <param name="sentenceOf">Per absolute position of the scored sequence: its sentence index in [0, n), or −1.</param>
    /// <param name="sentences">n ≥ 1.</param>
    /// <param name="layers">Layers of the model.</param>
    /// <exception cref="ArgumentException">An index outside [−1, n), or a sentence with no token.</exception>
    public SentenceBlockReducer(IReadOnlyList<int> sentenceOf, int sentences, int layers)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(sentences, 1);
        _sentenceOf = sentenceOf.ToArray();
        _count = new int[sentences];
        foreach (var s in _sentenceOf)
        {
            if (s < -1 || s >= sentences) throw new ArgumentException($"sentence index {s} outside [-1, {sentences})", nameof(sentenceOf));
            if (s >= 0) _count[s]++;
        }
        if (Array.IndexOf(_count, 0) is var empty and >= 0) throw new ArgumentException($"sentence {empty} has no token", nameof(sentenceOf));
        _sums = new double[]?[layers];
        _heads = new int[layers];
        _row = new double[sentences];
    }

    /// <summary>Number of sentences n.</summary>
    public int Sentences => _count.Length;

    /// <summary>Tokens per sentence.</summary>
    public IReadOnlyList<int> TokenCounts => _count;

    /// <inheritdoc />
    public IReadOnlySet<int>? Layers => null;

    /// <inheritdoc />
    public void Accept(in AttentionRowBlock block)
    {
        if (block.Sequence != 0 || block.Layer < 0 || block.Layer >= _sums.Length) return;
        int n = _count.Length;
        var sums = _sums[block.Layer] ??= new double[block.Heads * n * n];
        _heads[block.Layer] = block.Heads;
        int keys = Math.Min(block.KeyLength, _sentenceOf.Length);
        for (int q = 0; q < block.QueryCount; q++)
        {
            int t = block.QueryStart + q;
            if (t >= _sentenceOf.Length) continue;
            int i = _sentenceOf[t];
            if (i < 0) continue;
            for (int h = 0; h < block.Heads; h++)
            {
                var row = block.Row(h, q);
                Array.Clear(_row);
                for (int u = 0; u < keys; u++)
                    if (_sentenceOf[u] is var j and >= 0) _row[j] += row[u];
                int offset = (h * n + i) * n;
                for (int j = 0; j < n; j++) sums[offset + j] += _row[j];
            }
        }
    }

    /// <summary>True when the layer's rows arrived.</summary>
    public bool Has(int layer) => _sums[layer] is not null;

    /// <summary>Sentence-averaged attention of one head, <c>M[i, j] = mean_{t∈S_i, u∈S_j} A[t, u]</c>, n × n row-major
    /// (row i attends, column j is attended); the upper triangle <c>j &gt; i</c> is NaN (masked as in the reference).</summary>
    /// <exception cref="InvalidOperationException">No rows of <paramref name="layer"/> arrived.</exception>
    public double[] Matrix(int layer, int head)
    {
        var sums = _sums[layer] ?? throw new InvalidOperationException($"no attention rows of layer {layer} arrived");
        int n = _count.Length;
        var m = new double[n * n];
        for (int i = 0; i < n; i++)
            for (int j = 0; j < n; j++)
                m[i * n + j] = j > i ? double.NaN : sums[(head * n + i) * n + j] / ((double)_count[i] * _count[j]);
        return m;
    }

    /// <summary>Heads of <paramref name="layer"/> as the backend delivered them (0 before any row).</summary>
    public int HeadsOf(int layer) => _heads[layer];
}
