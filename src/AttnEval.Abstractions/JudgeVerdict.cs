namespace AttnEval.Abstractions;

/// <summary>The verdict of a correctness judge on one answer.</summary>
/// <param name="Correct">Whether the answer counts as correct (the label the evaluation metrics use).</param>
/// <param name="Score">A graded score in [0, 1] (1/0 for exact judges, ROUGE-L F for <c>rouge-l</c>).</param>
/// <param name="Extracted">What the judge read from the answer (e.g. the final number), or null.</param>
/// <param name="Expected">What it compared against, or null.</param>
public sealed record JudgeVerdict(bool Correct, double Score, string? Extracted, string? Expected);
