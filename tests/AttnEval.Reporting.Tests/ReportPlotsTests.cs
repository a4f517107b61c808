using System.Xml.Linq;
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

    /// <summary>The width and height attributes of an SVG file's root element.</summary>
    private static (int Width, int Height) SvgSize(string path)
    {
        var root = XDocument.Load(path).Root!;
        root.Name.LocalName.Should().Be("svg");
        return ((int)root.Attribute("width")!, (int)root.Attribute("height")!);
    }

    private static string Rel(string dir, string path) => Path.GetRelativePath(Path.Combine(dir, "plots"), path).Replace('\\', '/');

    [Fact]
    public void Writes_layered_roc_and_accuracy_rejection_figures_and_a_reliability_panel_per_confidence_method_as_svg()
    {
        var dir = RunFolder([true, true, false, true, false, false, true, false]);
        var files = ReportPlots.Write(dir);
        files.Select(f => Rel(dir, f)).Should().Equal(
            "roc.svg", "roc/conf.svg", "roc/entropy.svg",
            "accuracy-rejection.svg", "accuracy-rejection/conf.svg", "accuracy-rejection/entropy.svg",
            "reliability/conf.svg");
        foreach (var f in files.Where(f => !f.Contains("reliability")))
            SvgSize(f).Should().Be((ReportPlots.Width, ReportPlots.Height), "a base and its layers have the same size, so they stack");
        SvgSize(files[^1]).Should().Be((ReportPlots.PanelWidth, ReportPlots.PanelHeight));
        File.ReadAllText(files[0]).Should().Contain("false positive rate").And.Contain("<path", "axes, the diagonal and the grey curves");
        // Two methods, both highlighted: the first highlighted colours of the palette, in summary order.
        File.ReadAllText(Path.Combine(dir, "plots", "roc", "conf.svg")).Should().Contain("stroke=\"#0072B2\"").And.NotContain("false positive rate", "a layer has no axes");
        File.ReadAllText(Path.Combine(dir, "plots", "roc", "entropy.svg")).Should().Contain("stroke=\"#D55E00\"");
        File.ReadAllText(files[^1]).Should().Contain("conf").And.Contain("confidence");
    }

    [Fact]
    public void Accuracy_rejection_axis_fits_the_curves_below_90_percent_rejection()
    {
        MethodCurves Curve(params double[] ys) => new("m", ys.Length, [], null, ys.Select((y, i) => new CurvePoint((double)i / (ys.Length - 1), y)).ToList());
        // 0.83 is the lowest accuracy up to 90 % rejection; the 0 at full rejection is left below the axis.
        var limits = ReportPlots.AccuracyRejectionLimits([Curve(0.84, 0.9, 0.95, 0.97, 0.98, 0.99, 1, 1, 1, 1, 0), Curve(0.83, 0.86, 0.9, 0.92, 0.95, 0.97, 0.98, 0.99, 1, 1, 1)], 0.84);
        limits.Bottom.Should().BeApproximately(0.80, 1e-9, "floor((0.83 - 0.02) × 20) / 20");
        limits.Top.Should().BeApproximately(1.004, 1e-9);
        (limits.Left, limits.Right).Should().Be((-0.01, 1.01));
    }

    [Fact]
    public void Figures_without_data_are_left_out_and_stale_ones_removed()
    {
        var dir = RunFolder([true, true, false, true, false, false, true, false]);
        ReportPlots.Write(dir);
        // The same folder re-rendered after every verdict became "correct": no ROC can be drawn any more.
        RunFolder(Enumerable.Repeat(true, 8).ToArray());
        ReportPlots.Write(dir).Select(f => Rel(dir, f)).Should().Equal(
            "accuracy-rejection.svg", "accuracy-rejection/conf.svg", "accuracy-rejection/entropy.svg", "reliability/conf.svg");
        File.Exists(Path.Combine(dir, "plots", "roc.svg")).Should().BeFalse();
        Directory.Exists(Path.Combine(dir, "plots", "roc")).Should().BeFalse("the layers of the old ROC figure are removed too");
    }

    [Fact]
    public void Plot_builders_return_null_when_nothing_can_be_drawn()
    {
        var none = new[] { new MethodCurves("m", 1, [], null, []) };
        ReportPlots.Roc(none).Should().BeNull();
        ReportPlots.Reliability(none[0], null, "#000000").Should().BeNull();
        ReportPlots.Reliability(none, new Dictionary<string, string>()).Should().BeEmpty();
        ReportPlots.AccuracyRejection(none, 0.5).Should().BeNull();
    }

    [Fact]
    public void Run_report_links_the_figures_it_drew()
    {
        var dir = RunFolder([true, true, false, true, false, false, true, false]);
        var path = RunReport.Write(dir);
        var html = System.Net.WebUtility.HtmlDecode(File.ReadAllText(path));
        foreach (var (name, title, _) in HtmlReport.Figures.Where(f => f.Name != HtmlReport.ReliabilityFigure))
        {
            html.Should().Contain($"<img src=\"plots/{name}.svg\" alt=\"{title}\"");
            html.Should().Contain($"<img class=\"layer\" data-m=\"conf\" src=\"plots/{name}/conf.svg\"");
        }
        html.Should().Contain("<img src=\"plots/reliability/conf.svg\" alt=\"reliability of conf\"");
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
            SvgSize(Path.Combine(dir, "plots", file)).Should().Be((RobustnessPlots.Width, RobustnessPlots.Height));
            html.Should().Contain($"<img src=\"plots/{file}\"");
        }
        html.Should().Contain("R-DISTR(m=2,position=top)").And.Contain("0.800<br><span class=\"ci\">[0.700, 0.900]</span>");
        System.Net.WebUtility.HtmlDecode(html).Should().Contain("<b>R-DISTR(m=2,position=top)</b>: <span class=\"bad\">accuracy drops from 1.000 to 0.200 (ΔAcc 0.800 [0.700, 0.900]); the confidence stays at 0.970: over-confident (ECE 0.770).", "the verdict comes first");

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
