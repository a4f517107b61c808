namespace AttnEval.Abstractions;

/// <summary>Multiply the pattern columns in <paramref name="Columns"/> by β and give the freed mass to the
/// other columns of the row in proportion to their weight, so rows still sum to 1 (ACT sink calibration, Yu et al. 2024).</summary>
/// <param name="Head">Query head.</param>
/// <param name="Columns">Absolute key positions to reweight.</param>
/// <param name="Beta">Factor in [0, 1].</param>
public sealed record ReweightColumns(HeadId Head, IReadOnlyList<int> Columns, double Beta) : HeadIntervention(Head);
