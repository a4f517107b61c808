using TorchSharp;
using static TorchSharp.torch;

namespace AttnEval.Backends.TorchSharp.Modeling;

/// <summary>
/// Rotary position embedding in the Hugging Face <c>rotate_half</c> layout: dimension i of a head is paired
/// with dimension i + d/2, rotated by angle <c>pos · θ_i</c>, θ_i = base^(−2i/d) (with optional linear or
/// llama3 scaling of θ). The inverse frequencies are kept as managed floats (no module buffer, so the state
/// dict holds only checkpoint tensors).
/// </summary>
internal sealed class RotaryEmbedding
{
    private readonly float[] _invFreq;   // [d/2]
    private readonly double _positionScale;

    public RotaryEmbedding(int headDim, double theta, RopeScaling? scaling)
    {
        _invFreq = new float[headDim / 2];
        _positionScale = 1;
        for (int i = 0; i < headDim / 2; i++)
        {
            double f = 1.0 / Math.Pow(theta, 2.0 * i / headDim);
            if (scaling is { Type: "llama3" } s)
            {
                double lowWave = s.OriginalMaxPositionEmbeddings / s.LowFreqFactor, highWave = s.OriginalMaxPositionEmbeddings / s.HighFreqFactor;
                double wave = 2 * Math.PI / f;
                if (wave > lowWave) f /= s.Factor;
                else if (wave >= highWave)
                {
                    double smooth = (s.OriginalMaxPositionEmbeddings / wave - s.LowFreqFactor) / (s.HighFreqFactor - s.LowFreqFactor);
                    f = (1 - smooth) * f / s.Factor + smooth * f;
                }
            }
            _invFreq[i] = (float)f;
        }
        if (scaling is { Type: "linear" } lin) _positionScale = 1 / lin.Factor;
    }

    /// <summary>cos and sin tables for the given positions: <c>[B or 1, 1, T, d]</c> each, float32.</summary>
    /// <param name="positions">Positions, int64 <c>[B, T]</c> or <c>[T]</c>.</param>
    public (Tensor Cos, Tensor Sin) Tables(Tensor positions)
    {
        var pos = positions.dim() == 1 ? positions.unsqueeze(0) : positions;                   // [B, T]
        var inv = tensor(_invFreq, device: positions.device);                                   // [d/2]
        var angles = pos.to(ScalarType.Float32).mul(_positionScale).unsqueeze(-1) * inv;        // [B, T, d/2]
        var emb = cat([angles, angles], -1).unsqueeze(1);                                       // [B, 1, T, d]
        return (emb.cos(), emb.sin());
    }

    /// <summary>Applies the rotation to x <c>[B, H, T, d]</c> (any float dtype; computed in x's dtype).</summary>
    public static Tensor Apply(Tensor x, Tensor cos, Tensor sin)
    {
        long half = x.shape[3] / 2;
        var x1 = x.narrow(3, 0, half);
        var x2 = x.narrow(3, half, half);
        var rotated = cat([-x2, x1], 3);                                                        // rotate_half(x)
        return x * cos.to(x.dtype) + rotated * sin.to(x.dtype);
    }
}
