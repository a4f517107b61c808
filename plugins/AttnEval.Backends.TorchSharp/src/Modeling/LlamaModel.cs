using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace AttnEval.Backends.TorchSharp.Modeling;

/// <summary>The Llama trunk (HF <c>model.*</c>): token embedding, decoder layers, final RMSNorm.</summary>
internal sealed class LlamaModel : nn.Module
{
#pragma warning disable IDE1006
    private readonly Embedding embed_tokens;
    private readonly ModuleList<LlamaDecoderLayer> layers;
    private readonly RmsNorm norm;
#pragma warning restore IDE1006
    private readonly RotaryEmbedding _rope;

    public LlamaModel(LlamaConfig c, Device? device) : base(nameof(LlamaModel))
    {
        embed_tokens = nn.Embedding(c.VocabSize, c.HiddenSize, device: device);
        layers = new ModuleList<LlamaDecoderLayer>(Enumerable.Range(0, c.NumHiddenLayers).Select(l => new LlamaDecoderLayer(c, l, device)).ToArray());
        norm = new RmsNorm(c.HiddenSize, c.RmsNormEps, device);
        _rope = new RotaryEmbedding(c.HeadDim, c.RopeTheta, c.RopeScaling);
        RegisterComponents();
    }

    /// <summary>The token embedding matrix <c>[V, d]</c> (the output projection when tied).</summary>
    public Tensor EmbeddingWeight => embed_tokens.weight!;

    /// <param name="ids">Token ids, int64 <c>[B, T]</c>.</param>
    /// <param name="positions">Absolute positions, int64 <c>[B, T]</c> or <c>[T]</c>.</param>
    /// <param name="mask">Extra attention mask or null.</param>
    /// <param name="cache">KV cache or null.</param>
    /// <param name="control">Captures/interventions or null.</param>
    /// <returns>Final normalised hidden states, <c>[B, T, d]</c>.</returns>
    public Tensor Forward(Tensor ids, Tensor positions, Tensor? mask, KvCache? cache, CallControl? control)
    {
        using var scope = NewDisposeScope();
        var x = embed_tokens.forward(ids);                                   // [B, T, d]  hook_embed
        var (cos, sin) = _rope.Tables(positions);                            // [B|1, 1, T, D]
        var a = new AttentionInputs(cos, sin, mask, cache, control);
        foreach (var layer in layers) x = layer.Forward(x, a);
        cache?.Advance((int)ids.shape[1]);
        return norm.forward(x).MoveToOuterDisposeScope();                    // ln_final
    }
}
