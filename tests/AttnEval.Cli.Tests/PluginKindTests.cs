using System.Text.Json.Nodes;

namespace AttnEval.Cli.Tests;

/// <summary>A recipe kind brought by a plugin built outside <c>src/</c> (the fake test plugin's <c>fake-answer-length</c>, contract
/// 1.5 <c>IRecipeKind</c>) runs through <c>attneval run</c> like a built-in kind: validated, run, summarised, reported, resumed.</summary>
[Collection("attneval processes")]
public sealed class PluginKindTests
{
    private static string RunDirOf(string workDir) => Directory.GetDirectories(Path.Combine(workDir, "runs")).Single();

    [Fact]
    public void A_plugin_kind_runs_through_attneval_run_with_its_summary_report_and_list_entry()
    {
        var work = AttnEvalProcess.FreshWorkDir();
        var (code, stdout, stderr) = AttnEvalProcess.Run(work, ["run", "fake-kind.yaml", .. AttnEvalProcess.PluginArgs()]);
        code.Should().Be(0, stderr);
        var dir = RunDirOf(work);
        var records = File.ReadAllLines(Path.Combine(dir, "samples.jsonl")).Select(l => JsonNode.Parse(l)!.AsObject()).ToList();
        records.Select(r => (string)r["id"]!).Should().Equal(Enumerable.Range(0, 24).Select(i => $"q{i:00}"));
        var mean = records.Average(r => (int)r["answer_tokens"]!);
        mean.Should().BeGreaterThan(2, "the fake model answers '<a>+<b>=<sum>' and '#### <sum>'");

        var summary = JsonNode.Parse(File.ReadAllText(Path.Combine(dir, "summary.json")))!;
        ((string)summary["kind"]!).Should().Be("fake-answer-length");
        ((string)summary["status"]!).Should().Be("ok");
        ((int)summary["n_samples"]!).Should().Be(24);
        ((int)summary["result"]!["n"]!).Should().Be(24);
        ((double)summary["result"]!["mean_answer_tokens"]!).Should().BeApproximately(mean, 1e-12);
        ((string)summary["result"]!["label"]!).Should().Be("Answer <lengths>");
        var conclusion = $"mean answer length {mean.ToString("0.00", System.Globalization.CultureInfo.InvariantCulture)} tokens over 24 items";
        ((string)summary["conclusion"]!).Should().Be(conclusion);
        stdout.Should().Contain("fake-kind: 24 records, 0 with errors").And.Contain(conclusion).And.Contain($"report:     {Path.Combine(dir, "report.html")}");
        ((string)JsonNode.Parse(File.ReadAllText(Path.Combine(dir, "manifest.json")))!["kind"]!).Should().Be("fake-answer-length");

        // The plugin's fragment sits in the host's page, its text encoded by the plugin.
        var html = File.ReadAllText(Path.Combine(dir, "report.html"));
        html.Should().Contain("<h2>Answer &lt;lengths&gt;</h2>").And.Contain("<td class=\"l\">q23</td>").And.Contain("kind fake-answer-length (fake)")
            .And.Contain(conclusion);

        // attneval report re-renders the same page from the files (the plugin is needed for its kind).
        File.Delete(Path.Combine(dir, "report.html"));
        var (rc, _, rerr) = AttnEvalProcess.Run(work, ["report", dir, .. AttnEvalProcess.PluginArgs()]);
        rc.Should().Be(0, rerr);
        File.ReadAllText(Path.Combine(dir, "report.html")).Should().Be(html);
        var (missing, _, merr) = AttnEvalProcess.Run(work, ["report", dir, "--plugins", AttnEvalProcess.Plugins]);
        missing.Should().Be(2);
        merr.Should().Contain("kind 'fake-answer-length', which no installed plugin provides");

        var (lc, list, _) = AttnEvalProcess.Run(work, ["list", .. AttnEvalProcess.PluginArgs()]);
        lc.Should().Be(0);
        list.Split('\n').Should().Contain(l => l.StartsWith("fake-answer-length\trecipe-kind\tfake\t", StringComparison.Ordinal))
            .And.Contain(l => l.StartsWith("head-attribution\trecipe-kind\tcore\t", StringComparison.Ordinal));
        var (dc, describe, _) = AttnEvalProcess.Run(work, ["describe", "fake-answer-length", .. AttnEvalProcess.PluginArgs()]);
        dc.Should().Be(0);
        describe.Should().Contain("min_tokens").And.Contain("an answer with fewer tokens is short");
    }

    [Fact]
    public void The_loader_checks_a_plugin_kind_s_sections_and_analysis_options_against_its_declaration()
    {
        var work = AttnEvalProcess.FreshWorkDir();
        var (code, stdout, _) = AttnEvalProcess.Run(work, ["validate", "fake-kind.yaml", "--set", "analysis.min_token=3", "--set", "judge.kind=numeric-final-answer",
            "--set", "analysis.min_tokens=-1", .. AttnEvalProcess.PluginArgs()]);
        code.Should().Be(2);
        stdout.Should().Contain("unknown key 'min_token' in analysis; did you mean 'min_tokens'?")
            .And.Contain("judge: kind 'fake-answer-length' uses no judge; remove the section")
            .And.Contain("analysis.min_tokens: -1 is out of range");

        // Without the plugin, the kind is unknown and the message lists the kinds there are.
        var (c2, out2, _) = AttnEvalProcess.Run(work, ["validate", "fake-kind.yaml", "--plugins", AttnEvalProcess.Plugins]);
        c2.Should().Be(2);
        out2.Should().Contain("fake-kind.yaml:2:7: kind: 'fake-answer-length' is not one of uncertainty, head-attribution, data-scoring, agent-robustness");
    }

    [Fact]
    public void An_inconclusive_plugin_run_exits_1_and_an_interrupted_one_resumes_from_its_records()
    {
        var work = AttnEvalProcess.FreshWorkDir();
        var (code, _, stderr) = AttnEvalProcess.Run(work, ["run", "fake-kind.yaml", "--set", "analysis.min_tokens=1000", "--limit", "3", .. AttnEvalProcess.PluginArgs()]);
        code.Should().Be(1);
        stderr.Should().Contain("fake-answer-length is inconclusive (no finding): every answer is shorter than 1000 tokens");
        var summary = JsonNode.Parse(File.ReadAllText(Path.Combine(RunDirOf(work), "summary.json")))!;
        ((string)summary["status"]!).Should().Be("inconclusive");

        // A model that crashes on the third item fails the run after two records; the resumed run keeps them and finishes.
        var resumeWork = AttnEvalProcess.FreshWorkDir();
        var model = Path.Combine(resumeWork, "fake-model.json");
        File.WriteAllText(model, """{ "layers": 2, "heads": 2, "seed": 1, "crashOnPromptContaining": ["48+78"] }""");
        var (c1, _, e1) = AttnEvalProcess.Run(resumeWork, ["run", "fake-kind.yaml", .. AttnEvalProcess.PluginArgs()]);
        c1.Should().Be(1);
        var dir = RunDirOf(resumeWork);
        e1.Should().Contain($"--resume {dir}");
        File.ReadAllLines(Path.Combine(dir, "samples.jsonl")).Should().HaveCount(2);
        File.Exists(Path.Combine(dir, "summary.json")).Should().BeFalse();
        File.WriteAllText(model, """{ "layers": 2, "heads": 2, "seed": 1 }""");
        var (c2, _, e2) = AttnEvalProcess.Run(resumeWork, ["run", "fake-kind.yaml", "--resume", dir, .. AttnEvalProcess.PluginArgs()]);
        c2.Should().Be(0, e2);
        var ids = File.ReadAllLines(Path.Combine(dir, "samples.jsonl")).Select(l => (string)JsonNode.Parse(l)!["id"]!).ToList();
        ids.Should().OnlyHaveUniqueItems().And.HaveCount(24);
        var resumed = JsonNode.Parse(File.ReadAllText(Path.Combine(dir, "summary.json")))!;
        ((int)resumed["n_samples"]!).Should().Be(24);
        ((int)resumed["result"]!["n"]!).Should().Be(24);
        JsonNode.Parse(File.ReadAllText(Path.Combine(dir, "manifest.json")))!["resumed_utc"]!.AsArray().Should().HaveCount(1);
    }
}
