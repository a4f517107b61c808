using AttnEval.Abstractions;

namespace AttnEval.Core.Tests;

public class HeadIdTests
{
    [Theory]
    [InlineData("3-5", 3, 5)]
    [InlineData("L3H5", 3, 5)]
    [InlineData(" l12h0 ", 12, 0)]
    [InlineData("0-31", 0, 31)]
    public void Parses_both_forms(string text, int layer, int head) =>
        HeadId.Parse(text).Should().Be(new HeadId(layer, head));

    [Theory]
    [InlineData("")]
    [InlineData("3")]
    [InlineData("-3-5")]
    [InlineData("L3")]
    [InlineData("LH5")]
    [InlineData("3-x")]
    public void Rejects_malformed(string text)
    {
        HeadId.TryParse(text, out _).Should().BeFalse();
        var act = () => HeadId.Parse(text);
        act.Should().Throw<FormatException>().WithMessage("*layer-head*");
    }

    [Fact]
    public void Formats_both_forms_and_orders_layer_major()
    {
        var h = new HeadId(7, 2);
        h.ToString().Should().Be("7-2");
        h.ToTransformerLensString().Should().Be("L7H2");
        new[] { new HeadId(1, 3), new HeadId(0, 5), new HeadId(1, 0) }.Order().Should()
            .Equal(new HeadId(0, 5), new HeadId(1, 0), new HeadId(1, 3));
    }
}
