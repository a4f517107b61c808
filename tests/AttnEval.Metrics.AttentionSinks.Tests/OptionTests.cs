using AttnEval.Abstractions;

namespace AttnEval.Metrics.AttentionSinks.Tests;

public sealed class OptionTests
{
    private static OptionValues O(string key, object value) => new(new Dictionary<string, object?> { [key] = value });

    [Theory]
    [InlineData("tau", 1.5)]
    [InlineData("tau", -0.1)]
    [InlineData("act_beta", 1.01)]
    [InlineData("min_rows", 0L)]
    [InlineData("max_new_tokens", 0L)]
    [InlineData("act_top_k", 0L)]
    [InlineData("sequence", "document")]
    public void Out_of_range_options_are_refused_naming_the_option(string key, object value)
    {
        var act = () => new AttentionSinksFactory().Create(O(key, value));
        act.Should().Throw<ArgumentException>().WithMessage($"metrics.attention-sinks.{key}:*");
    }

    [Fact]
    public void A_head_list_with_a_bad_name_is_refused_naming_the_option()
    {
        var act = () => new AttentionSinksFactory().Create(O("act_heads", new List<object?> { "1-2", "L3" }));
        act.Should().Throw<ArgumentException>().WithMessage("metrics.attention-sinks.act_heads[1]:*");
    }

    [Fact]
    public void Defaults_follow_the_reference()
    {
        var o = AttentionSinkOptions.From(OptionValues.Empty);
        o.Tau.Should().Be(0.1);
        o.ActBeta.Should().Be(0.4);
        o.MinRows.Should().Be(1);
        o.Generate.Should().BeFalse();
        o.ActCheck.Should().BeFalse();
        new AttentionSinksFactory().Options.Select(s => s.Key).Should().OnlyHaveUniqueItems();
    }
}
