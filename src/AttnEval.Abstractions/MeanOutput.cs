namespace AttnEval.Abstractions;

/// <summary>z_h ← a fixed mean vector at every position (mean ablation).</summary>
/// <param name="Head">Query head.</param>
/// <param name="Mean">Mean head output over a reference set, length d_head.</param>
public sealed record MeanOutput(HeadId Head, IReadOnlyList<float> Mean) : HeadIntervention(Head);
