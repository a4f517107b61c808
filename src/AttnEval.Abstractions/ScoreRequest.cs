namespace AttnEval.Abstractions;

/// <summary>Teacher-forced scoring of a given continuation.</summary>
public sealed record ScoreRequest
{
    /// <summary>The whole sequence: prompt then continuation.</summary>
    public required IReadOnlyList<int> Tokens { get; init; }
    /// <summary>Index of the first continuation token, in [1, Tokens.Count]; tokens before it are context only.</summary>
    public required int From { get; init; }
    /// <summary>Number of top alternatives to report per scored position (0 = none).</summary>
    public int TopLogProbs { get; init; }
    /// <summary>Attention reducers called during the forward pass.</summary>
    public IReadOnlyList<IAttentionRowReducer> Captures { get; init; } = [];
    /// <summary>Head interventions active during the call.</summary>
    public IReadOnlyList<HeadIntervention> Interventions { get; init; } = [];
    /// <summary>Also return the final normalised hidden state of every position in <see cref="TokenScores.FinalHidden"/>
    /// (UQAC's similarity filter, uq-methods §1.6; generalized Ships, head-methods §2.3). A model whose
    /// <see cref="ILanguageModel.SupportsFinalHidden"/> is false throws <see cref="NotSupportedException"/>. Contract 1.1.</summary>
    public bool CaptureFinalHidden { get; init; }
}
