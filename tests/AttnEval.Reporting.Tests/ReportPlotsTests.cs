using System.Buffers.Binary;
using System.Text.Json.Nodes;
using AttnEval.Core.Reports;
using AttnEval.Reporting;

namespace AttnEval.Reporting.Tests;

public sealed class ReportPlotsTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "attneval-plots-" + Guid.NewGuid().ToString("N")[..8]);

    public void Dispose()
    {
        if (Directory.Exists(_dir)) Directory.Delete(_dir, recursive: true);
    }

    /// <summary>A finished run folder: TV-4's verdicts and confidences (uq-methods §7) for "conf", and an entropy-like method without confidence.</summary>
    private string RunFolder(bool[] correct)
    {
        Directory.CreateDirectory(_dir);
        double[] c = [0.95, 0.80, 0.80, 0.55, 0.40, 0.40, 0.30, 0.10];
        var lines = correct.Select((a, i) => new JsonObject
        {
            ["id"] = $"s{i}",
            ["answer"] = $"answer {i}",
            ["correct"] = a,
            ["metrics"] = new JsonObject
            {
                ["conf"] = new JsonObject { ["uncertainty"] = -c[i], ["confidence"] = c[i] },
                ["entropy"] = new JsonObject { ["uncertainty"] = i * 0.1 },
            },
        }.ToJsonString());
        File.WriteAllLines(Path.Combine(_dir, "samples.jsonl"), lines);
        File.WriteAllText(Path.Combine(_dir, "summary.json"), new JsonObject
        {
            ["name"] = "plots", ["kind"] = "uncertainty", ["n_samples"] = correct.Length, ["ece_bins"] = 20,
            ["accuracy"] = correct.Count(x => x) / (double)correct.Length,
            ["evaluation_metrics"] = new JsonArray("auroc"),
            ["methods"] = new JsonObject { ["conf"] = new JsonObject { ["n"] = 8 }, ["entropy"] = new JsonObject { ["n"] = 8 } },
        }.ToJsonString());
        return _dir;
    }

    private static (int Width, int Height) PngSize(string path)
    {
        var b = File.ReadAllBytes(path);
        b.Take(8).Should().Equal(new byte[] { 0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A }, "a PNG signature");
        System.Text.Encoding.ASCII.GetString(b, 12, 4).Should().Be("IHDR");
        return (BinaryPrimitives.ReadInt32BigEndian(b.AsSpan(16)), BinaryPrimitives.ReadInt32BigEndian(b.AsSpan(20)));
    }

    [Fact]
    public void Writes_the_three_figures_as_png()
    {
        var dir = RunFolder([true, true, false, true, false, false, true, false]);
        var files = ReportPlots.Write(dir);
        files.Select(Path.GetFileName).Should().Equal("roc.png", "reliability.png", "accuracy-rejection.png");
        foreach (var f in files)
        {
            PngSize(f).Should().Be((ReportPlots.Width, ReportPlots.Height));
            new FileInfo(f).Length.Should().BeGreaterThan(10_000, "curves, axes and a legend were drawn");
        }
    }

    [Fact]
    public void Figures_without_data_are_left_out_and_stale_ones_removed()
    {
        var dir = RunFolder([true, true, false, true, false, false, true, false]);
        ReportPlots.Write(dir);
        // The same folder re-rendered after every verdict became "correct": no ROC can be drawn any more.
        RunFolder(Enumerable.Repeat(true, 8).ToArray());
        ReportPlots.Write(dir).Select(Path.GetFileName).Should().Equal("reliability.png", "accuracy-rejection.png");
        File.Exists(Path.Combine(dir, "plots", "roc.png")).Should().BeFalse();
    }

    [Fact]
    public void Plot_builders_return_null_when_nothing_can_be_drawn()
    {
        var none = new[] { new MethodCurves("m", 1, [], null, []) };
        ReportPlots.Roc(none).Should().BeNull();
        ReportPlots.Reliability(none).Should().BeNull();
        ReportPlots.AccuracyRejection(none, 0.5).Should().BeNull();
    }

    [Fact]
    public void Run_report_links_the_figures_it_drew()
    {
        var dir = RunFolder([true, true, false, true, false, false, true, false]);
        var path = RunReport.Write(dir);
        var html = File.ReadAllText(path);
        foreach (var (file, title, _) in HtmlReport.Figures)
            html.Should().Contain($"<img src=\"plots/{file}\" alt=\"").And.Contain(title.Split('–')[0]);
    }

    /// <summary>An agent-robustness run folder: a clean reference and two perturbed conditions, one without confidence.</summary>
    private string RobustnessFolder(bool withConfidence)
    {
        Directory.CreateDirectory(_dir);
        JsonObject Condition(double acc, double? drop, double? conf, double? ece)
        {
            var o = new JsonObject { ["n"] = 20, ["accuracy"] = acc };
            if (drop is { } d) o["delta_acc"] = new JsonObject { ["value"] = d, ["ci_low"] = d - 0.1, ["ci_high"] = d + 0.1 };
            if (withConfidence && conf is { } c) { o["mean_confidence"] = c; o["ece"] = ece; }
            return o;
        }
        File.WriteAllText(Path.Combine(_dir, "summary.json"), new JsonObject
        {
            ["name"] = "robust", ["kind"] = "agent-robustness", ["evaluation"] = "search-robustness", ["n_samples"] = 60, ["n_errors"] = 0,
            ["analysis"] = new JsonObject
            {
                ["reference"] = "clean", ["n_runs"] = 1,
                ["conditions"] = new JsonObject
                {
                    ["clean"] = Condition(1.0, null, 0.99, 0.01),
                    ["R-DISTR(m=2,position=top)"] = Condition(0.2, 0.8, 0.97, 0.77),
                    ["R-SHUF"] = Condition(1.0, 0.0, null, null),
                },
            },
        }.ToJsonString());
        return _dir;
    }

    [Fact]
    public void Robustness_report_draws_the_accuracy_drop_and_the_confidence_figures_and_links_both()
    {
        var dir = RobustnessFolder(withConfidence: true);
        var html = File.ReadAllText(RobustnessPlots.Write(dir));
        foreach (var file in new[] { RobustnessPlots.File, RobustnessPlots.ConfidenceFile })
        {
            PngSize(Path.Combine(dir, "plots", file)).Should().Be((ReportPlots.Width, ReportPlots.Height));
            html.Should().Contain($"<img src=\"plots/{file}\"");
        }
        html.Should().Contain("R-DISTR(m=2,position=top)").And.Contain("0.800 [0.700, 0.900]");

        // Re-rendered from a summary without confidences: the confidence figure is removed and no longer linked.
        RobustnessFolder(withConfidence: false);
        RobustnessPlots.Confidence(JsonNode.Parse(File.ReadAllText(Path.Combine(dir, "summary.json")))!.AsObject()).Should().BeNull();
        html = File.ReadAllText(RobustnessPlots.Write(dir));
        File.Exists(Path.Combine(dir, "plots", RobustnessPlots.ConfidenceFile)).Should().BeFalse();
        html.Should().Contain(RobustnessPlots.File).And.NotContain(RobustnessPlots.ConfidenceFile);
    }

    [Fact]
    public void Missing_summary_is_a_clear_error()
    {
        Directory.CreateDirectory(_dir);
        var act = () => RunReport.Write(_dir);
        act.Should().Throw<InvalidDataException>().WithMessage($"{_dir}: not a run folder (no manifest.json)*", "a folder with no manifest is not a run, so resuming it makes no sense");
        File.WriteAllText(Path.Combine(_dir, "manifest.json"), "{}");
        act.Should().Throw<FileNotFoundException>().WithMessage($"*summary.json: no summary (the run has not finished); finish it with: attneval run <recipe> --resume {_dir}");
        var missing = () => RunReport.Write(_dir + "-missing");
        missing.Should().Throw<DirectoryNotFoundException>().WithMessage($"{_dir}-missing: no such folder*");
    }
}
