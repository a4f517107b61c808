namespace AttnEval.Abstractions;

/// <summary>
/// Runs an agent over a dataset under a reference condition and perturbed conditions, and records one episode per
/// (item, condition, run) through <see cref="AgentEvaluationContext.Record"/>. The host computes the paired statistics
/// (accuracy drop, flips, McNemar, confidence AUROC/ECE per condition) from those records alone.
/// </summary>
public interface IAgentEvaluation
{
    /// <summary>Runs every episode not yet recorded.</summary>
    /// <exception cref="OperationCanceledException">Cancelled; recorded episodes stay.</exception>
    AgentEvaluationResult Run(AgentEvaluationContext context, CancellationToken cancellationToken = default);
}
