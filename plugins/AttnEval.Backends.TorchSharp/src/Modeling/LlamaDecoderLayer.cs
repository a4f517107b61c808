using TorchSharp;
using static TorchSharp.torch;

namespace AttnEval.Backends.TorchSharp.Modeling;

/// <summary>Pre-norm Llama block: <c>x += attn(rms(x)); x += mlp(rms(x))</c> (TransformerLens <c>blocks.{l}</c>).</summary>
internal sealed class LlamaDecoderLayer : nn.Module
{
#pragma warning disable IDE1006
    private readonly LlamaAttention self_attn;
    private readonly LlamaMlp mlp;
    private readonly RmsNorm input_layernorm, post_attention_layernorm;
#pragma warning restore IDE1006

    public LlamaDecoderLayer(LlamaConfig c, int layer, Device? device) : base(nameof(LlamaDecoderLayer))
    {
        self_attn = new LlamaAttention(c, layer, device);
        mlp = new LlamaMlp(c, device);
        input_layernorm = new RmsNorm(c.HiddenSize, c.RmsNormEps, device);
        post_attention_layernorm = new RmsNorm(c.HiddenSize, c.RmsNormEps, device);
        RegisterComponents();
    }

    /// <param name="x">Residual stream <c>[B, T, d]</c> (hook_resid_pre).</param>
    /// <param name="a">Attention inputs.</param>
    /// <returns>hook_resid_post, <c>[B, T, d]</c>.</returns>
    public Tensor Forward(Tensor x, AttentionInputs a)
    {
        using var scope = NewDisposeScope();
        var mid = x + self_attn.Forward(input_layernorm.forward(x), a);              // hook_resid_mid
        var post = mid + mlp.forward(post_attention_layernorm.forward(mid));         // hook_resid_post
        return post.MoveToOuterDisposeScope();
    }
}
