using System.Text.Json;
using AttnEval.TestSupport;

namespace AttnEval.Cli.Tests;

/// <summary><c>attneval export-onnx</c> and recipes on the <c>onnx</c> backend (issue 8), through the built host.</summary>
public sealed class OnnxEndToEndTests
{
    private static string Recipe(string dir, string model, string metrics, string backend = "onnx")
    {
        var path = Path.Combine(dir, "onnx.yaml");
        File.WriteAllText(path, $$$"""
            name: onnx-e2e
            kind: uncertainty
            model: { path: {{{model}}}, backend: {{{backend}}} }
            dataset: { path: sums.jsonl, input: question, target: answer, id: id, limit: 3 }
            prompt: { template: "Question: {{question}}\nAnswer:" }
            generation: { max_new_tokens: 12 }
            judge: { kind: numeric-final-answer }
            metrics: {{{metrics}}}
            evaluation: { bootstrap: 50, seed: 1 }
            output: { dir: runs/ }
            """);
        return path;
    }

    private static List<JsonElement> Samples(string work) =>
        File.ReadAllLines(Directory.GetFiles(Path.Combine(work, "runs"), "samples.jsonl", SearchOption.AllDirectories).Single())
            .Select(l => JsonDocument.Parse(l).RootElement).ToList();

    [SkippableFact]
    public void Exported_stories260K_runs_log_prob_and_attention_metrics()
    {
        var checkpoint = SharedData.Require("models/stories260K/stories260K.bin");
        var work = AttnEvalProcess.FreshWorkDir();
        var (code, stdout, stderr) = AttnEvalProcess.Run(work, "export-onnx", checkpoint, "st-onnx", "--layers", "0-4");
        code.Should().Be(0, stderr);
        stdout.Should().Contain("blocks.4.attn.hook_pattern").And.Contain("copied: tokenizer.bin, config.json");
        File.Exists(Path.Combine(work, "st-onnx", "model.onnx")).Should().BeTrue();
        (code, _, stderr) = AttnEvalProcess.Run(work, [.. AttnEvalProcess.PluginArgs(), "run", Recipe(work, "st-onnx", "[ msp, perplexity, { name: uqac, answer_format: last-line } ]")]);
        code.Should().Be(0, stderr);
        var samples = Samples(work);
        samples.Should().HaveCount(3);
        samples.All(s => !s.TryGetProperty("error", out _) && !s.TryGetProperty("errors", out _)).Should().BeTrue(string.Join("\n", samples));
        // The same recipe on the torchsharp backend over the original checkpoint gives the same answers and values.
        Directory.Move(Path.Combine(work, "runs"), Path.Combine(work, "runs-onnx"));
        (code, _, stderr) = AttnEvalProcess.Run(work, [.. AttnEvalProcess.PluginArgs(), "run", Recipe(work, checkpoint, "[ msp, perplexity, { name: uqac, answer_format: last-line } ]", "torchsharp")]);
        code.Should().Be(0, stderr);
        var torch = Samples(work);
        for (int i = 0; i < 3; i++)
        {
            samples[i].GetProperty("answer").GetString().Should().Be(torch[i].GetProperty("answer").GetString());
            foreach (var m in new[] { "msp", "perplexity", "uqac" })
                samples[i].GetProperty("metrics").GetProperty(m).GetProperty("uncertainty").GetDouble()
                    .Should().BeApproximately(torch[i].GetProperty("metrics").GetProperty(m).GetProperty("uncertainty").GetDouble(), 1e-3, $"{m} of sample {i}");
        }
    }

    [SkippableFact]
    public void Standard_fixture_runs_log_prob_metrics_and_an_attention_metric_is_refused_before_any_run_folder()
    {
        var fixture = SharedData.Require("models/onnx/tiny-random-gpt2-fp32");
        var work = AttnEvalProcess.FreshWorkDir();
        var (code, _, stderr) = AttnEvalProcess.Run(work, [.. AttnEvalProcess.PluginArgs(), "run", Recipe(work, fixture, "[ msp, perplexity, mean-token-entropy ]")]);
        code.Should().Be(0, stderr);
        Samples(work).Should().HaveCount(3).And.OnlyContain(s => s.GetProperty("metrics").GetProperty("perplexity").GetProperty("uncertainty").GetDouble() > 1);
        Directory.Delete(Path.Combine(work, "runs"), true);
        (code, _, stderr) = AttnEvalProcess.Run(work, [.. AttnEvalProcess.PluginArgs(), "run", Recipe(work, fixture, "[ msp, uqac ]")]);
        code.Should().Be(2, "bad input: the graph exports no attention");
        stderr.Should().Contain("metric 'uqac' reads attention rows").And.Contain("delivers none");
        Directory.Exists(Path.Combine(work, "runs")).Should().BeFalse("the run is refused before its folder is created");
    }

    [Fact]
    public void Export_errors_are_one_line_with_exit_code_2()
    {
        var work = AttnEvalProcess.FreshWorkDir();
        var (code, _, stderr) = AttnEvalProcess.Run(work, "export-onnx", Path.Combine(work, "missing"), "out");
        code.Should().Be(2);
        stderr.Trim().Should().Be($"attneval: {Path.Combine(work, "missing")}: no such model folder or checkpoint file (expected a Hugging Face folder or a llama2.c .bin).");
        (code, _, stderr) = AttnEvalProcess.Run(work, "export-onnx", "x", "out", "--layers", "1-a");
        code.Should().Be(2);
        stderr.Should().Contain("'1-a' is not a layer index or range");
    }
}
