using AttnEval.Abstractions;

namespace AttnEval.Metrics.AttentionUq.Tests;

/// <summary>Attention Score against spec §2.6 (S1): the default mode through a teacher-forced Score pass that feeds the
/// estimator's own reducer, gen_only through the generation rows.</summary>
public sealed class AttentionScoreTests
{
    private static readonly AttentionScoreEstimatorFactory Factory = new();

    /// <summary>A model whose Score delivers S1's teacher-forced rows to the request's captures and records the request.</summary>
    private static (ILanguageModel Model, List<ScoreRequest> Requests) TeacherForcingModel()
    {
        var requests = new List<ScoreRequest>();
        var model = S1.Model(score: req =>
        {
            requests.Add(req);
            foreach (var c in req.Captures) S1.TeacherForced(c);
            return new TokenScores([], [], []);
        });
        return (model, requests);
    }

    [Fact]
    public void Default_mode_sums_all_positions_of_a_teacher_forced_pass_and_matches_S1()
    {
        var (model, requests) = TeacherForcingModel();
        var estimator = S1.Create(Factory);
        estimator.Needs.Should().Be(MetricNeeds.ModelCalls);
        estimator.CreateReducer(model.Info, S1.P).Should().BeNull("the rows come from the estimator's own Score pass");
        var est = S1.Run(estimator, model);
        est.Uncertainty.Should().BeApproximately(6.713938, 1e-6);
        est.Confidence.Should().BeNull();
        est.Details!["layer"].Should().Be(1);
        est.Details["positions"].Should().Be(7);
        var req = requests.Should().ContainSingle().Subject;
        req.Tokens.Should().Equal([.. S1.Prompt, .. S1.Answer]);
        req.From.Should().Be(S1.T, "no log-probability is needed");
        req.Captures.Should().ContainSingle().Which.Layers.Should().BeEquivalentTo(new[] { 1 }, "only l* = ⌊L/2⌋ is made eager");
    }

    [Fact]
    public void Gen_only_reads_the_generation_rows_and_matches_S1()
    {
        var estimator = S1.Create(Factory, new() { ["gen_only"] = true });
        estimator.Needs.Should().Be(MetricNeeds.AttentionRows);
        var est = S1.Run(estimator, S1.Model());                    // Score would fail the test
        est.Uncertainty.Should().BeApproximately(4.016083, 1e-6);
        est.Details!["mode"].Should().Be("gen_only");
        est.Details["positions"].Should().Be(3);
        // n = 1: the slice P … T−2 is empty
        S1.Run(estimator, S1.Model(), logProbs: [-0.7f], answer: [2]).Uncertainty.Should().Be(0);
    }

    [Fact]
    public void The_layer_option_selects_another_diagonal()
    {
        // Layer 0 diagonals: prompt (1, 0.5, 0.4) both heads, answer (0.30, 0.25, 0.40 | 0.60, 0.10, 0.20), last (0.25 | 0.35).
        var (model, requests) = TeacherForcingModel();
        S1.Run(S1.Create(Factory, new() { ["layer"] = 0L }), model).Uncertainty.Should().BeApproximately(6.792199, 1e-6);
        requests.Single().Captures.Single().Layers.Should().BeEquivalentTo(new[] { 0 });
    }

    [Fact]
    public void Bad_layers_are_reported()
    {
        FluentActions.Invoking(() => S1.Create(Factory, new() { ["layer"] = -1L })).Should().Throw<ArgumentException>().WithMessage("metrics.attention-score.layer: -1 is below 0");
        var (model, requests) = TeacherForcingModel();
        FluentActions.Invoking(() => S1.Run(S1.Create(Factory, new() { ["layer"] = 2L }), model)).Should().Throw<InvalidOperationException>()
            .WithMessage("metrics.attention-score.layer: layer 2 is outside the model's 2 layers (0…1)");
        requests.Should().BeEmpty();
        FluentActions.Invoking(() => S1.Run(S1.Create(Factory, new() { ["layer"] = 2L, ["gen_only"] = true }), model)).Should().Throw<InvalidOperationException>()
            .WithMessage("metrics.attention-score.layer: layer 2*");
    }

    [Fact]
    public void Missing_rows_are_reported()
    {
        var model = S1.Model(score: _ => new TokenScores([], [], []));   // a backend that delivers nothing
        FluentActions.Invoking(() => S1.Run(S1.Create(Factory), model)).Should().Throw<InvalidOperationException>()
            .WithMessage("attention-score: the attention row of query position 0 of layer 1 was not delivered");
    }

    [Fact]
    public void Score_is_the_negated_head_mean_of_summed_logs() =>
        AttentionScoreEstimator.Score([[1.0, 0.5], [0.25, 0.0]]).Should().BeApproximately(-(Math.Log(1 + 1e-12) + Math.Log(0.5 + 1e-12) + Math.Log(0.25 + 1e-12) + Math.Log(1e-12)) / 2, 1e-9);
}
