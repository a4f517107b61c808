using System.Text.Json.Nodes;
using AttnEval.Core.Reports;

namespace AttnEval.Core.Tests.Reports;

public sealed class HtmlReportTests
{
    private static readonly JsonObject Summary = JsonNode.Parse("""
        {"name":"t","kind":"uncertainty","model":"m","n_samples":2,"accuracy":0.5,"n_errors":0,"evaluation_metrics":["auroc"],
         "bootstrap":10,"confidence_level":0.95,"ece_bins":20,
         "methods":{"uqac":{"n":2,"auroc":{"value":1.0,"ci_low":1.0,"ci_high":1.0}},"msp":{"n":2,"auroc":{"value":null,"note":"<note>"}}}}
        """)!.AsObject();

    private static List<JsonObject> Records() =>
    [
        JsonNode.Parse("""
            {"id":"a","answer":"<b>4</b> #### 4","correct":false,"answer_tokens":3,"finish":"StopToken","sampled_answers":["<i>x</i>","4"],
             "metrics":{"uqac":{"uncertainty":0.7,"confidence":0.3,"details":{"chain_tokens":["<b>"," 4"],"chain_scores":[0.2,0.1],"answer_tokens":[" 4"]}},
                        "msp":{"uncertainty":1.5,"confidence":0.22}}}
            """)!.AsObject(),
        JsonNode.Parse("""{"id":"b","answer":"5","correct":true,"metrics":{"uqac":{"uncertainty":0.1,"confidence":0.9}},"errors":{"msp":"Boom: <bad>"}}""")!.AsObject(),
    ];

    [Fact]
    public void Model_text_chain_tokens_sampled_answers_and_errors_are_escaped()
    {
        var html = HtmlReport.Render(Summary, Records(), "/runs/t");
        html.Should().NotContain("<b>4</b>").And.NotContain("<i>x</i>").And.NotContain("<bad>").And.NotContain("<note>");
        html.Should().Contain("&lt;i&gt;x&lt;/i&gt;").And.Contain("Boom: &lt;bad&gt;").And.Contain("&lt;note&gt;");
        // The chain section: the "<b>" token is highlighted as escaped text; " 4" is found at its first place after it, and the
        // answer token at the last occurrence of "4".
        html.Should().Contain("<h2>Attention chains</h2>");
        html.Should().Contain("""<div class="answer"><span class="chain" style="--a:1" title="chain score 0.2">&lt;b&gt;</span><span class="chain" style="--a:0.575" title="chain score 0.1">4</span>&lt;/b&gt; #### <span class="ans" style="--a:0" title="answer token">4</span></div>""");
        html.Should().Contain("2 sampled answers");
        html.Should().Contain("c 0.22");
    }

    [Fact]
    public void Figures_are_shown_only_when_present()
    {
        HtmlReport.Render(Summary, Records(), "d").Should().NotContain("<img");
        var html = HtmlReport.Render(Summary, Records(), "d", ["roc.png"]);
        html.Should().Contain("""<img src="plots/roc.png" alt="ROC curves">""").And.NotContain("reliability.png");
    }

    [Fact]
    public void Without_chain_details_there_is_no_chain_section()
    {
        var records = Records();
        records[0]["metrics"]!["uqac"]!.AsObject().Remove("details");
        HtmlReport.Render(Summary, records, "d").Should().NotContain("Attention chains");
    }

    [Fact]
    public void Methods_table_has_three_decimals_intervals_on_a_second_line_and_the_best_of_each_column_in_bold()
    {
        var summary = JsonNode.Parse("""
            {"name":"t","kind":"uncertainty","model":"m","n_samples":3,"accuracy":0.5,"n_errors":0,"confidence_level":0.95,"bootstrap":10,
             "evaluation_metrics":["auroc","ece"],
             "methods":{"a":{"n":3,"auroc":{"value":0.9,"ci_low":0.81234,"ci_high":-0.0000001},"ece":{"value":0.2}},
                        "b":{"n":3,"auroc":{"value":0.75},"ece":{"value":0.05}}}}
            """)!.AsObject();
        var html = HtmlReport.Render(summary, [], "d");
        html.Should().Contain("""<td class="metric best">0.900<br><span class="ci">[0.812, 0.000]</span></td>""", "highest AUROC, no '-0'");
        html.Should().Contain("""<td class="metric">0.750</td>""");
        html.Should().Contain("""<td class="metric">0.200</td>""").And.Contain("""<td class="metric best">0.050</td>""", "the lowest ECE is the best");
    }
}
