using System.Text.RegularExpressions;

namespace AttnEval.Cli.Tests;

[Collection("attneval processes")]
public sealed class ValidateAndListTests
{
    [Theory]
    [InlineData("unknown-key.yaml", 12, 3, "unknown key 'temprature' in generation; did you mean 'temperature'?")]
    [InlineData("wrong-type.yaml", 11, 19, "generation.max_new_tokens: expected an integer, got 'lots'")]
    [InlineData("bad-range.yaml", 12, 10, "generation.top_p: 1.5 is out of range (0, 1]")]
    [InlineData("missing-dataset.yaml", 6, 9, "dataset.path: dataset file '../nope.jsonl' not found")]
    [InlineData("unknown-metric.yaml", 17, 5, "unknown metric 'perplexty'; did you mean 'perplexity'?")]
    [InlineData("bad-include.yaml", 1, 10, "include: file '../missing-base.yaml' not found")]
    [InlineData("syntax-error.yaml", 17, 3, "YAML syntax error")]
    public void Validate_prints_one_line_with_file_line_col_exits_2_and_writes_nothing(string file, int line, int col, string message)
    {
        var work = AttnEvalProcess.FreshWorkDir();
        var before = Directory.GetFileSystemEntries(work, "*", SearchOption.AllDirectories).Order().ToList();

        var (code, stdout, stderr) = AttnEvalProcess.Run(work, ["validate", $"broken/{file}", .. AttnEvalProcess.PluginArgs()]);

        code.Should().Be(2);
        stderr.Should().BeEmpty();
        var lines = stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        lines.Should().ContainSingle();
        var m = Regex.Match(lines[0], @"^(.+):(\d+):(\d+): (.*)$");
        m.Success.Should().BeTrue(lines[0]);
        Path.GetFileName(m.Groups[1].Value).Should().Be(file);
        (int.Parse(m.Groups[2].Value), int.Parse(m.Groups[3].Value)).Should().Be((line, col));
        m.Groups[4].Value.Should().StartWith(message);
        Directory.GetFileSystemEntries(work, "*", SearchOption.AllDirectories).Order().Should().Equal(before);
    }

    [Fact]
    public void Validate_json_gives_each_recipe_ok_or_its_errors_with_file_line_column_and_message()
    {
        var work = AttnEvalProcess.FreshWorkDir();
        var (code, stdout, stderr) = AttnEvalProcess.Run(work, ["validate", "fake-run.yaml", "broken/bad-range.yaml", "--json", .. AttnEvalProcess.PluginArgs()]);
        code.Should().Be(2, "one recipe is bad");
        stderr.Should().BeEmpty();
        stdout.Trim().Split('\n').Should().ContainSingle("one JSON array");
        var results = System.Text.Json.Nodes.JsonNode.Parse(stdout)!.AsArray();
        results.Select(r => ((string?)r!["recipe"], (bool)r["ok"]!)).Should().Equal(("fake-run.yaml", true), ("broken/bad-range.yaml", false));
        results[0]!["errors"]!.AsArray().Should().BeEmpty();
        var error = results[1]!["errors"]!.AsArray().Single()!;
        Path.GetFileName((string)error["file"]!).Should().Be("bad-range.yaml");
        ((int)error["line"]!, (int)error["column"]!).Should().Be((12, 10));
        ((string)error["message"]!).Should().StartWith("generation.top_p: 1.5 is out of range (0, 1]");

        (code, stdout, _) = AttnEvalProcess.Run(work, ["validate", "fake-run.yaml", "--json", .. AttnEvalProcess.PluginArgs()]);
        code.Should().Be(0);
        stdout.Trim().Should().Be("""[{"recipe":"fake-run.yaml","ok":true,"errors":[]}]""");
    }

    [Fact]
    public void Validate_accepts_a_good_recipe()
    {
        var (code, stdout, _) = AttnEvalProcess.Run(AttnEvalProcess.FreshWorkDir(), ["validate", "fake-run.yaml", .. AttnEvalProcess.PluginArgs()]);
        code.Should().Be(0);
        stdout.Trim().Should().Be("fake-run.yaml: ok");
    }

    [Fact]
    public void Bad_usage_exits_2()
    {
        AttnEvalProcess.Run(AttnEvalProcess.DataDir, "run").ExitCode.Should().Be(2);
        AttnEvalProcess.Run(AttnEvalProcess.DataDir, "frobnicate").ExitCode.Should().Be(2);
        AttnEvalProcess.Run(AttnEvalProcess.DataDir, "report", "/nonexistent/run").ExitCode.Should().Be(2);
    }

    [Fact]
    public void List_shows_name_kind_version_and_folder_of_every_export()
    {
        var (code, stdout, _) = AttnEvalProcess.Run(AttnEvalProcess.DataDir, ["list", .. AttnEvalProcess.PluginArgs()]);
        code.Should().Be(0);
        var rows = stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l.Split('\t')).ToList();
        rows[0].Should().Equal("name", "kind", "plugin", "version", "folder", "adds to generation", "description");
        rows.Should().OnlyContain(r => r.Length == 7);
        rows.Should().ContainSingle(r => r[0] == "uqac" && r[6].StartsWith("UQAC: attention-chain marginal confidence"));
        rows.Should().ContainSingle(r => r[0] == "msp" && r[1] == "sample-estimator" && r[2] == "baselines"
                                         && r[4] == Path.Combine(AttnEvalProcess.Plugins, "AttnEval.Metrics.Baselines") && r[5] == "none (answer log-probs)");
        // What each estimator adds to generation, from what it needs.
        rows.Should().ContainSingle(r => r[0] == "uqac" && r[5] == "attention rows + extra forward passes");
        rows.Should().ContainSingle(r => r[0] == "sar" && r[5] == "sampled answers + sentence similarity");
        rows.Should().ContainSingle(r => r[0] == "numeric-final-answer" && r[5] == "");
        rows.Should().ContainSingle(r => r[0] == "numeric-final-answer" && r[1] == "judge");
        rows.Should().ContainSingle(r => r[0] == "fake" && r[1] == "backend");
    }

    [Fact]
    public void List_json_and_describe_show_every_part_with_its_options()
    {
        var (code, stdout, _) = AttnEvalProcess.Run(AttnEvalProcess.DataDir, ["list", "--json", .. AttnEvalProcess.PluginArgs()]);
        code.Should().Be(0);
        var parts = System.Text.Json.Nodes.JsonNode.Parse(stdout)!.AsArray();
        parts.Should().Contain(p => (string)p!["name"]! == "rauq" && (string)p["kind"]! == "sample-estimator" && (string)p["adds_to_generation"]! == "attention rows");
        parts.Should().Contain(p => (string)p!["name"]! == "exp-attention-entropy" && (string)p["adds_to_generation"]! == "needs options");

        (code, stdout, _) = AttnEvalProcess.Run(AttnEvalProcess.DataDir, ["describe", "uqac", .. AttnEvalProcess.PluginArgs()]);
        code.Should().Be(0);
        stdout.Should().Contain("uqac (sample-estimator)").And.Contain("adds to generation: attention rows + extra forward passes")
            .And.Contain("  top_heads: integer, default 16, ≥ 1").And.Contain("  variant: string, default \"ens_marginal\", one of ens_marginal, attn_prod");

        (code, stdout, _) = AttnEvalProcess.Run(AttnEvalProcess.DataDir, ["describe", "rauq", "--json", .. AttnEvalProcess.PluginArgs()]);
        code.Should().Be(0);
        var rauq = System.Text.Json.Nodes.JsonNode.Parse(stdout)!;
        var alpha = rauq["options"]!.AsArray().Single(o => (string)o!["key"]! == "alpha")!;
        ((double)alpha["min"]!).Should().Be(0);
        ((double)alpha["max"]!).Should().Be(1);
        ((string)alpha["type"]!).Should().Be("number");

        rauq["measured_cost"].Should().BeNull("no run under the data folder's runs/ has rauq");

        // the measured cost comes from the newest finished run under --runs that ran the estimator
        var runs = Directory.CreateTempSubdirectory("attneval-describe-runs-").FullName;
        try
        {
            void Summary(string run, double fraction, DateTime written)
            {
                Directory.CreateDirectory(Path.Combine(runs, run));
                var path = Path.Combine(runs, run, "summary.json");
                var cost = new System.Text.Json.Nodes.JsonObject
                {
                    ["kind"] = "uncertainty",
                    ["cost"] = new System.Text.Json.Nodes.JsonObject
                    {
                        ["n"] = 100,
                        ["methods"] = new System.Text.Json.Nodes.JsonObject { ["uqac"] = new System.Text.Json.Nodes.JsonObject { ["seconds"] = 0.9, ["fraction_of_generation"] = fraction } },
                    },
                };
                File.WriteAllText(path, cost.ToJsonString());
                File.SetLastWriteTimeUtc(path, written);
            }
            Summary("old", 0.5, DateTime.UtcNow.AddHours(-1));
            Summary("new", 0.2, DateTime.UtcNow);
            (code, stdout, _) = AttnEvalProcess.Run(AttnEvalProcess.DataDir, ["describe", "uqac", "--runs", runs, .. AttnEvalProcess.PluginArgs()]);
            code.Should().Be(0);
            stdout.Should().Contain($"measured cost: 0.2 of generation time (0.9 s for 100 questions) in {Path.Combine(runs, "new")}");
        }
        finally { Directory.Delete(runs, recursive: true); }

        var (bad, _, stderr) = AttnEvalProcess.Run(AttnEvalProcess.DataDir, ["describe", "uqak", .. AttnEvalProcess.PluginArgs()]);
        bad.Should().Be(2);
        stderr.Trim().Should().Be("attneval: no installed part is named 'uqak'; did you mean 'uqac'? (attneval list shows them)");
    }
}
