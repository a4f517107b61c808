namespace AttnEval.Abstractions;

/// <summary>A model-level analysis that scores every head (retrieval heads, safety heads).</summary>
public interface IHeadAnalysis
{
    /// <summary>Runs the protocol.</summary>
    HeadAnalysisResult Run(HeadAnalysisContext context, CancellationToken cancellationToken = default);
}
