using System.Text.Json;
using AttnEval.Abstractions;
using AttnEval.Backends.TorchSharp;
using AttnEval.Onnx.Export;
using AttnEval.TestSupport;

namespace AttnEval.Backends.Onnx.Tests;

/// <summary>
/// Issue 8's parity checks on the embedded lab model (samples/models/attneval-lab, a Llama trained by samples/LabModel):
/// 200 greedy tokens identical, log-probabilities and attention rows within 1e-4, the same intervention effects. Skipped,
/// with the reason, until the trained model is in the repository.
/// </summary>
public sealed class LabModelParityTests : IDisposable
{
    private readonly string _out = Path.Combine(Path.GetTempPath(), "attneval-lab-onnx-" + Guid.NewGuid().ToString("N"));

    public void Dispose() { if (Directory.Exists(_out)) Directory.Delete(_out, true); }

    [Fact]
    public void Lab_model_runs_the_same_on_both_backends()
    {
        var lab = Path.Combine(SharedData.RepoRoot, "samples", "models", "attneval-lab");
        File.Exists(Path.Combine(lab, "config.json")).Should().BeTrue($"the lab model ships with the repository ({lab}/config.json)");
        var evalFile = Directory.GetFiles(Path.Combine(lab, "eval"), "*.jsonl").Order(StringComparer.Ordinal).First();
        var question = JsonDocument.Parse(File.ReadLines(evalFile).First()).RootElement.GetProperty("question").GetString()!;

        OnnxExporter.Export(lab, _out);
        using var torch = new TorchSharpBackend().Load(new ModelSource(lab));
        using var onnx = new OnnxBackend().Load(new ModelSource(_out, "onnx"));
        var prompt = torch.Tokenizer.Encode($"Question: {question}\nAnswer:", addBos: true);
        onnx.Tokenizer.Encode($"Question: {question}\nAnswer:", addBos: true).Should().Equal(prompt);

        var req = new GenerationRequest { PromptTokens = prompt, MaxNewTokens = 200, StopTokens = [] };
        var t = torch.Generate(req).Sequences[0];
        var o = onnx.Generate(req).Sequences[0];
        o.Tokens.Should().Equal(t.Tokens);
        o.Text.Should().Be(t.Text);
        for (int i = 0; i < t.Tokens.Count; i++) o.Scores.LogProbs[i].Should().BeApproximately(t.Scores.LogProbs[i], 1e-4f, $"step {i}");

        var all = prompt.Concat(t.Tokens).ToList();
        var layers = new HashSet<int> { 0, torch.Info.Layers - 1 };
        var tr = new FullPatternRecorder(layers);
        var or = new FullPatternRecorder(layers);
        torch.Score(new ScoreRequest { Tokens = all, From = prompt.Count, Captures = [tr] });
        onnx.Score(new ScoreRequest { Tokens = all, From = prompt.Count, Captures = [or] });
        or.Count.Should().Be(tr.Count).And.BeGreaterThan(0);
        foreach (var k in tr.Keys)
        {
            var a = tr.Row(k.Layer, k.Head, k.Query)!;
            var b = or.Row(k.Layer, k.Head, k.Query)!;
            for (int j = 0; j < a.Length; j++) b[j].Should().BeApproximately(a[j], 1e-4f, $"{k} key {j}");
        }

        IReadOnlyList<HeadIntervention> ivs = [new UniformAttention(new HeadId(0, 0)), new ScaleQuery(new HeadId(1, 1), 1e-4), new ZeroOutput(new HeadId(torch.Info.Layers - 1, 0))];
        var ts = torch.Score(new ScoreRequest { Tokens = all, From = prompt.Count, Interventions = ivs });
        var os = onnx.Score(new ScoreRequest { Tokens = all, From = prompt.Count, Interventions = ivs });
        for (int i = 0; i < ts.LogProbs.Count; i++) os.LogProbs[i].Should().BeApproximately(ts.LogProbs[i], 1e-4f, $"position {i} under interventions");

        // Interventions acting from a position on (the decode steps only, as Wu et al. mask): the ONNX backend splits its
        // graph runs at each FromPosition, the torchsharp backend masks rows; both must agree, and differ from acting everywhere.
        IReadOnlyList<HeadIntervention> late = [new UniformAttention(new HeadId(1, 0)) { FromPosition = prompt.Count - 1 },
            new ZeroOutput(new HeadId(2, 1)) { FromPosition = 5 }, new ScaleQuery(new HeadId(0, 2), 1e-4)];
        var tl = torch.Score(new ScoreRequest { Tokens = all, From = 1, Interventions = late });
        var ol = onnx.Score(new ScoreRequest { Tokens = all, From = 1, Interventions = late });
        for (int i = 0; i < tl.LogProbs.Count; i++) ol.LogProbs[i].Should().BeApproximately(tl.LogProbs[i], 1e-4f, $"position {i} under FromPosition interventions");
        var everywhere = torch.Score(new ScoreRequest { Tokens = all, From = 1, Interventions = late.Select(iv => iv with { FromPosition = 0 }).ToList() });
        tl.LogProbs.Should().NotEqual(everywhere.LogProbs);
        var gen = new GenerationRequest { PromptTokens = prompt, MaxNewTokens = 20, StopTokens = [], Interventions = late };
        var tg = torch.Generate(gen).Sequences[0];
        var og = onnx.Generate(gen).Sequences[0];
        og.Tokens.Should().Equal(tg.Tokens);
        for (int i = 0; i < tg.Tokens.Count; i++) og.Scores.LogProbs[i].Should().BeApproximately(tg.Scores.LogProbs[i], 1e-4f, $"decode step {i} under FromPosition interventions");
    }
}
