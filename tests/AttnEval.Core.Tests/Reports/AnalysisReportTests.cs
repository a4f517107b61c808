using System.Net;
using System.Text.Json.Nodes;
using AttnEval.Core.Reports;

namespace AttnEval.Core.Tests.Reports;

public sealed class AnalysisReportTests
{
    private static JsonObject Check(double @base, double named, params double[] random) => new()
    {
        ["metric"] = "needle success", ["k"] = 2, ["heads"] = new JsonArray("1-0", "1-1"), ["base"] = @base, ["named"] = named,
        ["random_mean"] = random.Average(), ["random_min"] = random.Min(), ["random_max"] = random.Max(),
        ["random_values"] = new JsonArray([.. random.Select(r => (JsonNode?)r)]),
    };

    [Fact]
    public void Head_section_puts_the_verdict_first_then_a_row_per_causal_check()
    {
        var summary = new JsonObject
        {
            ["name"] = "heads", ["kind"] = "head-attribution",
            ["analyses"] = new JsonObject
            {
                ["retrieval-heads"] = new JsonObject
                {
                    ["status"] = "ok", ["conclusion"] = "the named heads matter",
                    ["top"] = new JsonArray(new JsonObject { ["head"] = "1-0", ["score"] = 0.5 }, new JsonObject { ["head"] = "0-1", ["score"] = 0.25 }),
                    ["scores"] = new JsonObject { ["0-0"] = 0.0, ["0-1"] = 0.25, ["1-0"] = 0.5, ["1-1"] = 0.1 },
                    ["summary"] = new JsonObject { ["trials"] = 20, ["ablation"] = Check(0.9, 0.1, 0.85, 0.95) },
                },
            },
        };
        var html = WebUtility.HtmlDecode(AnalysisReport.Render(summary, [], "d"));
        html.Should().Contain("<div class=\"verdict ok\"><div>the named heads matter</div></div>");
        html.IndexOf("verdict ok", StringComparison.Ordinal).Should().BeLessThan(html.IndexOf("<h3>Causal checks</h3>", StringComparison.Ordinal));
        html.Should().Contain("<th class=\"l\">ablation</th><td class=\"l\" style=\"max-width:360px\">needle success</td><td>2</td><td class=\"l\">1-0 1-1</td>"
            + "<td class=\"num\">0.900</td><td class=\"num\"><b>0.100</b> <span class=\"ci\">(-0.800)</span></td><td class=\"num\">0.900 <span class=\"ci\">(0.000)</span></td>"
            + "<td class=\"num\">[0.850, 0.950]</td><td>2</td><td class=\"l\">below every random set</td>");
        html.Should().Contain("<tr><th>trials</th><td>20</td></tr>", "the summary's own numbers");
        html.Should().Contain("<td class=\"num l\" data-v=\"0.500\">0.500<span class=\"bar\" style=\"width:120px\"></span></td>")
            .And.Contain("data-v=\"0.250\">0.250<span class=\"bar\" style=\"width:60px\">", "score bars relative to the top score");
        html.Should().Contain("title=\"1-0: 0.5\">0.50</td>", "4 heads: cells wide enough for their values");
        html.Should().Contain("ablation.random_values").And.Contain("Every summary value");
    }

    [Fact]
    public void A_degenerate_head_set_or_an_unshown_effect_is_a_warning_not_a_finding()
    {
        JsonObject Summary(string conclusion, bool degenerate) => new()
        {
            ["kind"] = "head-attribution",
            ["analyses"] = new JsonObject
            {
                ["safety-heads"] = new JsonObject
                {
                    ["status"] = "ok", ["conclusion"] = conclusion,
                    ["summary"] = new JsonObject { ["reading"] = new JsonObject { ["degenerate"] = degenerate } },
                },
            },
        };
        AnalysisReport.Render(Summary("degenerate: broken output", true), [], "d").Should().Contain("<div class=\"verdict warn\">");
        AnalysisReport.Render(Summary("not shown (a random set changes it as much as the named heads)", false), [], "d").Should().Contain("<div class=\"verdict warn\">");
        AnalysisReport.Render(Summary("the named heads matter", false), [], "d").Should().Contain("<div class=\"verdict ok\">");
    }

    [Fact]
    public void Scorer_section_states_the_label_auroc_the_corpus_check_and_skipped_checks()
    {
        var summary = new JsonObject
        {
            ["kind"] = "data-scoring",
            ["scorers"] = new JsonObject
            {
                ["attention-influence"] = new JsonObject
                {
                    ["n"] = 4, ["errors"] = 0, ["mean"] = 0.1,
                    ["groups"] = new JsonObject { ["lab"] = new JsonObject { ["n"] = 4, ["mean"] = 0.1, ["min"] = -0.2, ["max"] = 0.4 } },
                    ["label"] = new JsonObject { ["field"] = "needs_lookup", ["n_true"] = 2, ["n_false"] = 2, ["mean_true"] = 0.3, ["mean_false"] = -0.1, ["auroc"] = 0.75 },
                    ["selection"] = new JsonObject
                    {
                        ["file"] = "selected.jsonl", ["n_selected"] = 1,
                        ["summary"] = new JsonObject
                        {
                            ["groups"] = new JsonObject { ["lab"] = new JsonObject { ["selected"] = 1, ["min_selected_score"] = 0.4 } },
                            ["mirror_check"] = new JsonObject { ["probe_check"] = "skipped: no probe fits" },
                            ["corpus_check"] = Check(0.5, 0.8, 0.6, 0.7),
                        },
                    },
                },
            },
        };
        var records = new List<JsonObject>
        {
            new() { ["id"] = "d1", ["group"] = "lab", ["label"] = true, ["metrics"] = new JsonObject { ["attention-influence"] = new JsonObject { ["score"] = 0.4 } } },
            new() { ["id"] = "d2", ["group"] = "lab", ["label"] = false, ["metrics"] = new JsonObject { ["attention-influence"] = new JsonObject { ["score"] = -0.2 } } },
        };
        var html = WebUtility.HtmlDecode(AnalysisReport.Render(summary, records, "d"));
        html.Should().Contain("<div>The score separates documents with needs_lookup = true from false with AUROC 0.750 (mean score 0.300 for 2 true, -0.100 for 2 false; 0.5 = no separation).</div>");
        html.Should().Contain("<div>corpus_check: 0.800 with the named heads against 0.650 on average [0.600, 0.700] with 2 random sets of 2 heads (above every random set).</div>");
        html.Should().Contain("<div>mirror_check.probe_check: skipped: no probe fits</div>");
        html.Should().Contain("<tr><td class=\"l\">lab</td><td class=\"num\">4</td><td class=\"num\">0.100</td><td class=\"num\">-0.200</td><td class=\"num\">0.400</td><td class=\"num\">1</td><td class=\"num\">0.400</td></tr>");
        html.Should().Contain("<td class=\"l\">d1</td><td class=\"l\">lab</td><td class=\"l\">true</td><td class=\"num l\" data-v=\"0.400\">0.400");
        html.Should().Contain("label.auroc").And.Contain("selection.n_selected");
    }
}
