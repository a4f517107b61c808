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

    /// <summary>The final normalised hidden states of sequence 0, <c>[T × d_model]</c> row-major, after a forward that wanted them.</summary>
    public float[]? FinalHidden { get; private set; }

    /// <summary>Keeps <paramref name="h"/> (<c>[B, T, d]</c>, after the final norm) when <see cref="WantFinalHidden"/>.</summary>
    public void OfferFinalHidden(global::TorchSharp.torch.Tensor h)
    {
        if (WantFinalHidden) FinalHidden = h[0].to(global::TorchSharp.torch.ScalarType.Float32).cpu().data<float>().ToArray();
    }

    /// <summary>Reusable managed buffer for capture copies.</summary>
    public float[] Buffer { get; set; } = [];

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

    /// <summary>True when layer <paramref name="layer"/> needs the eager (explicit softmax) path.</summary>
    public bool NeedsEager(int layer) => _reducers[layer] is not null || _interventions[layer] is not null;

    /// <summary>Reducers that want layer <paramref name="layer"/> (empty when none).</summary>
    public IReadOnlyList<IAttentionRowReducer> Reducers(int layer) => (IReadOnlyList<IAttentionRowReducer>?)_reducers[layer] ?? [];

    /// <summary>Interventions on layer <paramref name="layer"/>, in request order (empty when none).</summary>
    public IReadOnlyList<HeadIntervention> Interventions(int layer) => (IReadOnlyList<HeadIntervention>?)_interventions[layer] ?? [];
}
