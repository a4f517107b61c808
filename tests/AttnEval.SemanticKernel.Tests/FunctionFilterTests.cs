using Microsoft.Extensions.AI;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.SemanticKernel;
using NSubstitute;

namespace AttnEval.SemanticKernel.Tests;

public class FunctionFilterTests
{
    private static readonly ConfidenceScore Low = new("msp", 2.3, 0.1, ConfidenceSource.LogProbs);
    private static readonly ConfidenceScore High = new("msp", 0.05, 0.95, ConfidenceSource.LogProbs);

    private static Kernel KernelWith(IChatClient model, Action<ConfidenceGateOptions> gate)
    {
        var builder = Kernel.CreateBuilder();
        builder.Services.AddSingleton(model);
        builder.Services.AddAttnEvalConfidence(gate);
        return builder.Build();
    }

    private static readonly KernelFunction Ask = KernelFunctionFactory.CreateFromPrompt("Question: {{$question}}\nAnswer:");

    [Fact]
    public async Task Fallback_replaces_the_function_result()
    {
        var model = Fakes.Client("42");
        var kernel = KernelWith(model, o => { o.Policy = GatePolicy.Fallback; o.FallbackText = "I don't know."; o.Scorer = Fakes.Scorer(Low); });
        var result = await kernel.InvokeAsync(Ask, new() { ["question"] = "2+3?" });

        result.ToString().Should().Be("I don't know.");
        result.GetValue<ChatResponse>()!.Text.Should().Be("I don't know.");
        result.Metadata![AttnEvalMetadata.Gate].Should().Be("fallback");
        result.Metadata[AttnEvalMetadata.OriginalAnswer].Should().Be("42");
        result.Metadata[AttnEvalMetadata.Confidence].Should().Be(0.1);
        result.RenderedPrompt.Should().Be("Question: 2+3?\nAnswer:");
    }

    [Fact]
    public async Task The_scorer_sees_the_rendered_prompt_and_the_answer()
    {
        ConfidenceScoringContext? seen = null;
        var scorer = NSubstitute.Substitute.For<IConfidenceScorer>();
        scorer.ScoreAsync(NSubstitute.Arg.Do<ConfidenceScoringContext>(c => seen = c), NSubstitute.Arg.Any<CancellationToken>()).Returns(ValueTask.FromResult<ConfidenceScore?>(High));
        var result = await KernelWith(Fakes.Client("5"), o => o.Scorer = scorer).InvokeAsync(Ask, new() { ["question"] = "2+3?" });
        seen!.Messages.Should().ContainSingle().Which.Text.Should().Be("Question: 2+3?\nAnswer:");
        seen.Answer.Should().Be("5");
        result.ToString().Should().Be("5");
        result.Metadata![AttnEvalMetadata.Gate].Should().Be("passed");
    }

    [Fact]
    public async Task Flag_keeps_the_answer_and_adds_metadata()
    {
        var result = await KernelWith(Fakes.Client("42"), o => o.Scorer = Fakes.Scorer(Low)).InvokeAsync(Ask, new() { ["question"] = "2+3?" });
        result.ToString().Should().Be("42");
        result.Metadata![AttnEvalMetadata.Gate].Should().Be("flagged");
    }

    [Fact]
    public async Task Block_throws_with_the_answer()
    {
        var kernel = KernelWith(Fakes.Client("42"), o => { o.Policy = GatePolicy.Block; o.Scorer = Fakes.Scorer(Low); });
        var act = () => kernel.InvokeAsync(Ask, new() { ["question"] = "2+3?" });
        (await act.Should().ThrowAsync<LowConfidenceException>()).Which.Answer.Should().Be("42");
    }

    [Fact]
    public async Task A_throwing_scorer_keeps_the_function_result()
    {
        var kernel = KernelWith(Fakes.Client("42"), o => { o.Policy = GatePolicy.Block; o.Scorer = Fakes.ThrowingScorer(); });
        var result = await kernel.InvokeAsync(Ask, new() { ["question"] = "2+3?" });
        result.ToString().Should().Be("42");
        result.Metadata![AttnEvalMetadata.Gate].Should().Be("error");
        ((string)result.Metadata[AttnEvalMetadata.Error]!).Should().Contain("scorer exploded");
    }

    [Fact]
    public async Task Results_gated_in_the_chat_pipeline_are_not_gated_twice()
    {
        var builder = Kernel.CreateBuilder();
        builder.Services.AddAttnEvalConfidence(o => { o.Policy = GatePolicy.Fallback; o.FallbackText = "abstain"; o.Scorer = Fakes.Scorer(Low); });
        builder.Services.AddChatClient(Fakes.Client("42")).UseAttnEvalConfidence();
        var result = await builder.Build().InvokeAsync(Ask, new() { ["question"] = "2+3?" });
        result.ToString().Should().Be("abstain");
        result.Metadata![AttnEvalMetadata.OriginalAnswer].Should().Be("42");
    }

    [Fact]
    public async Task Functions_that_are_not_prompts_pass_through()
    {
        var kernel = KernelWith(Fakes.Client("unused"), o => { o.Policy = GatePolicy.Block; o.Scorer = Fakes.Scorer(Low); });
        var f = KernelFunctionFactory.CreateFromMethod(() => "native", "Native");
        (await kernel.InvokeAsync(f)).ToString().Should().Be("native");
    }
}
