using AttnEval.Abstractions;
using AttnEval.TestSupport;

namespace AttnEval.Backends.TorchSharp.Tests;

/// <summary>
/// Random-weight checkpoints with the real configurations of Llama-3.2-1B, Qwen2.5-0.5B, Mistral-7B-v0.3 and GPT-2 124M
/// (real hidden sizes, head counts, GQA ratios, RoPE settings and vocabularies; fewer layers for CI time), each with a
/// real tokenizer of a matching vocabulary: load in the checkpoint's dtype, generate, score, capture and intervene.
/// </summary>
public sealed class RealShapeTests
{
    [SkippableTheory]
    [InlineData("llama-3.2-1b", "BF16", 2, "tokenizers/llama3", 32, 8)]
    [InlineData("qwen2.5-0.5b", "BF16", 2, "tokenizers/qwen3", 14, 2)]
    [InlineData("mistral-7b-v0.3", "BF16", 1, "tokenizers/mistral", 32, 8)]
    [InlineData("gpt2", "F32", 2, "models/onnx/tiny-random-gpt2-fp32", 12, 12)]
    public void Loads_generates_scores_captures_and_intervenes(string name, string dtype, int layers, string tokenizer, int heads, int kvHeads)
    {
        var tokenizerDir = SharedData.Require(tokenizer);
        var dir = Directory.CreateTempSubdirectory("attneval-shape-").FullName;
        try
        {
            RandomCheckpoints.Write(dir, RandomCheckpoints.Config(name), dtype, layers);
            foreach (var f in new[] { "tokenizer.json", "tokenizer_config.json" })
                if (File.Exists(Path.Combine(tokenizerDir, f))) File.Copy(Path.Combine(tokenizerDir, f), Path.Combine(dir, f));
            var computeDtype = dtype == "BF16" ? "bfloat16" : "float32";
            using var model = new TorchSharpBackend().Load(new ModelSource(dir, "torchsharp", "cpu", computeDtype));
            model.Info.Layers.Should().Be(layers);
            (model.Info.Heads, model.Info.KvHeads).Should().Be((heads, kvHeads));
            model.Info.VocabSize.Should().Be((int)RandomCheckpoints.Config(name)["vocab_size"]!);
            model.Info.DType.Should().Be(computeDtype);

            var prompt = model.Tokenizer.Encode("The capital of France is", addBos: true);
            var g = model.Generate(new GenerationRequest { PromptTokens = prompt, MaxNewTokens = 4 }).Sequences[0];
            g.Tokens.Should().HaveCount(4);
            g.Scores.LogProbs.Should().OnlyContain(lp => lp <= 0 && !float.IsNaN(lp));
            model.Tokenizer.Decode(g.Tokens).Should().NotBeNull();

            int[] tokens = [.. prompt, .. g.Tokens];
            var rec = new FullPatternRecorder();
            var s = model.Score(new ScoreRequest { Tokens = tokens, From = prompt.Count, Captures = [rec] });
            s.LogProbs.Should().HaveCount(4);
            // Teacher forcing reproduces the greedy log-probabilities (bf16: within its precision).
            s.LogProbs.Zip(g.Scores.LogProbs).Should().OnlyContain(p => Math.Abs(p.First - p.Second) < (dtype == "BF16" ? 0.05 : 1e-3));
            var row = rec.Row(layers - 1, heads - 1, tokens.Length - 1)!;
            row.Sum().Should().BeApproximately(1f, 1e-3f);

            var head = new HeadId(0, 0);
            var u = new FullPatternRecorder();
            model.Score(new ScoreRequest { Tokens = tokens, From = prompt.Count, Captures = [u], Interventions = [new UniformAttention(head)] });
            var uniform = u.Row(0, 0, tokens.Length - 1)!;
            uniform.Take(tokens.Length).Should().OnlyContain(x => Math.Abs(x - 1f / tokens.Length) < 1e-3);
        }
        finally { Directory.Delete(dir, true); }
    }
}
