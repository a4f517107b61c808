using AttnEval.Abstractions;

namespace AttnEval.Metrics.ReceiverHeads.Tests;

public sealed class OptionTests
{
    private static OptionValues O(string key, object value) => new(new Dictionary<string, object?> { [key] = value });

    [Theory]
    [InlineData("top_k", 0L)]
    [InlineData("proximity_ignore", -1L)]
    [InlineData("max_new_tokens", 0L)]
    [InlineData("min_sentences", 0L)]
    [InlineData("response", "sampled")]
    [InlineData("boundaries", "paragraphs")]
    public void Out_of_range_options_are_refused_naming_the_option(string key, object value)
    {
        var act = () => new ReceiverHeadsFactory().Create(O(key, value));
        act.Should().Throw<ArgumentException>().WithMessage($"metrics.receiver-heads.{key}:*");
    }

    [Fact]
    public void Defaults_follow_the_reference()
    {
        var o = ReceiverHeadOptions.From(OptionValues.Empty);
        o.TopK.Should().Be(20);
        o.ProximityIgnore.Should().Be(4);
        o.ExcludeLayer0.Should().BeTrue();
        o.IncludePrompt.Should().BeFalse();
        o.Boundaries.Should().Be(SentenceBoundaries.Sentences);
        new ReceiverHeadsFactory().Options.Select(s => s.Key).Should().OnlyHaveUniqueItems();
        new ReceiverHeadsFactory().Kind.Should().Be(MetricKind.HeadAnalysis);
    }
}
