using System.Text.Json;
using AttnEval.Abstractions;
using AttnEval.Backends.TorchSharp;
using AttnEval.Samples.LabModel;

namespace AttnEval.LabModel.Tests;

/// <summary>The committed lab model loads through the normal loader and still does what its card says.</summary>
public sealed class LabModelTests
{
    private static string ModelDir
    {
        get
        {
            var dir = new DirectoryInfo(AppContext.BaseDirectory);
            while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "AttnEval.sln"))) dir = dir.Parent;
            return dir is null
                ? throw new DirectoryNotFoundException("repository root (AttnEval.sln) not found above " + AppContext.BaseDirectory)
                : Path.Combine(dir.FullName, "samples", "models", "attneval-lab");
        }
    }

    [Fact]
    public void The_folder_has_the_Hugging_Face_layout_and_the_card()
    {
        foreach (var f in new[] { "config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json", "generation_config.json", "README.md", "metrics.json",
                     "eval/arithmetic.jsonl", "eval/lookup.jsonl", "eval/search.jsonl", "eval/refusal.jsonl" })
            File.Exists(Path.Combine(ModelDir, f)).Should().BeTrue($"{f} is part of the shipped model");
        new FileInfo(Path.Combine(ModelDir, "model.safetensors")).Length.Should().BeLessThan(8_000_000, "the lab model's weights are at most 8 MB");
        using var metrics = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(ModelDir, "metrics.json")));
        var sha = metrics.RootElement.GetProperty("weights_sha256").GetString();
        LabEvaluator.Sha256File(Path.Combine(ModelDir, "model.safetensors")).Should().Be(sha, "metrics.json describes the committed weights");
        File.ReadAllText(Path.Combine(ModelDir, "README.md")).Should().Contain(sha!);
    }

    [Fact]
    public void The_backend_loads_it_as_a_GQA_llama()
    {
        using var model = new TorchSharpBackend().Load(new ModelSource(ModelDir));
        model.Info.Architecture.Should().Be("llama");
        model.Info.Layers.Should().BeGreaterThanOrEqualTo(4);
        model.Info.Heads.Should().BeGreaterThanOrEqualTo(4);
        model.Info.KvHeads.Should().BeLessThan(model.Info.Heads);
        model.Tokenizer.Encode(" K17 V42").Should().HaveCount(2, "keys and values are single tokens");
    }

    [Fact]
    public void Each_task_is_within_10_points_of_the_model_card_on_50_held_out_items()
    {
        var card = LabEvaluator.ReadHeadline(Path.Combine(ModelDir, "metrics.json"));
        var measured = LabEvaluator.Evaluate(ModelDir, limit: 50).Headline();
        foreach (var (task, expected) in card)
            measured[task].Should().BeApproximately(expected, 0.10, $"task {task}: the card says {expected:P1} (metrics.json headline)");
    }
}
