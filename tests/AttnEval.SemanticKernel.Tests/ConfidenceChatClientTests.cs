using AttnEval.SemanticKernel.Calibration;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.DependencyInjection;
using NSubstitute;

namespace AttnEval.SemanticKernel.Tests;

public class ConfidenceChatClientTests
{
    private static readonly ConfidenceScore Low = new("msp", 2.3, 0.1, ConfidenceSource.LogProbs);
    private static readonly ConfidenceScore High = new("msp", 0.05, 0.95, ConfidenceSource.LogProbs);

    private static IChatClient Gated(IChatClient inner, GatePolicy policy, IConfidenceScorer scorer, Action<ConfidenceGateOptions>? more = null) =>
        inner.AsBuilder().UseAttnEvalConfidence(o =>
        {
            o.Policy = policy;
            o.Threshold = 0.5;
            o.Scorer = scorer;
            more?.Invoke(o);
        }).Build();

    private static void ShouldCarry(ChatResponse r, string gate, double? confidence)
    {
        foreach (var props in new[] { r.AdditionalProperties, r.Messages[^1].AdditionalProperties })
        {
            props.Should().NotBeNull();
            props![AttnEvalMetadata.Gate].Should().Be(gate);
            if (confidence is { } c) props[AttnEvalMetadata.Confidence].Should().Be(c);
            else props.ContainsKey(AttnEvalMetadata.Confidence).Should().BeFalse();
            props[AttnEvalMetadata.Threshold].Should().Be(0.5);
        }
    }

    [Fact]
    public async Task Flag_keeps_a_low_confidence_answer_and_marks_response_and_message()
    {
        var r = await Gated(Fakes.Client("5"), GatePolicy.Flag, Fakes.Scorer(Low)).GetResponseAsync(Fakes.Question());
        r.Text.Should().Be("5");
        ShouldCarry(r, "flagged", 0.1);
        r.AdditionalProperties![AttnEvalMetadata.Uncertainty].Should().Be(2.3);
        r.Messages[^1].AdditionalProperties![AttnEvalMetadata.Score].Should().Be(Low);
    }

    [Fact]
    public async Task A_confident_answer_passes_under_every_policy()
    {
        foreach (var policy in Enum.GetValues<GatePolicy>())
        {
            var r = await Gated(Fakes.Client("5"), policy, Fakes.Scorer(High)).GetResponseAsync(Fakes.Question());
            r.Text.Should().Be("5");
            ShouldCarry(r, "passed", 0.95);
        }
    }

    [Fact]
    public async Task Block_throws_with_the_answer_and_its_score()
    {
        var act = () => Gated(Fakes.Client("42"), GatePolicy.Block, Fakes.Scorer(Low)).GetResponseAsync(Fakes.Question());
        var e = (await act.Should().ThrowAsync<LowConfidenceException>()).Which;
        e.Answer.Should().Be("42");
        e.Score.Should().Be(Low);
        e.Confidence.Should().Be(0.1);
        e.Decision.Threshold.Should().Be(0.5);
        e.Response!.AdditionalProperties![AttnEvalMetadata.Gate].Should().Be("blocked");
        e.Message.Should().Contain("0.1").And.Contain("0.5");
    }

    [Fact]
    public async Task Fallback_text_replaces_the_answer_and_keeps_the_original_in_metadata()
    {
        var r = await Gated(Fakes.Client("42"), GatePolicy.Fallback, Fakes.Scorer(Low), o => o.FallbackText = "I don't know.")
            .GetResponseAsync(Fakes.Question());
        r.Text.Should().Be("I don't know.");
        ShouldCarry(r, "fallback", 0.1);
        r.AdditionalProperties![AttnEvalMetadata.OriginalAnswer].Should().Be("42");
        r.Messages[^1].AdditionalProperties![AttnEvalMetadata.OriginalAnswer].Should().Be("42");
    }

    [Fact]
    public async Task Fallback_client_is_asked_the_same_conversation()
    {
        var second = Fakes.Client("5, says the big model");
        var question = Fakes.Question();
        var r = await Gated(Fakes.Client("42"), GatePolicy.Fallback, Fakes.Scorer(Low), o => o.FallbackClient = second).GetResponseAsync(question);
        r.Text.Should().Be("5, says the big model");
        r.AdditionalProperties![AttnEvalMetadata.OriginalAnswer].Should().Be("42");
        await second.Received(1).GetResponseAsync(Arg.Is<IEnumerable<ChatMessage>>(m => m.Single().Text == "What is 2+3?"), Arg.Any<ChatOptions?>(), Arg.Any<CancellationToken>());
    }

    [Theory]
    [InlineData(GatePolicy.Block)]
    [InlineData(GatePolicy.Fallback)]
    [InlineData(GatePolicy.Flag)]
    public async Task A_throwing_scorer_does_not_lose_the_answer(GatePolicy policy)
    {
        var r = await Gated(Fakes.Client("42"), policy, Fakes.ThrowingScorer()).GetResponseAsync(Fakes.Question());
        r.Text.Should().Be("42");
        ShouldCarry(r, "error", null);
        ((string)r.AdditionalProperties![AttnEvalMetadata.Error]!).Should().Contain("scorer exploded");
    }

    [Fact]
    public async Task No_source_of_confidence_is_flagged_as_error_not_dropped()
    {
        var r = await Fakes.Client("42").AsBuilder().UseAttnEvalConfidence(o => o.Policy = GatePolicy.Block).Build().GetResponseAsync(Fakes.Question());
        r.Text.Should().Be("42");
        r.AdditionalProperties![AttnEvalMetadata.Gate].Should().Be("error");
        ((string)r.AdditionalProperties[AttnEvalMetadata.Error]!).Should().Contain("no token log-probabilities");
    }

    [Fact]
    public async Task OpenAI_style_logprobs_on_the_message_are_scored_as_msp()
    {
        // Σ ℓ = −0.1 − 0.2 − 0.4 = −0.7 → U = 0.7, P(answer) = e^−0.7 = 0.4966
        var props = new AdditionalPropertiesDictionary
        {
            [AttnEvalMetadata.OpenAiLogProbs] = new List<FakeOpenAiTokenLogProb> { new("4", -0.1f), new("2", -0.2f), new(".", -0.4f) },
        };
        var r = await Fakes.Client("42.", props).AsBuilder().UseAttnEvalConfidence(o => o.Threshold = 0.5).Build().GetResponseAsync(Fakes.Question());
        var score = (ConfidenceScore)r.AdditionalProperties![AttnEvalMetadata.Score]!;
        score.Method.Should().Be("msp");
        score.Source.Should().Be(ConfidenceSource.LogProbs);
        score.Uncertainty.Should().BeApproximately(0.7, 1e-6);
        ((double)r.AdditionalProperties[AttnEvalMetadata.Confidence]!).Should().BeApproximately(Math.Exp(-0.7), 1e-6);
        r.AdditionalProperties[AttnEvalMetadata.Gate].Should().Be("flagged"); // 0.4966 < 0.5
    }

    [Fact]
    public async Task Logprobs_in_the_raw_representation_are_read_too()
    {
        var inner = Substitute.For<IChatClient>();
        inner.GetResponseAsync(Arg.Any<IEnumerable<ChatMessage>>(), Arg.Any<ChatOptions?>(), Arg.Any<CancellationToken>())
            .Returns(new ChatResponse(new ChatMessage(ChatRole.Assistant, "ok")) { RawRepresentation = new FakeCompletion([new("o", -0.5f), new("k", -0.5f)]) });
        var r = await inner.AsBuilder().UseAttnEvalConfidence(o => o.Scorer = new LogProbConfidenceScorer(LogProbAggregation.Perplexity)).Build()
            .GetResponseAsync(Fakes.Question());
        var score = (ConfidenceScore)r.AdditionalProperties![AttnEvalMetadata.Score]!;
        score.Method.Should().Be("perplexity");
        score.Uncertainty.Should().BeApproximately(0.5, 1e-6);
        score.Tokens.Should().Be(2);
    }

    public sealed record FakeCompletion(IReadOnlyList<FakeOpenAiTokenLogProb> ContentTokenLogProbabilities);

    [Fact]
    public async Task Positive_logprobs_are_bad_input_and_flagged_with_their_index()
    {
        var props = new AdditionalPropertiesDictionary { [AttnEvalMetadata.OpenAiLogProbs] = new double[] { -0.1, 0.3 } };
        var r = await Fakes.Client("ab", props).AsBuilder().UseAttnEvalConfidence().Build().GetResponseAsync(Fakes.Question());
        r.Text.Should().Be("ab");
        r.AdditionalProperties![AttnEvalMetadata.Gate].Should().Be("error");
        ((string)r.AdditionalProperties[AttnEvalMetadata.Error]!).Should().Contain("log-probability 1 is 0.3");
    }

    [Fact]
    public async Task The_threshold_applies_to_the_calibrated_probability()
    {
        // Calibrator: u ≤ 1 → P = 1, u ≥ 3 → P = 0 (fitted on 4 labelled samples); U = 2 → 0.5 by interpolation.
        var cal = IsotonicCalibrator.Fit("msp", CalibrationInput.Uncertainty, [1, 1, 3, 3], [true, true, false, false]);
        var score = new ConfidenceScore("msp", 2.0, 0.01, ConfidenceSource.LogProbs);
        var r = await Gated(Fakes.Client("x"), GatePolicy.Block, Fakes.Scorer(score), o => { o.Calibrator = cal; o.Threshold = 0.45; })
            .GetResponseAsync(Fakes.Question());
        r.AdditionalProperties![AttnEvalMetadata.Confidence].Should().Be(0.5);
        r.AdditionalProperties[AttnEvalMetadata.RawConfidence].Should().Be(0.01);
        r.AdditionalProperties[AttnEvalMetadata.Gate].Should().Be("passed");
    }

    [Fact]
    public async Task A_calibrator_for_another_method_is_refused_and_the_answer_kept()
    {
        var cal = IsotonicCalibrator.Fit("perplexity", CalibrationInput.Uncertainty, [1, 3], [true, false]);
        var r = await Gated(Fakes.Client("x"), GatePolicy.Block, Fakes.Scorer(Low), o => o.Calibrator = cal).GetResponseAsync(Fakes.Question());
        r.Text.Should().Be("x");
        r.AdditionalProperties![AttnEvalMetadata.Gate].Should().Be("error");
        ((string)r.AdditionalProperties[AttnEvalMetadata.Error]!).Should().Contain("fitted for 'perplexity'").And.Contain("'msp'");
    }

    [Fact]
    public async Task Streaming_buffers_then_releases_the_updates_with_the_verdict_on_the_last()
    {
        var updates = new List<ChatResponseUpdate>();
        await foreach (var u in Gated(Fakes.Client("the answer is 5"), GatePolicy.Flag, Fakes.Scorer(Low)).GetStreamingResponseAsync(Fakes.Question()))
            updates.Add(u);
        // The verdict rides on the last content update (→ message) and on a trailing empty update (→ response).
        updates.Select(u => u.Text).Should().Equal("the", " answer", " is", " 5", "");
        updates[^1].AdditionalProperties![AttnEvalMetadata.Gate].Should().Be("flagged");
        updates[^2].AdditionalProperties![AttnEvalMetadata.Gate].Should().Be("flagged");
        updates.Take(3).Should().OnlyContain(u => u.AdditionalProperties == null);
        var r = updates.ToChatResponse();
        r.Text.Should().Be("the answer is 5");
        AttnEvalMetadata.Read(r, AttnEvalMetadata.Confidence).Should().Be(0.1);
    }

    [Fact]
    public async Task Streaming_then_ToChatResponseAsync_carries_the_verdict_on_the_response_and_the_last_message()
    {
        // Issue 14 item 13: non-streaming puts the verdict on both; the streamed updates joined by MEAI must too.
        var r = await Gated(Fakes.Client("the answer is 5"), GatePolicy.Flag, Fakes.Scorer(Low)).GetStreamingResponseAsync(Fakes.Question()).ToChatResponseAsync();
        r.Text.Should().Be("the answer is 5");
        ShouldCarry(r, "flagged", 0.1);
        var passed = await Gated(Fakes.Client("the answer is 5"), GatePolicy.Flag, Fakes.Scorer(High)).GetStreamingResponseAsync(Fakes.Question()).ToChatResponseAsync();
        ShouldCarry(passed, "passed", 0.95);
        var fallback = await Gated(Fakes.Client("the answer is 5"), GatePolicy.Fallback, Fakes.Scorer(Low), o => o.FallbackText = "no idea")
            .GetStreamingResponseAsync(Fakes.Question()).ToChatResponseAsync();
        fallback.Text.Should().Be("no idea");
        ShouldCarry(fallback, "fallback", 0.1);
        fallback.Messages[^1].AdditionalProperties![AttnEvalMetadata.OriginalAnswer].Should().Be("the answer is 5");
        var viaClient = await Gated(Fakes.Client("the answer is 5"), GatePolicy.Fallback, Fakes.Scorer(Low), o => o.FallbackClient = Fakes.Client("ask again"))
            .GetStreamingResponseAsync(Fakes.Question()).ToChatResponseAsync();
        viaClient.Text.Should().Be("ask again");
        ShouldCarry(viaClient, "fallback", 0.1);
    }

    [Fact]
    public async Task Streaming_block_throws_before_releasing_anything()
    {
        var seen = 0;
        var act = async () =>
        {
            await foreach (var _ in Gated(Fakes.Client("the answer is 5"), GatePolicy.Block, Fakes.Scorer(Low)).GetStreamingResponseAsync(Fakes.Question()))
                seen++;
        };
        (await act.Should().ThrowAsync<LowConfidenceException>()).Which.Answer.Should().Be("the answer is 5");
        seen.Should().Be(0);
    }

    [Fact]
    public async Task Streaming_fallback_releases_only_the_replacement()
    {
        var updates = new List<ChatResponseUpdate>();
        await foreach (var u in Gated(Fakes.Client("the answer is 5"), GatePolicy.Fallback, Fakes.Scorer(Low), o => o.FallbackText = "no idea")
                           .GetStreamingResponseAsync(Fakes.Question()))
            updates.Add(u);
        updates.Select(u => u.Text).Should().Equal("no idea", "");
        updates[0].AdditionalProperties![AttnEvalMetadata.OriginalAnswer].Should().Be("the answer is 5");
    }

    [Fact]
    public async Task Streaming_with_a_throwing_scorer_releases_the_answer()
    {
        var updates = new List<ChatResponseUpdate>();
        await foreach (var u in Gated(Fakes.Client("a b"), GatePolicy.Block, Fakes.ThrowingScorer()).GetStreamingResponseAsync(Fakes.Question()))
            updates.Add(u);
        updates.ToChatResponse().Text.Should().Be("a b");
        updates[^1].AdditionalProperties![AttnEvalMetadata.Gate].Should().Be("error");
    }

    [Fact]
    public async Task DI_gate_is_used_by_the_pipeline_built_from_services()
    {
        var services = new ServiceCollection();
        services.AddAttnEvalConfidence(o => { o.Policy = GatePolicy.Fallback; o.FallbackText = "abstain"; o.Scorer = Fakes.Scorer(Low); });
        services.AddChatClient(Fakes.Client("42")).UseAttnEvalConfidence();
        using var sp = services.BuildServiceProvider();
        var client = sp.GetRequiredService<IChatClient>();
        client.GetService<ConfidenceGate>().Should().BeSameAs(sp.GetRequiredService<ConfidenceGate>());
        (await client.GetResponseAsync(Fakes.Question())).Text.Should().Be("abstain");
        sp.GetServices<Microsoft.SemanticKernel.IFunctionInvocationFilter>().Should().ContainSingle().Which.Should().BeOfType<ConfidenceFunctionFilter>();
    }

    [Fact]
    public void A_threshold_outside_0_1_is_refused()
    {
        var act = () => new ConfidenceGate(new ConfidenceGateOptions { Threshold = 1.5 });
        act.Should().Throw<ArgumentOutOfRangeException>().WithMessage("*probability*[0, 1]*");
    }
}
