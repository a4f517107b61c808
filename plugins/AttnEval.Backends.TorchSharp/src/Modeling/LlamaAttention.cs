using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace AttnEval.Backends.TorchSharp.Modeling;

/// <summary>Inputs of one attention layer besides the residual stream.</summary>
/// <param name="Cos">RoPE cosines, <c>[B or 1, 1, T, D]</c> (unused by GPT-2).</param>
/// <param name="Sin">RoPE sines, same shape.</param>
/// <param name="Mask">Extra mask (see <see cref="AttentionCore.Attend"/>), or null.</param>
/// <param name="Cache">KV cache, or null for a stateless forward.</param>
/// <param name="Control">The call's captures and interventions, or null.</param>
internal sealed record AttentionInputs(Tensor? Cos, Tensor? Sin, Tensor? Mask, KvCache? Cache, CallControl? Control)
{
    /// <summary>Absolute position of the first new token.</summary>
    public int Past => Cache?.Length ?? 0;
}

/// <summary>
/// Llama grouped-query self-attention (TransformerLens <c>blocks.{l}.attn</c>). State: <c>q_proj [H·D, d]</c>,
/// <c>k_proj</c>/<c>v_proj [Hkv·D, d]</c> (optional biases, Qwen2), <c>o_proj [d, H·D]</c>.
/// </summary>
internal sealed class LlamaAttention : nn.Module
{
#pragma warning disable IDE1006
    private readonly Linear q_proj, k_proj, v_proj, o_proj;
#pragma warning restore IDE1006
    private readonly int _layer, _heads, _kvHeads, _headDim;

    public LlamaAttention(LlamaConfig c, int layer, Device? device) : base(nameof(LlamaAttention))
    {
        _layer = layer; _heads = c.NumAttentionHeads; _kvHeads = c.NumKeyValueHeads; _headDim = c.HeadDim;
        q_proj = nn.Linear(c.HiddenSize, _heads * _headDim, hasBias: c.QkvBias, device: device);
        k_proj = nn.Linear(c.HiddenSize, _kvHeads * _headDim, hasBias: c.QkvBias, device: device);
        v_proj = nn.Linear(c.HiddenSize, _kvHeads * _headDim, hasBias: c.QkvBias, device: device);
        o_proj = nn.Linear(_heads * _headDim, c.HiddenSize, hasBias: c.AttentionBias, device: device);
        RegisterComponents();
    }

    /// <param name="x">Normalised residual, <c>[B, T, d]</c>.</param>
    /// <param name="a">Positions, mask, cache, control.</param>
    /// <returns>Attention output, <c>[B, T, d]</c>.</returns>
    public Tensor Forward(Tensor x, AttentionInputs a)
    {
        using var scope = NewDisposeScope();
        long b = x.shape[0], t = x.shape[1];
        var q = q_proj.forward(x).view(b, t, _heads, _headDim).transpose(1, 2);        // [B, H, T, D]   hook_q
        var k = k_proj.forward(x).view(b, t, _kvHeads, _headDim).transpose(1, 2);      // [B, Hkv, T, D] hook_k
        var v = v_proj.forward(x).view(b, t, _kvHeads, _headDim).transpose(1, 2);      // [B, Hkv, T, D] hook_v
        q = RotaryEmbedding.Apply(q, a.Cos!, a.Sin!);                                   // hook_rot_q
        k = RotaryEmbedding.Apply(k, a.Cos!, a.Sin!);                                   // hook_rot_k
        int past = a.Past;
        if (a.Cache is not null) (k, v) = a.Cache.Append(_layer, k, v);               // [B, Hkv, past+T, D]
        var z = AttentionCore.Attend(q, k, v, past, a.Mask, _layer, a.Control);         // [B, H, T, D]   hook_z
        var merged = z.transpose(1, 2).reshape(b, t, _heads * _headDim);                // [B, T, H·D]
        return o_proj.forward(merged).MoveToOuterDisposeScope();                        // [B, T, d]      hook_attn_out
    }
}
