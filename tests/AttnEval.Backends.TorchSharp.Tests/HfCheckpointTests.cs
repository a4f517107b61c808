using System.Text.Json;
using System.Text.Json.Nodes;
using AttnEval.Abstractions;
using AttnEval.Backends.TorchSharp.Modeling;
using TorchSharp;
using TorchSharp.PyBridge;
using static TorchSharp.torch;

namespace AttnEval.Backends.TorchSharp.Tests;

/// <summary>Hugging Face layout checkpoints written here with random weights: loading, KV-cache parity, errors.</summary>
public sealed class HfCheckpointTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("attneval-hf-").FullName;

    public void Dispose() => Directory.Delete(_dir, true);

    [Fact]
    public void TorchLoadsOnThisMachine() => torch.ones(2).sum().item<float>().Should().Be(2f);

    private static LlamaConfig SmallLlama(bool tied = true) => new(VocabSize: 300, HiddenSize: 32, IntermediateSize: 64, NumHiddenLayers: 3, NumAttentionHeads: 4, NumKeyValueHeads: 2)
    {
        TieWordEmbeddings = tied, MaxPositionEmbeddings = 64, RmsNormEps = 1e-5, RopeTheta = 500000,
        RopeScaling = new RopeScaling("llama3", 8, 1, 4, 16), BosTokenId = 256, EosTokenIds = [256],
    };

    /// <summary>A byte-level BPE vocabulary (GPT-2 byte→unicode table, no merges) plus &lt;|endoftext|&gt; = 256.</summary>
    private static void WriteByteLevelTokenizer(string dir)
    {
        var chars = new List<int>();
        for (int b = '!'; b <= '~'; b++) chars.Add(b);
        for (int b = 0xA1; b <= 0xAC; b++) chars.Add(b);
        for (int b = 0xAE; b <= 0xFF; b++) chars.Add(b);
        var map = new Dictionary<int, int>();
        int extra = 0;
        for (int b = 0; b < 256; b++) map[b] = chars.Contains(b) ? b : 256 + extra++;
        var vocab = new JsonObject();
        for (int b = 0; b < 256; b++) vocab[char.ConvertFromUtf32(map[b])] = b;
        vocab["<|endoftext|>"] = 256;
        File.WriteAllText(Path.Combine(dir, "vocab.json"), vocab.ToJsonString());
        File.WriteAllText(Path.Combine(dir, "merges.txt"), "#version: 0.2\n");
    }

    private string SaveLlama(LlamaConfig cfg, ScalarType dtype = ScalarType.Float32)
    {
        using var m = new LlamaForCausalLM(cfg);
        m.InitializeWeights(0.2, seed: 3);
        if (dtype != ScalarType.Float32) m.to(dtype);
        m.SavePretrained(_dir);
        WriteByteLevelTokenizer(_dir);
        return _dir;
    }

    private static void KvCacheMatchesFullForward(ILanguageModel model, int length)
    {
        var decoder = ((TorchSharpLanguageModel)model).Decoder;
        using var _ = inference_mode();
        var ids = randint(0, model.Info.VocabSize, new long[] { 2, length }, generator: new Generator(5));
        using var full = decoder.Logits(ids, null, null);                                   // [2, T, V]
        using var cache = new KvCache(model.Info.Layers, length);
        var parts = new List<Tensor> { decoder.Logits(ids.narrow(1, 0, 5), cache, null) };
        for (int t = 5; t < length; t++) parts.Add(decoder.Logits(ids.narrow(1, t, 1), cache, null));
        using var cached = cat(parts, 1);
        (cached - full).abs().max().item<float>().Should().BeLessThan(1e-5f);
        // The eager path (capture on) agrees with the fused path as well.
        var control = CallControl.Create(model.Info, [new FullPatternRecorder()], [])!;
        using var eager = decoder.Logits(ids, null, control);
        (eager - full).abs().max().item<float>().Should().BeLessThan(1e-5f);
    }

    [Fact]
    public void LlamaGqaTiedLoadsAndKvCacheMatchesFullForward()
    {
        var cfg = SmallLlama();
        SaveLlama(cfg);
        var keys = Safetensors.LoadStateDict(Path.Combine(_dir, "model.safetensors")).Keys.ToList();
        keys.Should().Contain("model.layers.0.self_attn.k_proj.weight").And.NotContain("lm_head.weight");
        using var model = new TorchSharpBackend().Load(new ModelSource(_dir));
        model.Info.Should().BeEquivalentTo(new { Architecture = "llama", Layers = 3, Heads = 4, KvHeads = 2, DModel = 32, VocabSize = 300, ContextLength = 64, HeadDim = 8, DType = "float32", Device = "cpu" });
        model.Info.WeightsSha256.Should().HaveLength(64);
        KvCacheMatchesFullForward(model, 40);
        // Public API: greedy generation's log-probs equal teacher-forced scores of the same tokens.
        var g = model.Generate(new GenerationRequest { PromptTokens = [256, 10, 20], MaxNewTokens = 12 }).Sequences[0];
        var s = model.Score(new ScoreRequest { Tokens = [256, 10, 20, .. g.Tokens], From = 3 });
        s.LogProbs.Zip(g.Scores.LogProbs).Should().OnlyContain(p => Math.Abs(p.First - p.Second) < 1e-5);
        model.Tokenizer.BosId.Should().Be(256);
        model.Tokenizer.Decode(model.Tokenizer.Encode("héllo wörld")).Should().Be("héllo wörld");
    }

    [Fact]
    public void QkvBiasUntiedQwen2AndHalfPrecisionWeightsLoad()
    {
        var cfg = SmallLlama(tied: false) with { ModelType = "qwen2", RopeScaling = new RopeScaling("linear", 2) };
        using var reference = new LlamaForCausalLM(cfg);
        reference.InitializeWeights(0.2, seed: 4);
        using (no_grad()) foreach (var (n, p) in reference.named_parameters()) if (n.EndsWith(".bias")) p.normal_(0, 0.1);
        reference.to(ScalarType.BFloat16).to(ScalarType.Float32);   // values exactly representable in bf16
        reference.to(ScalarType.BFloat16);
        reference.SavePretrained(_dir);
        reference.to(ScalarType.Float32);
        WriteByteLevelTokenizer(_dir);
        using var model = new TorchSharpBackend().Load(new ModelSource(_dir));
        var ids = tensor(new long[] { 1, 2, 3, 4, 5, 6 }, [1, 6]);
        using var _ = inference_mode();
        var expected = reference.Forward(ids);
        var actual = ((TorchSharpLanguageModel)model).Decoder.Logits(ids, null, null);
        (expected - actual).abs().max().item<float>().Should().BeLessThan(1e-5f);
        KvCacheMatchesFullForward(model, 20);
        using var half = new TorchSharpBackend().Load(new ModelSource(_dir, DType: "bfloat16"));
        half.Info.DType.Should().Be("bfloat16");
        half.Generate(new GenerationRequest { PromptTokens = [1, 2], MaxNewTokens = 4 }).Sequences[0].Tokens.Should().HaveCount(4);
    }

    [Fact]
    public void TrainingForwardTakesPositionsAndPackedMask()
    {
        using var m = new LlamaForCausalLM(SmallLlama());
        m.InitializeWeights(0.2, 1);
        var a = tensor(new long[] { 5, 6, 7 }, [1, 3]);
        var b = tensor(new long[] { 8, 9 }, [1, 2]);
        var packed = cat([a, b], 1);                                                       // [1, 5]
        var pos = tensor(new long[] { 0, 1, 2, 0, 1 });
        var doc = tensor(new long[] { 0, 0, 0, 1, 1 });
        var mask = doc.unsqueeze(1).eq(doc.unsqueeze(0)).view(1, 1, 5, 5);                 // block-diagonal
        var logits = m.Forward(packed, pos, mask);                                          // [1, 5, V]
        logits.shape.Should().Equal(1, 5, 300);
        (logits.narrow(1, 3, 2) - m.forward(b)).abs().max().item<float>().Should().BeLessThan(1e-5f);
        (logits.narrow(1, 0, 3) - m.forward(a)).abs().max().item<float>().Should().BeLessThan(1e-5f);
        var loss = nn.functional.cross_entropy(logits.view(5, 300), tensor(new long[] { 1, 2, 3, 4, 5 }));
        loss.backward();
        m.parameters().First().grad.Should().NotBeNull();
    }

    [Fact]
    public void Gpt2LoadsAndKvCacheMatchesFullForward()
    {
        var cfg = new Gpt2Config(300, 32, 2, 4, 64) { EosTokenIds = [256], BosTokenId = 256 };
        using (var m = new Gpt2LMHeadModel(cfg))
        {
            using (no_grad()) foreach (var (n, p) in m.named_parameters()) p.normal_(0, n.Contains("ln_") && n.EndsWith("weight") ? 0 : 0.2).add_(n.Contains("ln_") && n.EndsWith("weight") ? 1 : 0);
            m.save_safetensors(Path.Combine(_dir, "model.safetensors"));
        }
        File.WriteAllText(Path.Combine(_dir, "config.json"), cfg.ToJson());
        WriteByteLevelTokenizer(_dir);
        using var model = new TorchSharpBackend().Load(new ModelSource(_dir));
        model.Info.Should().BeEquivalentTo(new { Architecture = "gpt2", Layers = 2, Heads = 4, KvHeads = 4, DModel = 32, VocabSize = 300, ContextLength = 64 });
        KvCacheMatchesFullForward(model, 30);
        var rec = new FullPatternRecorder();
        var r = model.Generate(new GenerationRequest { PromptTokens = [1, 2, 3], MaxNewTokens = 5, Captures = [rec], Interventions = [new UniformAttention(new HeadId(1, 2))] });
        rec.Row(1, 2, 4)!.Take(5).Should().OnlyContain(x => Math.Abs(x - 0.2f) < 1e-6);
    }

    [Fact]
    public void MissingConfigKeyIsReported()
    {
        SaveLlama(SmallLlama());
        var path = Path.Combine(_dir, "config.json");
        var cfg = JsonNode.Parse(File.ReadAllText(path))!.AsObject();
        cfg.Remove("hidden_size");
        File.WriteAllText(path, cfg.ToJsonString());
        var act = () => new TorchSharpBackend().Load(new ModelSource(_dir));
        act.Should().Throw<ModelLoadException>().WithMessage("*config.json: missing key 'hidden_size' (expected an integer)*");
    }

    [Fact]
    public void WrongShapeAndMissingTensorAreReported()
    {
        SaveLlama(SmallLlama());
        var file = Path.Combine(_dir, "model.safetensors");
        var sd = Safetensors.LoadStateDict(file);
        sd["model.layers.1.self_attn.k_proj.weight"] = zeros(32, 32);
        Safetensors.SaveStateDict(file, sd);
        var act = () => new TorchSharpBackend().Load(new ModelSource(_dir));
        act.Should().Throw<ModelLoadException>().WithMessage("*model.safetensors: tensor 'model.layers.1.self_attn.k_proj.weight' has shape [32, 32], expected [16, 32]*");
        sd.Remove("model.layers.1.self_attn.k_proj.weight");
        Safetensors.SaveStateDict(file, sd);
        act.Should().Throw<ModelLoadException>().WithMessage("*missing tensor 'model.layers.1.self_attn.k_proj.weight' (expected shape [16, 32])*");
        File.WriteAllBytes(file, [1, 2, 3]);
        act.Should().Throw<ModelLoadException>().WithMessage("*model.safetensors: truncated safetensors file (3 bytes; expected an 8-byte header length first).");
    }

    [Fact]
    public void ShardedIndexLoads()
    {
        SaveLlama(SmallLlama());
        var sd = Safetensors.LoadStateDict(Path.Combine(_dir, "model.safetensors"));
        File.Delete(Path.Combine(_dir, "model.safetensors"));
        var keys = sd.Keys.Order().ToList();
        var shard1 = keys.Take(keys.Count / 2).ToDictionary(k => k, k => sd[k]);
        var shard2 = keys.Skip(keys.Count / 2).ToDictionary(k => k, k => sd[k]);
        Safetensors.SaveStateDict(Path.Combine(_dir, "model-00001-of-00002.safetensors"), shard1);
        Safetensors.SaveStateDict(Path.Combine(_dir, "model-00002-of-00002.safetensors"), shard2);
        var map = new JsonObject();
        foreach (var k in shard1.Keys) map[k] = "model-00001-of-00002.safetensors";
        foreach (var k in shard2.Keys) map[k] = "model-00002-of-00002.safetensors";
        File.WriteAllText(Path.Combine(_dir, "model.safetensors.index.json"), new JsonObject { ["metadata"] = new JsonObject(), ["weight_map"] = map }.ToJsonString());
        using var model = new TorchSharpBackend().Load(new ModelSource(_dir));
        model.Generate(new GenerationRequest { PromptTokens = [1], MaxNewTokens = 3 }).Sequences[0].Tokens.Should().HaveCount(3);
    }

    [Fact]
    public void CudaIsReportedUnavailableOnCpuBuild()
    {
        var backend = new TorchSharpBackend();
        backend.Name.Should().Be("torchsharp");
        backend.IsAvailable("cpu", out _).Should().BeTrue();
        backend.IsAvailable("cuda", out var reason).Should().BeFalse();
        reason.Should().Contain("CUDA requested but TorchSharp-cuda-linux is not installed").And.Contain("-p:TorchSharpRuntime=cuda");
        var act = () => backend.Load(new ModelSource(_dir, Device: "cuda:0"));
        act.Should().Throw<ModelLoadException>().WithMessage("CUDA requested*");
        backend.IsAvailable("tpu", out _).Should().BeFalse();
    }
}
