namespace AttnEval.Abstractions;

/// <summary>z_h ← ε·z_h, the head output before W_O (Ships "scaling contribution").</summary>
/// <param name="Head">Query head.</param>
/// <param name="Epsilon">Scale factor, finite.</param>
public sealed record ScaleOutput(HeadId Head, double Epsilon) : HeadIntervention(Head);
