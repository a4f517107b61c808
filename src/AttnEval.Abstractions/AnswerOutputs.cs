namespace AttnEval.Abstractions;

/// <summary>What an estimator wants the judged answer's generation to return (<see cref="ISampleEstimator.AnswerOutputs"/>).
/// Added in contract 1.4.</summary>
/// <param name="TopLogProbs">Top alternatives per generated token, ≥ 0 (0 = none).</param>
/// <param name="FinalHidden">The final normalised hidden state of every fed position (<see cref="GenerationRequest.CaptureFinalHidden"/>).</param>
public readonly record struct AnswerOutputs(int TopLogProbs = 0, bool FinalHidden = false);
