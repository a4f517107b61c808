using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace AttnEval.Backends.TorchSharp.Modeling;

/// <summary>SwiGLU MLP: <c>down_proj(silu(gate_proj(x)) · up_proj(x))</c>. State: <c>gate_proj</c>/<c>up_proj [ff, d]</c>, <c>down_proj [d, ff]</c>.</summary>
internal sealed class LlamaMlp : nn.Module<Tensor, Tensor>
{
#pragma warning disable IDE1006
    private readonly Linear gate_proj, up_proj, down_proj;
#pragma warning restore IDE1006

    public LlamaMlp(LlamaConfig c, Device? device) : base(nameof(LlamaMlp))
    {
        gate_proj = nn.Linear(c.HiddenSize, c.IntermediateSize, hasBias: false, device: device);
        up_proj = nn.Linear(c.HiddenSize, c.IntermediateSize, hasBias: false, device: device);
        down_proj = nn.Linear(c.IntermediateSize, c.HiddenSize, hasBias: false, device: device);
        RegisterComponents();
    }

    /// <param name="x"><c>[B, T, d]</c>.</param>
    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        var hidden = nn.functional.silu(gate_proj.forward(x)) * up_proj.forward(x);   // [B, T, ff]  hook_post
        return down_proj.forward(hidden).MoveToOuterDisposeScope();                    // [B, T, d]   hook_mlp_out
    }
}
