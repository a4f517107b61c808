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
        // The drill-down row of sample a: msp's uncertainty with its column's decimals and its confidence.
        html.Should().Contain("<tr><td class=\"l\">msp</td><td>1.50</td><td>0.220</td></tr>");
    }

    [Fact]
    public void Figures_are_shown_only_when_present()
    {
        HtmlReport.Render(Summary, Records(), "d").Should().NotContain("<img");
        var html = HtmlReport.Render(Summary, Records(), "d", ["roc.svg", "roc/uqac.svg"]);
        html.Should().Contain("""<img src="plots/roc.svg" alt="ROC curves" width="600" height="460">""")
            .And.Contain("""<img class="layer" data-m="uqac" src="plots/roc/uqac.svg" alt="uqac" width="600" height="460">""")
            .And.NotContain("plots/roc/msp.svg").And.NotContain("plots/reliability");
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

    [Fact]
    public void Each_note_is_written_once_under_the_table_and_marked_in_its_cells()
    {
        var summary = JsonNode.Parse("""
            {"name":"t","kind":"uncertainty","n_samples":3,"evaluation_metrics":["auroc","ece"],
             "methods":{"a":{"n":3,"auroc":{"value":0.9},"ece":{"value":null,"note":"no confidence"}},
                        "b":{"n":3,"auroc":{"value":0.8,"note":"biased"},"ece":{"value":null,"note":"no confidence"}}}}
            """)!.AsObject();
        var html = HtmlReport.Render(summary, [], "d");
        html.Should().Contain("""<td class="metric">n/a<sup class="fn" title="no confidence">1</sup></td>""");
        html.Should().Contain("""<td class="metric">0.800<sup class="fn" title="biased">2</sup></td>""");
        html.Should().Contain("""<ol class="notes"><li>no confidence</li><li>biased</li></ol>""");
        System.Text.RegularExpressions.Regex.Count(html, "<li>no confidence</li>").Should().Be(1);
        html.Should().Contain("auroc <span class=\"dir\">↑</span>").And.Contain("ece <span class=\"dir\">↓</span>");
    }

    [Fact]
    public void Headline_names_the_best_methods_and_the_legend_names_those_with_negative_uncertainties()
    {
        var records = Records();
        records[1]["metrics"]!["uqac"]!["uncertainty"] = -0.9;
        var html = HtmlReport.Render(Summary, records, "d");
        html.Should().Contain("<div>Best at flagging wrong answers: uqac (auroc 1.000 [1.000, 1.000]).</div>");
        html.Should().Contain("uncertainty: higher = less trustworthy").And.Contain("(negative in this run: uqac)");
    }

    [Fact]
    public void Sample_table_is_sortable_filterable_with_every_method_column_and_a_drill_down_row_per_sample()
    {
        var html = HtmlReport.Render(Summary, Records(), "d");
        html.Should().Contain("""<table class="sortable" id="samples">""").And.Contain("""<input type="search" data-filter="samples" """);
        // Both methods are highlighted (a run of at most four shows them all): their columns are visible.
        html.Should().Contain("""<th data-m="uqac" class="" title="uncertainty of uqac (higher = less trustworthy)">uqac</th>""");
        html.Should().Contain("""<tr class="row" data-verdict="bad" data-text="a  &lt;b&gt;4&lt;/b&gt; #### 4 ">""");
        html.Should().Contain("""<td data-m="uqac" data-v="0.7">0.700</td>""", "uqac's values 0.7 and 0.1 take three decimals; the sort key is exact");
        System.Text.RegularExpressions.Regex.Count(html, """<tr class="detail" hidden>""").Should().Be(2);
        html.Should().Contain("<b>Answer with uqac's attention chain</b>", "sample a's drill-down draws its chain");
        html.Should().Contain("error: Boom: &lt;bad&gt;", "sample b's drill-down gives msp's error");
        html.Should().Contain("<script>").And.NotContain("<script src").And.NotContain("<link", "the page is self-contained");
    }
}
