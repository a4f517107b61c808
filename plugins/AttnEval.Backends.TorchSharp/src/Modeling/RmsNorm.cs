using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace AttnEval.Backends.TorchSharp.Modeling;

/// <summary>RMSNorm: <c>weight · x / sqrt(mean(x²) + ε)</c>, computed in float32 and cast back (HF LlamaRMSNorm).
/// State: <c>weight [d]</c>.</summary>
internal sealed class RmsNorm : nn.Module<Tensor, Tensor>
{
#pragma warning disable IDE1006 // field names are Hugging Face state-dict keys
    private readonly Parameter weight;
#pragma warning restore IDE1006
    private readonly double _eps;

    public RmsNorm(long dim, double eps, Device? device = null) : base(nameof(RmsNorm))
    {
        weight = new Parameter(ones(dim, device: device));
        _eps = eps;
        RegisterComponents();
    }

    /// <param name="x"><c>[B, T, d]</c>.</param>
    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        var xf = x.to(ScalarType.Float32);
        var normed = xf * rsqrt(xf.pow(2).mean([-1], keepdim: true) + _eps);   // [B, T, d]
        return (weight * normed.to(x.dtype)).MoveToOuterDisposeScope();
    }
}
