namespace AttnEval.Abstractions;

/// <summary>The result of <see cref="ILanguageModel.Generate"/>.</summary>
/// <param name="PromptTokens">The prompt as given.</param>
/// <param name="Sequences">The continuations, <see cref="GenerationRequest.NumSequences"/> of them.</param>
public sealed record GenerationResult(IReadOnlyList<int> PromptTokens, IReadOnlyList<GeneratedSequence> Sequences);
