using AttnEval.Abstractions;

namespace AttnEval.Metrics.ReasoningRhythm;

/// <summary>
/// One teacher-forced pass over prompt + response, reduced to what WAAD, FAI and the head grouping need (arXiv 2510.13554;
/// specs/head-methods.md §5.1). The grouping (by mean backward distance d) is known only after every response row has been
/// seen, but WAAD and FAI are linear in the attention, so per head it accumulates:
/// <list type="bullet">
/// <item><c>D[k] = Σ_{t∈R} Σ_{s≤t} A[t,s]·(t − s)</c> (one number: d = D / |R|);</item>
/// <item><c>Wd[k][t] = Σ_{s≤t} A[t,s]·min(t − s, W)</c> for each response row t (WAAD of that head alone);</item>
/// <item><c>F[k][s] = Σ_{t∈T(s)} A[t,s]</c> for each response source s, T(s) = { t ∈ R : s + H_lo ≤ t ≤ s + H_hi } (FAI numerator).</item>
/// </list>
/// Averaging over a group of heads commutes with these sums, so <c>WAAD_t = mean_{k∈H_loc} Wd[k][t]</c> and
/// <c>FAI_s = mean_{k∈H_glob} F[k][s] / |T(s)|</c> afterwards (<see cref="RhythmMath.Combine"/>). Memory: 2·(sampled heads)·|R|
/// doubles plus one per head, i.e. O(heads × N); no [L,H,N,N] tensor. Rows may arrive in any blocking (prefill chunks or
/// one row per step); prompt rows and layers outside <see cref="Layers"/> are ignored.
/// </summary>
internal sealed class RhythmReducer : IAttentionRowReducer
{
    private readonly int[] _layers;
    private readonly Dictionary<int, int> _layerIndex;
    private readonly int _heads, _prompt, _total, _window, _hLo, _hHi;
    private readonly double[] _distance;
    private readonly double[][] _waad, _fai;
    private readonly bool[][] _seen;   // [layer index][response row]

    /// <param name="layers">The sampled layers (distinct).</param>
    /// <param name="heads">Query heads per layer.</param>
    /// <param name="promptLength">P: positions 0…P−1 are the prompt, P…N−1 the response R.</param>
    /// <param name="totalLength">N: prompt + response tokens.</param>
    /// <param name="window">W.</param>
    /// <param name="horizonLo">H_lo.</param>
    /// <param name="horizonHi">H_hi.</param>
    public RhythmReducer(IReadOnlyList<int> layers, int heads, int promptLength, int totalLength, int window, int horizonLo, int horizonHi)
    {
        if (promptLength < 1 || totalLength <= promptLength) throw new ArgumentException($"need 1 ≤ prompt length < total length, got {promptLength} and {totalLength}");
        _layers = layers.ToArray();
        _layerIndex = _layers.Select((l, i) => (l, i)).ToDictionary(x => x.l, x => x.i);
        _heads = heads; _prompt = promptLength; _total = totalLength; _window = window; _hLo = horizonLo; _hHi = horizonHi;
        int k = _layers.Length * heads, n = totalLength - promptLength;
        _distance = new double[k];
        _waad = new double[k][];
        _fai = new double[k][];
        for (int i = 0; i < k; i++) { _waad[i] = new double[n]; _fai[i] = new double[n]; }
        _seen = new bool[_layers.Length][];
        for (int i = 0; i < _layers.Length; i++) _seen[i] = new bool[n];
        Layers = _layers.ToHashSet();
    }

    /// <inheritdoc />
    public IReadOnlySet<int>? Layers { get; }

    /// <summary>The sampled layers in the order the head index uses (head index = layer index × H + head).</summary>
    public IReadOnlyList<int> SampledLayers => _layers;
    /// <summary>Query heads per layer.</summary>
    public int HeadsPerLayer => _heads;
    /// <summary>P.</summary>
    public int PromptLength => _prompt;
    /// <summary>|R| = N − P.</summary>
    public int ResponseLength => _total - _prompt;
    /// <summary>H_lo.</summary>
    public int HorizonLo => _hLo;
    /// <summary>H_hi.</summary>
    public int HorizonHi => _hHi;

    /// <inheritdoc />
    public void Accept(in AttentionRowBlock block)
    {
        if (!_layerIndex.TryGetValue(block.Layer, out int li)) return;
        if (block.Heads != _heads) throw new InvalidOperationException($"layer {block.Layer} delivered {block.Heads} heads, expected {_heads}");
        for (int i = 0; i < block.QueryCount; i++)
        {
            int t = block.QueryStart + i;
            if (t < _prompt || t >= _total) continue;
            int r = t - _prompt;
            if (block.KeyLength <= t) throw new InvalidOperationException($"row {t} of layer {block.Layer} has {block.KeyLength} keys; a causal row needs {t + 1}");
            if (_seen[li][r]) throw new InvalidOperationException($"the backend delivered row {t} of layer {block.Layer} twice");
            _seen[li][r] = true;
            int sLo = Math.Max(_prompt, t - _hHi), sHi = t - _hLo;   // FAI sources whose horizon holds t
            for (int h = 0; h < _heads; h++)
            {
                var row = block.Row(h, i);
                int k = li * _heads + h;
                double d = 0, w = 0;
                for (int s = 0; s <= t; s++)
                {
                    double a = row[s];
                    if (a == 0) continue;
                    int back = t - s;
                    d += a * back;
                    w += a * Math.Min(back, _window);
                }
                _distance[k] += d;
                _waad[k][r] = w;
                var fai = _fai[k];
                for (int s = sLo; s <= sHi; s++) fai[s - _prompt] += row[s];
            }
        }
    }

    /// <summary>Throws when a sampled layer is missing a response row (a backend that skipped rows would bias every number).</summary>
    /// <exception cref="InvalidOperationException">A missing row, naming layer and position.</exception>
    public void Check()
    {
        for (int li = 0; li < _layers.Length; li++)
            for (int r = 0; r < _seen[li].Length; r++)
                if (!_seen[li][r]) throw new InvalidOperationException($"the backend delivered no attention row for position {_prompt + r} of layer {_layers[li]}");
    }

    /// <summary>d(l,h) = (1/|R|) Σ_{t∈R} Σ_s A[t,s]·(t − s) of head index <paramref name="k"/>.</summary>
    public double MeanDistance(int k) => _distance[k] / ResponseLength;

    /// <summary>Σ_s A[t,s]·min(t − s, W) of head index <paramref name="k"/> at response row <paramref name="r"/> (t = P + r).</summary>
    public double HeadWaad(int k, int r) => _waad[k][r];

    /// <summary>Σ_{t∈T(s)} A[t,s] of head index <paramref name="k"/> for response source <paramref name="r"/> (s = P + r).</summary>
    public double HeadFaiSum(int k, int r) => _fai[k][r];

    /// <summary>|T(s)| for response source <paramref name="r"/>: rows t with s + H_lo ≤ t ≤ min(N − 1, s + H_hi).</summary>
    public int HorizonSize(int r)
    {
        int s = _prompt + r;
        return Math.Max(0, Math.Min(_total - 1, s + _hHi) - (s + _hLo) + 1);
    }

    /// <summary>The head of index <paramref name="k"/>.</summary>
    public HeadId Head(int k) => new(_layers[k / _heads], k % _heads);

    /// <summary>Number of sampled heads.</summary>
    public int HeadCount => _layers.Length * _heads;
}
