namespace AttnEval.Abstractions;

/// <summary>Replace the head's pattern by causal-uniform attention U[i,j] = 1/(i+1) for j ≤ i
/// (Wu et al. 2024 masking; Hua et al. 2025 AttentionInfluence; Zhou et al. 2024 "undifferentiated attention").</summary>
public sealed record UniformAttention(HeadId Head) : HeadIntervention(Head);
