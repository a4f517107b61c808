using System.Globalization;
using AttnEval.SemanticKernel.Calibration;
using Microsoft.Extensions.AI;

namespace AttnEval.SemanticKernel;

/// <summary>What a gate does with an answer whose confidence is below its threshold (DESIGN.md §8).</summary>
public enum GatePolicy
{
    /// <summary>Keep the answer and mark it (<c>attneval.gate = flagged</c>): metadata only.</summary>
    Flag,
    /// <summary>Throw a <see cref="LowConfidenceException"/> carrying the answer and its score.</summary>
    Block,
    /// <summary>Replace the answer by <see cref="ConfidenceGateOptions.FallbackText"/> or by the answer of
    /// <see cref="ConfidenceGateOptions.FallbackClient"/>; the original is kept under <c>attneval.original_answer</c>.</summary>
    Fallback,
}

/// <summary>What the gate did with one answer; its metadata spelling is the lower-case name.</summary>
public enum GateAction
{
    /// <summary>Confidence at or above the threshold: the answer goes through unchanged.</summary>
    Passed,
    /// <summary>Below the threshold under <see cref="GatePolicy.Flag"/>: kept and marked.</summary>
    Flagged,
    /// <summary>Below the threshold under <see cref="GatePolicy.Fallback"/>: replaced.</summary>
    Fallback,
    /// <summary>Below the threshold under <see cref="GatePolicy.Block"/>: an exception was thrown.</summary>
    Blocked,
    /// <summary>No confidence could be computed (the scorer threw or had nothing to score with): the answer is kept,
    /// whatever the policy, with <c>attneval.error</c> saying why.</summary>
    Error,
}

/// <summary>Spellings of <see cref="GateAction"/>.</summary>
public static class GateActionExtensions
{
    /// <summary>The metadata value: <c>passed</c>, <c>flagged</c>, <c>fallback</c>, <c>blocked</c> or <c>error</c>.</summary>
    public static string ToMetadata(this GateAction action) => action.ToString().ToLowerInvariant();
}

/// <summary>Settings of a confidence gate, shared by <see cref="ConfidenceChatClient"/> and <see cref="ConfidenceFunctionFilter"/>.</summary>
public sealed class ConfidenceGateOptions
{
    /// <summary>What to do below the threshold; default <see cref="GatePolicy.Flag"/>.</summary>
    public GatePolicy Policy { get; set; } = GatePolicy.Flag;

    /// <summary>Threshold in [0, 1] on <c>attneval.confidence</c>: the calibrated probability of being correct when
    /// <see cref="Calibrator"/> is set (e.g. 0.9 = answer only when P(correct) ≥ 0.9), else the estimator's own
    /// confidence. Default 0.5.</summary>
    public double Threshold { get; set; } = 0.5;

    /// <summary>An isotonic calibrator (<c>attneval calibrate</c>) mapping the score to P(correct); null uses the raw confidence.</summary>
    public IsotonicCalibrator? Calibrator { get; set; }

    /// <summary>The scorer; null uses white-box scores, then returned log-probabilities
    /// (<see cref="ConfidenceGate.DefaultScorer"/>). Add a <see cref="ProxyModelConfidenceScorer"/> for services that return none.</summary>
    public IConfidenceScorer? Scorer { get; set; }

    /// <summary>Replacement answer under <see cref="GatePolicy.Fallback"/> when no <see cref="FallbackClient"/> is set.</summary>
    public string FallbackText { get; set; } = "I am not confident enough to answer that.";

    /// <summary>A second client asked the same conversation under <see cref="GatePolicy.Fallback"/> (e.g. a larger model); its answer is not gated again.</summary>
    public IChatClient? FallbackClient { get; set; }

    /// <summary>Checks the settings.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The threshold is outside [0, 1].</exception>
    public void Validate()
    {
        if (!(Threshold >= 0 && Threshold <= 1))
            throw new ArgumentOutOfRangeException(nameof(Threshold), Threshold, "the gate threshold is a probability: expected a value in [0, 1]");
    }
}

/// <summary>The gate's verdict on one answer.</summary>
/// <param name="Action">What the gate does.</param>
/// <param name="Score">The raw score, or null when none could be computed.</param>
/// <param name="Confidence">The confidence compared with the threshold (calibrated when a calibrator is set), or null.</param>
/// <param name="Threshold">The threshold.</param>
/// <param name="Error">Why there is no confidence (only with <see cref="GateAction.Error"/>).</param>
public sealed record GateDecision(GateAction Action, ConfidenceScore? Score, double? Confidence, double Threshold, string? Error = null);

/// <summary>
/// Scores an answer, calibrates the score and decides what to do with it. A scorer that throws, or finds nothing to
/// score with, yields <see cref="GateAction.Error"/>: the answer is kept and flagged, never dropped.
/// </summary>
public sealed class ConfidenceGate
{
    /// <summary>Creates the gate.</summary>
    /// <exception cref="ArgumentOutOfRangeException">A threshold outside [0, 1].</exception>
    public ConfidenceGate(ConfidenceGateOptions options)
    {
        Options = options ?? throw new ArgumentNullException(nameof(options));
        options.Validate();
        Scorer = options.Scorer ?? DefaultScorer();
    }

    /// <summary>The settings.</summary>
    public ConfidenceGateOptions Options { get; }

    /// <summary>The scorer in use.</summary>
    public IConfidenceScorer Scorer { get; }

    /// <summary>White-box scores first, then returned log-probabilities aggregated as <c>msp</c>.</summary>
    public static IConfidenceScorer DefaultScorer() => new CompositeConfidenceScorer(new WhiteBoxConfidenceScorer(), new LogProbConfidenceScorer());

    /// <summary>Scores and decides.</summary>
    /// <exception cref="OperationCanceledException">Cancelled (the only exception it lets through).</exception>
    public async Task<GateDecision> DecideAsync(ConfidenceScoringContext context, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(context);
        var threshold = Options.Threshold;
        ConfidenceScore? score;
        try
        {
            score = await Scorer.ScoreAsync(context, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            return new GateDecision(GateAction.Error, null, null, threshold, $"scorer failed: {e.GetType().Name}: {e.Message}");
        }
        if (score is null)
            return new GateDecision(GateAction.Error, null, null, threshold,
                (context.Metadata.TryGetValue(AttnEvalMetadata.Error, out var why) && why is string w ? w + "; " : "")
                + "no score: no white-box score, no token log-probabilities and no proxy model for this answer");

        double? confidence;
        try
        {
            confidence = Options.Calibrator is { } cal ? cal.Predict(score) : score.Confidence;
        }
        catch (Exception e) when (e is InvalidOperationException or ArgumentException)
        {
            return new GateDecision(GateAction.Error, score, null, threshold, e.Message);
        }
        if (confidence is null)
            return new GateDecision(GateAction.Error, score, null, threshold,
                $"estimator '{score.Method}' gives no confidence in [0, 1]; set a calibrator fitted for it (attneval calibrate <run-dir> --metric {score.Method})");

        var action = confidence >= threshold ? GateAction.Passed : Options.Policy switch
        {
            GatePolicy.Block => GateAction.Blocked,
            GatePolicy.Fallback => GateAction.Fallback,
            _ => GateAction.Flagged,
        };
        return new GateDecision(action, score, confidence, threshold);
    }
}

/// <summary>Thrown by a gate with <see cref="GatePolicy.Block"/> when an answer's confidence is below the threshold.</summary>
public sealed class LowConfidenceException : Exception
{
    /// <summary>Creates the exception.</summary>
    /// <param name="answer">The blocked answer's text.</param>
    /// <param name="decision">The gate's verdict (score, confidence, threshold).</param>
    /// <param name="response">The blocked chat response, when the gate sat on a chat client.</param>
    public LowConfidenceException(string answer, GateDecision decision, ChatResponse? response = null)
        : base(string.Create(CultureInfo.InvariantCulture,
            $"answer blocked: confidence {decision.Confidence:0.####} is below the threshold {decision.Threshold:0.####} ({decision.Score?.Method}, {decision.Score?.Source})"))
    {
        Answer = answer;
        Decision = decision;
        Response = response;
    }

    /// <summary>The blocked answer's text.</summary>
    public string Answer { get; }
    /// <summary>The gate's verdict.</summary>
    public GateDecision Decision { get; }
    /// <summary>The raw score.</summary>
    public ConfidenceScore? Score => Decision.Score;
    /// <summary>The confidence compared with the threshold.</summary>
    public double? Confidence => Decision.Confidence;
    /// <summary>The blocked chat response (with its metadata), or null.</summary>
    public ChatResponse? Response { get; }
}
