namespace AttnEval.Abstractions;

/// <summary>z_h ← 0 (TransformerLens-style zero ablation).</summary>
public sealed record ZeroOutput(HeadId Head) : HeadIntervention(Head);
