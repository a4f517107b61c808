using AttnEval.Abstractions;

namespace AttnEval.Backends.TorchSharp.Modeling;

/// <summary>
/// What one <c>Generate</c>/<c>Score</c> call asks of the attention layers: the reducers per layer and the head
/// interventions per layer, grouped by where they act (q, pattern, z) and kept in request order inside each group.
/// Lives for one call only, so interventions never leak into the next call.
/// </summary>
internal sealed class CallControl
{
    private readonly List<IAttentionRowReducer>?[] _reducers;
    private readonly List<HeadIntervention>?[] _interventions;

    /// <summary>Supported intervention types.</summary>
    public static readonly IReadOnlySet<Type> Supported = new HashSet<Type>
    {
        typeof(UniformAttention), typeof(ScaleQuery), typeof(ScaleOutput), typeof(ZeroOutput), typeof(MeanOutput), typeof(ReweightColumns),
    };

    private CallControl(int layers)
    {
        _reducers = new List<IAttentionRowReducer>?[layers];
        _interventions = new List<HeadIntervention>?[layers];
    }

    /// <summary>Bytes of one attention block handed to reducers (and of one eager query chunk); 64 MiB.</summary>
    public long BlockBudgetBytes { get; set; } = 64L << 20;

    /// <summary>Sequences that have finished (their rows are no longer delivered), or null.</summary>
    public bool[]? Finished { get; set; }

    /// <summary>Copy the final normalised hidden states of sequence 0 into <see cref="FinalHidden"/>.</summary>
    public bool WantFinalHidden { get; private init; }

    /// <summary>The final normalised hidden states of every batch row, <c>[B × T × d_model]</c> row-major (float32), after a
    /// forward that wanted them; row 0 first.</summary>
    public float[]? FinalHidden { get; private set; }

    /// <summary>Keeps <paramref name="h"/> (<c>[B, T, d]</c>, after the final norm) when <see cref="WantFinalHidden"/>.</summary>
    public void OfferFinalHidden(global::TorchSharp.torch.Tensor h)
    {
        if (WantFinalHidden) FinalHidden = h.to(global::TorchSharp.torch.ScalarType.Float32).cpu().contiguous().data<float>().ToArray();
    }

    /// <summary>Reusable managed buffer for capture copies.</summary>
    public float[] Buffer { get; set; } = [];

    /// <summary>Reusable managed buffer for the compacted rows of one padded batch row.</summary>
    public float[] Scratch { get; set; } = [];

    /// <summary>Builds the control of one call, or null when nothing is asked (fused attention everywhere).</summary>
    /// <exception cref="NotSupportedException">An unknown intervention type.</exception>
    /// <exception cref="ArgumentException">A head or layer out of range, or a bad parameter.</exception>
    public static CallControl? Create(ModelInfo info, IReadOnlyList<IAttentionRowReducer> captures, IReadOnlyList<HeadIntervention> interventions, bool finalHidden = false)
    {
        if (captures.Count == 0 && interventions.Count == 0 && !finalHidden) return null;
        var c = new CallControl(info.Layers) { WantFinalHidden = finalHidden };
        foreach (var r in captures)
        {
            ArgumentNullException.ThrowIfNull(r, nameof(captures));
            for (int l = 0; l < info.Layers; l++)
                if (r.Layers is null || r.Layers.Contains(l)) (c._reducers[l] ??= []).Add(r);
        }
        foreach (var iv in interventions)
        {
            ArgumentNullException.ThrowIfNull(iv, nameof(interventions));
            if (!Supported.Contains(iv.GetType())) throw new NotSupportedException($"intervention {iv.GetType().Name} is not supported by the torchsharp backend (supported: {string.Join(", ", Supported.Select(t => t.Name))}).");
            if (iv.Head.Layer < 0 || iv.Head.Layer >= info.Layers || iv.Head.Head < 0 || iv.Head.Head >= info.Heads)
                throw new ArgumentException($"intervention {iv} names head {iv.Head}, outside {info.Layers} layers × {info.Heads} heads.", nameof(interventions));
            switch (iv)
            {
                case ScaleQuery sq when !double.IsFinite(sq.Epsilon): throw new ArgumentException($"{iv}: epsilon must be finite.", nameof(interventions));
                case ScaleOutput so when !double.IsFinite(so.Epsilon): throw new ArgumentException($"{iv}: epsilon must be finite.", nameof(interventions));
                case MeanOutput mo when mo.Mean.Count != info.HeadDim: throw new ArgumentException($"{iv}: mean has {mo.Mean.Count} values, expected d_head = {info.HeadDim}.", nameof(interventions));
                case ReweightColumns rc when rc.Beta is < 0 or > 1 || double.IsNaN(rc.Beta): throw new ArgumentException($"{iv}: beta must be in [0, 1].", nameof(interventions));
            }
            (c._interventions[iv.Head.Layer] ??= []).Add(iv);
        }
        return c;
    }

    /// <summary>Per batch row, where its attention rows go (batched calls over several requests); null when every row goes
    /// to the call's reducers with <see cref="AttentionRowBlock.Sequence"/> = the row index.</summary>
    public RowRoute[]? Routes { get; private init; }

    /// <summary>Builds the control of a batched call whose rows belong to different requests: row <c>b</c>'s attention goes
    /// to <c>routes[b]</c>'s reducers only, in that request's own coordinates; the interventions act on every row.
    /// Null when nothing is asked.</summary>
    /// <exception cref="NotSupportedException">An unknown intervention type.</exception>
    /// <exception cref="ArgumentException">A head or layer out of range, or a bad parameter.</exception>
    public static CallControl? CreateRouted(ModelInfo info, IReadOnlyList<RowRoute> routes, IReadOnlyList<HeadIntervention> interventions, bool finalHidden = false)
    {
        var c = Create(info, [], interventions);
        if (c is null && routes.All(r => r.IsEmpty) && !finalHidden) return null;
        c ??= new CallControl(info.Layers);
        return new CallControl(info.Layers, c._interventions) { Routes = routes.ToArray(), WantFinalHidden = finalHidden };
    }

    private CallControl(int layers, List<HeadIntervention>?[] interventions) : this(layers) => _interventions = interventions;

    /// <summary>True when layer <paramref name="layer"/> needs the eager (explicit softmax) path.</summary>
    public bool NeedsEager(int layer) =>
        _reducers[layer] is not null || _interventions[layer] is not null || (Routes is { } routes && routes.Any(r => r.Wants(layer)));

    /// <summary>Reducers that want layer <paramref name="layer"/> (empty when none).</summary>
    public IReadOnlyList<IAttentionRowReducer> Reducers(int layer) => (IReadOnlyList<IAttentionRowReducer>?)_reducers[layer] ?? [];

    /// <summary>Interventions on layer <paramref name="layer"/>, in request order (empty when none).</summary>
    public IReadOnlyList<HeadIntervention> Interventions(int layer) => (IReadOnlyList<HeadIntervention>?)_interventions[layer] ?? [];
}

/// <summary>Where one batch row's attention goes in a batched call over several requests: the reducers of its request by
/// layer, and how its positions map to that request's own: the row's request starts at batch position
/// <see cref="Offset"/> (left padding before it) and holds <see cref="Length"/> positions (right padding after it).</summary>
internal sealed class RowRoute
{
    private readonly List<IAttentionRowReducer>?[] _byLayer;

    /// <summary>A route for the given reducers (each wanting its <see cref="IAttentionRowReducer.Layers"/>).</summary>
    public RowRoute(int layers, IEnumerable<IAttentionRowReducer> reducers, int sequence, int offset = 0, int length = int.MaxValue)
    {
        _byLayer = new List<IAttentionRowReducer>?[layers];
        foreach (var r in reducers)
        {
            ArgumentNullException.ThrowIfNull(r, nameof(reducers));
            for (int l = 0; l < layers; l++)
                if (r.Layers is null || r.Layers.Contains(l)) (_byLayer[l] ??= []).Add(r);
        }
        Sequence = sequence; Offset = offset; Length = length;
    }

    /// <summary>The sequence index the request's reducers see (<see cref="AttentionRowBlock.Sequence"/>).</summary>
    public int Sequence { get; }
    /// <summary>Batch position of the request's position 0.</summary>
    public int Offset { get; }
    /// <summary>Number of real positions from <see cref="Offset"/> on (<see cref="int.MaxValue"/>: up to the end).</summary>
    public int Length { get; }
    /// <summary>True when no reducer wants any layer.</summary>
    public bool IsEmpty => _byLayer.All(l => l is null);
    /// <summary>True when some reducer wants layer <paramref name="layer"/>.</summary>
    public bool Wants(int layer) => _byLayer[layer] is not null;
    /// <summary>The reducers that want layer <paramref name="layer"/>, or null.</summary>
    public List<IAttentionRowReducer>? At(int layer) => _byLayer[layer];
}
