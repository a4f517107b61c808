using System.Text.Json.Nodes;
using AttnEval.Core.Reports;

namespace AttnEval.Core.Tests.Reports;

public sealed class ReportStyleTests
{
    private static JsonObject Summary(params (string Method, double Auroc)[] methods) => new()
    {
        ["methods"] = new JsonObject(methods.Select(m => KeyValuePair.Create(m.Method, (JsonNode?)new JsonObject { ["auroc"] = new JsonObject { ["value"] = m.Auroc } }))),
    };

    [Fact]
    public void Highlighted_are_the_best_by_auroc_then_msp_uqac_and_sar_at_most_four()
    {
        var summary = Summary(("msp", 0.9), ("perplexity", 0.8), ("uqac", 0.85), ("sent-sar", 0.92), ("sar", 0.88), ("eigv", 0.89));
        ReportStyle.Highlighted(summary).Should().Equal("sent-sar", "msp", "uqac", "sar");
        // The best is one of the preferred: the next methods in summary order fill the fourth place.
        ReportStyle.Highlighted(Summary(("a", 0.5), ("msp", 0.9), ("b", 0.6), ("c", 0.7), ("uqac", 0.8))).Should().Equal("msp", "uqac", "a", "b");
        ReportStyle.Highlighted(Summary(("x", 0.5), ("y", 0.6))).Should().Equal("x", "y");
    }

    [Fact]
    public void Colours_give_highlighted_methods_okabe_ito_and_the_others_tableau()
    {
        var colours = ReportStyle.Colours(["a", "msp", "b", "uqac"], ["uqac", "msp"]);
        colours["uqac"].Should().Be("#0072B2");
        colours["msp"].Should().Be("#D55E00");
        colours["a"].Should().Be("#4E79A7");
        colours["b"].Should().Be("#F28E2B");
    }

    [Theory]
    [InlineData(-0.0004, 3, "0.000")]
    [InlineData(-0.0005, 3, "-0.001")]
    [InlineData(-0.00001, 0, "0")]
    [InlineData(0.91549, 3, "0.915")]
    [InlineData(-8.2941, 3, "-8.294")]
    public void Fixed_never_writes_minus_zero(double x, int decimals, string expected) => ReportStyle.Fixed(x, decimals).Should().Be(expected);

    [Fact]
    public void Decimals_follow_a_column_s_median_magnitude_and_its_spread()
    {
        ReportStyle.Decimals([0.0012, 0.002, 0.1]).Should().Be(5, "median 0.002: three significant digits");
        ReportStyle.Decimals([110.4, 291.1, 551.5]).Should().Be(0);
        ReportStyle.Decimals([-0.99, -0.5, -0.04]).Should().Be(3);
        ReportStyle.Decimals([-8.29, -8.2, -8.05]).Should().Be(3, "the spread 0.24 needs three decimals, the magnitude 8 only two");
        ReportStyle.Decimals([]).Should().Be(3);
        ReportStyle.Decimals([2e-16, 1e-16, 2]).Should().Be(6, "at most six");
    }

    [Fact]
    public void File_names_keep_safe_characters_only()
    {
        ReportStyle.FileName("token-sar").Should().Be("token-sar");
        ReportStyle.FileName("../x y").Should().Be(".._x_y");
        ReportStyle.FileName("..").Should().Be("_..");
    }

    [Fact]
    public void The_shared_stylesheet_and_script_are_embedded()
    {
        ReportStyle.Css.Should().Contain("position:sticky");
        ReportStyle.Script.Should().Contain("sortBy").And.NotContain("</script>");
    }
}
