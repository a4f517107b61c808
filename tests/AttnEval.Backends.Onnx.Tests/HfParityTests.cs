using System.Text.Json.Nodes;
using AttnEval.Abstractions;
using AttnEval.Backends.TorchSharp;
using AttnEval.Backends.TorchSharp.Modeling;
using AttnEval.Onnx.Export;
using TorchSharp;
using TorchSharp.PyBridge;
using static TorchSharp.torch;

namespace AttnEval.Backends.Onnx.Tests;

/// <summary>
/// Exports of randomly initialised Hugging Face folders written here (Llama with GQA and llama3 RoPE scaling, tied and untied;
/// Qwen2 with q/k/v biases stored in bfloat16; GPT-2), run by both backends: same greedy tokens, log-probabilities and
/// attention rows within 1e-4, the same intervention effects.
/// </summary>
public sealed class HfParityTests : IDisposable
{
    private readonly string _src = Path.Combine(Path.GetTempPath(), "attneval-hf-" + Guid.NewGuid().ToString("N"));
    private readonly string _out;

    public HfParityTests()
    {
        Directory.CreateDirectory(_src);
        _out = _src + "-onnx";
    }

    public void Dispose()
    {
        foreach (var d in new[] { _src, _out }) if (Directory.Exists(d)) Directory.Delete(d, true);
    }

    /// <summary>A byte-level BPE vocabulary (GPT-2 byte→unicode table, no merges) plus &lt;|endoftext|&gt; = 256.</summary>
    private void WriteByteLevelTokenizer()
    {
        var printable = Enumerable.Range('!', '~' - '!' + 1).Concat(Enumerable.Range(0xA1, 12)).Concat(Enumerable.Range(0xAE, 0x100 - 0xAE)).ToHashSet();
        var vocab = new JsonObject();
        int extra = 0;
        for (int b = 0; b < 256; b++) vocab[char.ConvertFromUtf32(printable.Contains(b) ? b : 256 + extra++)] = b;
        vocab["<|endoftext|>"] = 256;
        File.WriteAllText(Path.Combine(_src, "vocab.json"), vocab.ToJsonString());
        File.WriteAllText(Path.Combine(_src, "merges.txt"), "#version: 0.2\n");
    }

    private void SaveLlama(LlamaConfig cfg, ScalarType dtype)
    {
        using var m = new LlamaForCausalLM(cfg);
        m.InitializeWeights(0.2, seed: 3);
        if (dtype != ScalarType.Float32) m.to(dtype);
        m.SavePretrained(_src);
        WriteByteLevelTokenizer();
    }

    private void SaveGpt2()
    {
        var cfg = new Gpt2Config(300, 32, 2, 4, 64) { EosTokenIds = [256], BosTokenId = 256 };
        int d = cfg.NEmbd;
        var gen = new Generator(7);
        var sd = new Dictionary<string, Tensor>();
        void Add(string name, params long[] shape) => sd[name] = name.Contains(".ln_") || name.StartsWith("transformer.ln_f")
            ? (name.EndsWith("weight") ? 1 + 0.1 * randn(shape, generator: gen) : 0.1 * randn(shape, generator: gen))
            : 0.2 * randn(shape, generator: gen);
        Add("transformer.wte.weight", cfg.VocabSize, d); Add("transformer.wpe.weight", cfg.NPositions, d);
        for (int l = 0; l < cfg.NLayer; l++)
        {
            var p = $"transformer.h.{l}.";
            Add(p + "ln_1.weight", d); Add(p + "ln_1.bias", d); Add(p + "attn.c_attn.weight", d, 3 * d); Add(p + "attn.c_attn.bias", 3 * d);
            Add(p + "attn.c_proj.weight", d, d); Add(p + "attn.c_proj.bias", d); Add(p + "ln_2.weight", d); Add(p + "ln_2.bias", d);
            Add(p + "mlp.c_fc.weight", d, 4 * d); Add(p + "mlp.c_fc.bias", 4 * d); Add(p + "mlp.c_proj.weight", 4 * d, d); Add(p + "mlp.c_proj.bias", d);
        }
        Add("transformer.ln_f.weight", d); Add("transformer.ln_f.bias", d);
        Safetensors.SaveStateDict(Path.Combine(_src, "model.safetensors"), sd);
        File.WriteAllText(Path.Combine(_src, "config.json"), cfg.ToJson());
        WriteByteLevelTokenizer();
    }

    public static TheoryData<string> Models => new() { "llama-gqa-llama3-tied", "llama-untied-linear", "qwen2-bf16", "gpt2" };

    [Theory]
    [MemberData(nameof(Models))]
    public void Both_backends_agree_on_the_same_weights(string kind)
    {
        var baseCfg = new LlamaConfig(VocabSize: 300, HiddenSize: 32, IntermediateSize: 64, NumHiddenLayers: 3, NumAttentionHeads: 4, NumKeyValueHeads: 2)
        {
            MaxPositionEmbeddings = 96, RmsNormEps = 1e-5, BosTokenId = 256, EosTokenIds = [256],
        };
        switch (kind)
        {
            case "llama-gqa-llama3-tied": SaveLlama(baseCfg with { TieWordEmbeddings = true, RopeTheta = 500000, RopeScaling = new RopeScaling("llama3", 8, 1, 4, 16) }, ScalarType.Float32); break;
            case "llama-untied-linear": SaveLlama(baseCfg with { NumKeyValueHeads = 4, RopeScaling = new RopeScaling("linear", 2) }, ScalarType.Float32); break;
            case "qwen2-bf16": SaveLlama(baseCfg with { ModelType = "qwen2", NumKeyValueHeads = 1, RopeTheta = 1000000 }, ScalarType.BFloat16); break;
            default: SaveGpt2(); break;
        }
        var export = OnnxExporter.Export(_src, _out, new OnnxExportOptions(PatternLayers: new HashSet<int> { 0, 1 }));
        export.PatternLayers.Should().Equal(0, 1);
        export.CopiedFiles.Should().Contain(["config.json", "vocab.json", "merges.txt"]);
        using var torch = new TorchSharpBackend().Load(new ModelSource(_src));
        using var onnx = new OnnxBackend().Load(new ModelSource(_out, "onnx"));
        // The onnx backend reports config.json's model_type; the torchsharp backend names the decoder family (qwen2 → llama).
        onnx.Info.Should().BeEquivalentTo(torch.Info, o => o.Excluding(i => i.WeightsSha256).Excluding(i => i.Name).Excluding(i => i.Architecture));
        onnx.Info.Architecture.Should().Be(kind.Split('-')[0]);

        var prompt = torch.Tokenizer.Encode("the cat sat on the mat and");
        onnx.Tokenizer.Encode("the cat sat on the mat and").Should().Equal(prompt);
        var tr = new FullPatternRecorder(new HashSet<int> { 1 });
        var or = new FullPatternRecorder(new HashSet<int> { 1 });
        var req = new GenerationRequest { PromptTokens = prompt, MaxNewTokens = 40, StopTokens = [] };
        var t = torch.Generate(req with { Captures = [tr] }).Sequences[0];
        var o = onnx.Generate(req with { Captures = [or] }).Sequences[0];
        o.Tokens.Should().Equal(t.Tokens);
        MaxAbs(o.Scores.LogProbs, t.Scores.LogProbs).Should().BeLessThan(1e-4);
        MaxAbs(o.Scores.Entropies, t.Scores.Entropies).Should().BeLessThan(1e-4);
        or.Count.Should().Be(tr.Count).And.Be(4 * (prompt.Count + t.Tokens.Count - 1), "one row per head for the prompt and each fed-back token");
        foreach (var k in tr.Keys) MaxAbs(tr.Row(k.Layer, k.Head, k.Query)!, or.Row(k.Layer, k.Head, k.Query)!).Should().BeLessThan(1e-4);

        IReadOnlyList<HeadIntervention> ivs = [new UniformAttention(new HeadId(0, 1)), new ScaleQuery(new HeadId(1, 3), 1e-4), new ZeroOutput(new HeadId(1, 0))];
        var tokens = new List<int>([.. prompt, .. t.Tokens]);
        var ts = torch.Score(new ScoreRequest { Tokens = tokens, From = prompt.Count, Interventions = ivs });
        var os = onnx.Score(new ScoreRequest { Tokens = tokens, From = prompt.Count, Interventions = ivs });
        MaxAbs(os.LogProbs, ts.LogProbs).Should().BeLessThan(1e-4);
        MaxAbs(os.LogProbs, o.Scores.LogProbs).Should().BeGreaterThan(1e-3, "the interventions change the model");
    }

    private static double MaxAbs(IReadOnlyList<float> a, IReadOnlyList<float> b)
    {
        a.Count.Should().Be(b.Count);
        double m = 0;
        for (int i = 0; i < a.Count; i++) m = Math.Max(m, Math.Abs(a[i] - b[i]));
        return m;
    }
}
