namespace AttnEval.Abstractions;

/// <summary>One alternative token at a step.</summary>
/// <param name="Token">Token id.</param>
/// <param name="LogProb">Natural-log probability under the (temperature-1) model distribution.</param>
public readonly record struct TokenLogProb(int Token, float LogProb);
