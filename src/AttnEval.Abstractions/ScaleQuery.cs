namespace AttnEval.Abstractions;

/// <summary>q_h ← ε·q_h before the scores (Ships/Sahara, Zhou et al. 2024 §3; ε = 1e-4 or 1e-5).</summary>
/// <param name="Head">Query head.</param>
/// <param name="Epsilon">Scale factor, finite, usually in (0, 1].</param>
public sealed record ScaleQuery(HeadId Head, double Epsilon) : HeadIntervention(Head);
