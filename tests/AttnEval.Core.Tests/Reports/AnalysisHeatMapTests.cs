using System.Text.Json.Nodes;
using AttnEval.Core.Reports;

namespace AttnEval.Core.Tests.Reports;

/// <summary>The layer × head heat map shows negative scores (receiver heads' kurtosis can be negative) on a blue side.</summary>
public sealed class AnalysisHeatMapTests
{
    private static string Render(string scores) => AnalysisReport.Render(JsonNode.Parse($$"""
        { "schema_version": 1, "name": "t", "kind": "head-attribution", "model": "m", "n_samples": 1, "n_errors": 0,
          "analyses": { "k": { "status": "ok", "n_records": 0, "n_heads": 4, "top": [], "scores": {{scores}}, "summary": {}, "artifacts": [] } } }
        """)!.AsObject(), [], "/run");

    [Fact]
    public void Negative_scores_shade_blue_by_the_largest_magnitude_and_positive_ones_red()
    {
        // Largest magnitude 2: -2 is full blue, 1 is half red (gb = round(255 · 0.5) = 128), 0 is white.
        var html = Render("""{ "0-0": -2.0, "0-1": 1.0, "1-0": 0.0, "1-1": -0.5 }""");
        html.Should().Contain("title=\"0-0: -2\"").And.Contain("background:rgb(0,0,255);color:#fff")
            .And.Contain("background:rgb(255,128,128)").And.Contain("background:rgb(255,255,255)")
            .And.Contain("background:rgb(191,191,255)")   // -0.5 → t = 0.25, gb = round(255 · 0.75) = 191
            .And.Contain("blue = −2.000, white = 0, red = +2.000");
    }

    [Fact]
    public void Scores_without_negatives_keep_the_white_to_red_scale_of_the_maximum()
    {
        var html = Render("""{ "0-0": 0.5, "0-1": 1.0 }""");
        html.Should().Contain("background:rgb(255,0,0);color:#fff").And.Contain("background:rgb(255,128,128)")
            .And.Contain("white = 0, red = max").And.NotContain("blue =");
    }
}
