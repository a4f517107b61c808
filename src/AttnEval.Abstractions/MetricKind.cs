namespace AttnEval.Abstractions;

/// <summary>The three kinds of metric (DESIGN.md §4).</summary>
public enum MetricKind
{
    /// <summary>A scalar uncertainty per sample (higher = less trustworthy), optionally a confidence in [0, 1].</summary>
    SampleEstimator,
    /// <summary>A score per attention head for a whole model.</summary>
    HeadAnalysis,
    /// <summary>A score per document of a corpus.</summary>
    DataScorer,
    /// <summary>An agent evaluation: episodes of an agent loop under clean and perturbed conditions (<see cref="IAgentEvaluationFactory"/>).</summary>
    AgentEvaluation,
}
