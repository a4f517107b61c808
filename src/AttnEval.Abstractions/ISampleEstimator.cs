namespace AttnEval.Abstractions;

/// <summary>A per-sample uncertainty estimator (UQAC, SAR, MSP, ...).</summary>
public interface ISampleEstimator
{
    /// <summary>What it needs; the runner computes each thing once for all estimators.</summary>
    MetricNeeds Needs { get; }

    /// <summary>Creates this sample's attention reducer, called before generation when
    /// <see cref="Needs"/> has <see cref="MetricNeeds.AttentionRows"/>; otherwise return null.</summary>
    /// <param name="model">The model's shape.</param>
    /// <param name="promptLength">Number of prompt tokens; generated positions follow it.</param>
    IAttentionRowReducer? CreateReducer(ModelInfo model, int promptLength);

    /// <summary>Computes the estimate.</summary>
    /// <exception cref="Exception">Any exception costs this sample's value only (recorded as an error).</exception>
    SampleEstimate Estimate(EstimationContext context);

    /// <summary>What the judged answer's generation should return besides its token scores, so that the estimator needs no
    /// second pass over prompt + answer: top alternatives per step (<see cref="TokenScores.TopK"/>) and the final hidden
    /// states (<see cref="GenerationRequest.CaptureFinalHidden"/>). The host asks for the largest top-k and for hidden
    /// states when any estimator wants them (and the model supports them); an estimator must still check what
    /// <see cref="EstimationContext.Answer"/> holds, since a backend may not deliver them. The default asks for nothing.
    /// Added in contract 1.4.</summary>
    AnswerOutputs AnswerOutputs => default;

    /// <summary>Estimates of several samples (a batch of questions the host generated together), element i for
    /// <c>contexts[i]</c>, so that an estimator that calls the model can batch those calls across questions (UQAC scores
    /// every question's teacher-forced pass in one <see cref="ILanguageModel.ScoreBatch"/>, then every variant in another).
    /// Must give what <see cref="Estimate"/> gives for each. When it throws, the host calls <see cref="Estimate"/> for each
    /// sample, so an error costs only its sample's value. The default calls <see cref="Estimate"/> for each. Added in
    /// contract 1.3.</summary>
    IReadOnlyList<SampleEstimate> EstimateBatch(IReadOnlyList<EstimationContext> contexts)
    {
        ArgumentNullException.ThrowIfNull(contexts);
        return contexts.Select(Estimate).ToList();
    }
}
