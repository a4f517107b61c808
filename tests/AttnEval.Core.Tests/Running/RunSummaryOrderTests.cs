using System.Text.Json.Nodes;
using AttnEval.Abstractions;
using AttnEval.Core.Recipes;
using AttnEval.Core.Reports;
using AttnEval.Core.Running;

namespace AttnEval.Core.Tests.Running;

/// <summary>Issue 14 item 5: summary.json and the report's curves depend on the dataset order of the samples
/// (each record's <c>index</c>), never on the line order of samples.jsonl.</summary>
public sealed class RunSummaryOrderTests
{
    // TV-4 of specs/uq-methods.md §7 (ties at c = 0.80 with one right and one wrong answer, and at 0.40).
    private static readonly bool[] A = [true, true, false, true, false, false, true, false];
    private static readonly double[] C = [0.95, 0.80, 0.80, 0.55, 0.40, 0.40, 0.30, 0.10];

    internal static Recipe Recipe(string ties = "stable") => new()
    {
        Name = "order",
        Model = new ModelSource("/nowhere"),
        Prompt = new PromptSpec("{{input}}"),
        Generation = new GenerationSpec(8, 0, 1, 0, 0, 0, 1, []),
        Metrics = [new MetricSpec("m", OptionValues.Empty)],
        Evaluation = new EvaluationSpec(["auroc", "prr", "ece", "auarc"], 200, 0.95, 20, 3, RecipeNames.ParseTieBreaking(ties)!.Value),
        OutputDir = "/nowhere",
        SourceFile = "/nowhere/order.yaml",
    };

    private static List<JsonObject> Records() => A.Select((a, i) => new JsonObject
    {
        ["id"] = $"s{i}", ["index"] = i, ["correct"] = a,
        ["metrics"] = new JsonObject { ["m"] = new JsonObject { ["uncertainty"] = -C[i], ["confidence"] = C[i] } },
    }).ToList();

    [Fact]
    public void Summary_is_the_same_for_the_same_records_in_another_line_order()
    {
        var inOrder = Records();
        var reversed = Records();
        reversed.Reverse();
        var a = RunSummary.Compute(Recipe(), inOrder);
        var b = RunSummary.Compute(Recipe(), reversed);
        b["methods"]!.ToJsonString().Should().Be(a["methods"]!.ToJsonString());
        // Dataset order with stable ties: the right answer (index 1) ranks before the wrong one (index 2) at c = 0.80,
        // the area of spec TV-4: 2347/3360, PRR 667/1066.
        ((double)a["methods"]!["m"]!["prr"]!["value"]!).Should().BeApproximately(667.0 / 1066, 1e-12);
        ((double)b["methods"]!["m"]!["prr"]!["value"]!).Should().BeApproximately(667.0 / 1066, 1e-12);
        ((double)b["methods"]!["m"]!["auarc"]!["value"]!).Should().BeApproximately(0.691156, 1e-6);
        ((string?)a["ties"]).Should().Be("stable");
        ((string?)a["interval"]).Should().Be("centered");
    }

    [Fact]
    public void Summary_records_each_methods_options_such_as_the_semantic_entropy_variant()
    {
        // Issue 14 item 10: which variant produced a number must be readable from summary.json.
        var recipe = Recipe() with
        {
            Metrics = [new MetricSpec("m", new OptionValues(new Dictionary<string, object?> { ["variant"] = "polygraph-mean", ["unique_responses"] = true }))],
        };
        var m = RunSummary.Compute(recipe, Records())["methods"]!["m"]!;
        ((string?)m["options"]!["variant"]).Should().Be("polygraph-mean");
        ((bool)m["options"]!["unique_responses"]!).Should().BeTrue();
    }

    [Fact]
    public void Dataset_order_sorts_by_index_then_id_and_keeps_records_without_index_last_in_file_order()
    {
        var records = new List<JsonObject>
        {
            new() { ["id"] = "old-b" },
            new() { ["id"] = "x", ["index"] = 2 },
            new() { ["id"] = "old-a" },
            new() { ["id"] = "b", ["index"] = 0 },
            new() { ["id"] = "a", ["index"] = 0 },
        };
        RunSummary.DatasetOrder(records).Select(r => (string?)r["id"]).Should().Equal("a", "b", "x", "old-b", "old-a");
    }

    [Fact]
    public void Report_curves_follow_dataset_order_not_line_order()
    {
        var summary = new JsonObject { ["ece_bins"] = 20, ["ties"] = "stable", ["methods"] = new JsonObject { ["m"] = new JsonObject() } };
        // (With the default, expected ties, the order cannot matter at all; "stable" makes the dataset order visible.)
        var reversed = Records();
        reversed.Reverse();
        var curve = ReportCurves.FromRun(summary, reversed).Single().AccuracyRejection;
        // Keeping the 2 most confident: 0.95 (right) and, by dataset order, the right answer of the 0.80 tie → 1.0.
        curve[^2].Y.Should().Be(1.0);
        ReportCurves.Area(curve).Should().BeApproximately(0.691156, 1e-6);
    }
}
