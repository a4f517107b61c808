using AttnEval.Abstractions;
using AttnEval.TestSupport;

namespace AttnEval.Backends.Onnx.Tests;

/// <summary>The standard exports of ../shared/data/models/onnx (random weights, com.microsoft fused ops, no attention outputs):
/// they load, generate with the KV cache and score; attention and interventions are refused naming what is missing.</summary>
public sealed class FixtureTests
{
    private static ILanguageModel Load(string relative, string device = "cpu") =>
        new OnnxBackend().Load(new ModelSource(SharedData.Require(relative), "onnx", device));

    [SkippableTheory]
    [InlineData("models/onnx/tiny-random-gpt2-fp32", "gpt2", 5, 4, 4, 8, 32, 1000, 512, "float32")]
    [InlineData("models/onnx/tiny-random-LlamaForCausalLM-fp16", "llama", 2, 1, 1, 16, 16, 32000, 2048, "float16")]
    public void Fixture_loads_with_the_shapes_of_its_config(string dir, string arch, int layers, int heads, int kvHeads, int headDim, int dModel, int vocab, int context, string dtype)
    {
        using var m = Load(dir);
        m.Info.Should().BeEquivalentTo(new { Architecture = arch, Layers = layers, Heads = heads, KvHeads = kvHeads, HeadDim = headDim, DModel = dModel, VocabSize = vocab, ContextLength = context, DType = dtype, Device = "cpu" });
        m.Info.WeightsSha256.Should().MatchRegex("^[0-9a-f]{64}$");
        m.SupportsAttentionCapture.Should().BeFalse();
        m.SupportedInterventions.Should().BeEmpty();
    }

    [SkippableTheory]
    [InlineData("models/onnx/tiny-random-gpt2-fp32", 2e-4)]
    [InlineData("models/onnx/tiny-random-LlamaForCausalLM-fp16", 2e-2)]
    public void Cached_generation_agrees_with_one_teacher_forced_pass(string dir, double tolerance)
    {
        using var m = Load(dir);
        var prompt = m.Tokenizer.Encode("Hello world, this is", addBos: m.Tokenizer.BosId is not null);
        var gen = m.Generate(new GenerationRequest { PromptTokens = prompt, MaxNewTokens = 24, StopTokens = [], TopLogProbs = 3 });
        var seq = gen.Sequences.Should().ContainSingle().Subject;
        seq.Tokens.Should().NotBeEmpty();
        // Greedy: the chosen token is the most likely one, its log-probability the top alternative's.
        for (int i = 0; i < seq.Tokens.Count; i++)
        {
            seq.Scores.TopK![i][0].Token.Should().Be(seq.Tokens[i]);
            seq.Scores.TopK[i][0].LogProb.Should().Be(seq.Scores.LogProbs[i]);
            seq.Scores.LogProbs[i].Should().BeLessThanOrEqualTo(0);
            seq.Scores.Entropies[i].Should().BeInRange(0, (float)Math.Log(m.Info.VocabSize) + 1e-4f);
        }
        var score = m.Score(new ScoreRequest { Tokens = [.. prompt, .. seq.Tokens], From = prompt.Count });
        score.Tokens.Should().Equal(seq.Tokens);
        for (int i = 0; i < seq.Tokens.Count; i++)
        {
            score.LogProbs[i].Should().BeApproximately(seq.Scores.LogProbs[i], (float)tolerance, $"log-prob of step {i}");
            score.Entropies[i].Should().BeApproximately(seq.Scores.Entropies[i], (float)tolerance * 10, $"entropy of step {i}");
        }
    }

    [SkippableFact]
    public void Batched_sequences_share_the_prompt_and_seeded_sampling_is_reproducible()
    {
        using var m = Load("models/onnx/tiny-random-gpt2-fp32");
        var prompt = m.Tokenizer.Encode("a b c");
        var req = new GenerationRequest { PromptTokens = prompt, MaxNewTokens = 12, NumSequences = 3, Sampling = new SamplingOptions(Temperature: 1.0, TopK: 50, Seed: 11) };
        var a = m.Generate(req);
        var b = m.Generate(req);
        a.Sequences.Select(s => s.Tokens).Should().BeEquivalentTo(b.Sequences.Select(s => s.Tokens), o => o.WithStrictOrdering());
        a.Sequences.Select(s => string.Join(',', s.Tokens)).Distinct().Should().HaveCountGreaterThan(1, "three seeds on a random model give different samples");
        var single = m.Generate(req with { NumSequences = 1, Sampling = req.Sampling with { Seed = 12 } });
        single.Sequences[0].Tokens.Should().Equal(a.Sequences[1].Tokens, "sequence k uses seed Seed + k");
    }

    [SkippableTheory]
    [InlineData("models/onnx/tiny-random-gpt2-fp32")]
    [InlineData("models/onnx/tiny-random-LlamaForCausalLM-fp16")]
    public void Attention_capture_is_refused_naming_the_missing_output(string dir)
    {
        using var m = Load(dir);
        var prompt = m.Tokenizer.Encode("hello");
        var act = () => m.Generate(new GenerationRequest { PromptTokens = prompt, MaxNewTokens = 2, Captures = [new FullPatternRecorder(new HashSet<int> { 1 })] });
        act.Should().Throw<NotSupportedException>().WithMessage("*no output 'blocks.1.attn.hook_pattern'*export-onnx*");
        var score = () => m.Score(new ScoreRequest { Tokens = prompt, From = 1, Captures = [new FullPatternRecorder()] });
        score.Should().Throw<NotSupportedException>().WithMessage("*'blocks.0.attn.hook_pattern'*");
        var iv = () => m.Score(new ScoreRequest { Tokens = prompt, From = 1, Interventions = [new ZeroOutput(new HeadId(0, 0))] });
        iv.Should().Throw<NotSupportedException>().WithMessage("*no input 'q_scale'*");
    }

    [SkippableFact]
    public void Cuda_without_the_provider_and_bad_paths_are_clear_errors()
    {
        var dir = SharedData.Require("models/onnx/tiny-random-gpt2-fp32");
        var backend = new OnnxBackend();
        backend.IsAvailable("cpu", out _).Should().BeTrue();
        backend.IsAvailable("cuda", out var why).Should().BeFalse();
        why.Should().Contain("CUDA execution provider is not installed");
        backend.IsAvailable("tpu", out why).Should().BeFalse();
        why.Should().Contain("expected cpu, cuda or cuda:N");
        ((Action)(() => backend.Load(new ModelSource(dir, "onnx", "cuda")))).Should().Throw<ModelLoadException>().WithMessage("CUDA requested*");
        ((Action)(() => backend.Load(new ModelSource(dir + "-missing", "onnx")))).Should().Throw<ModelLoadException>().WithMessage("*no such model folder*");
        ((Action)(() => backend.Load(new ModelSource(dir, "onnx") { Options = new Dictionary<string, string> { ["threads"] = "zero" } })))
            .Should().Throw<ModelLoadException>().WithMessage("model.options.threads = 'zero' is not a positive integer.");
        using var m = backend.Load(new ModelSource(dir, "onnx") { Options = new Dictionary<string, string> { ["threads"] = "1" } });
        ((Action)(() => m.Generate(new GenerationRequest { PromptTokens = [1000] }))).Should().Throw<ArgumentException>().WithMessage("*outside the vocabulary*");
        ((Action)(() => m.Score(new ScoreRequest { Tokens = [1, 2], From = 0 }))).Should().Throw<ArgumentException>().WithMessage("From = 0*");
    }
}
