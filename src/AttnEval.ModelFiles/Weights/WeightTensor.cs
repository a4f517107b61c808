namespace AttnEval.ModelFiles.Weights;

/// <summary>One weight tensor read into float32, row-major, with its Hugging Face state-dict name.</summary>
/// <param name="Name">State-dict key, e.g. <c>model.layers.0.self_attn.q_proj.weight</c>.</param>
/// <param name="Shape">Dimensions, outermost first (PyTorch <c>nn.Linear.weight</c> is <c>[out, in]</c>).</param>
/// <param name="Data">The values, length = product of <paramref name="Shape"/>.</param>
public sealed record WeightTensor(string Name, int[] Shape, float[] Data)
{
    /// <summary>Number of elements.</summary>
    public long Count => Data.LongLength;
}
