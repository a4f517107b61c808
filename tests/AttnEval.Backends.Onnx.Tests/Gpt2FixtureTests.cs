using AttnEval.Abstractions;
using AttnEval.Backends.TorchSharp;
using AttnEval.TestSupport;
using Onnx;
using TorchSharp.PyBridge;
using static TorchSharp.torch;

namespace AttnEval.Backends.Onnx.Tests;

/// <summary>
/// Checks the TorchSharp plugin's GPT-2 code against ONNX Runtime (left out of issue 3): the initializers of the
/// tiny-random-gpt2 fixture (fused EmbedLayerNormalization/Attention/SkipLayerNormalization/FastGelu graph) are mapped back to
/// Hugging Face GPT-2 weights, written as safetensors with the fixture's config and tokenizer, and loaded by the torchsharp
/// backend; both backends must give the same greedy tokens and log-probabilities.
/// </summary>
public sealed class Gpt2FixtureTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "attneval-gpt2fx-" + Guid.NewGuid().ToString("N"));

    public void Dispose() { if (Directory.Exists(_dir)) Directory.Delete(_dir, true); }

    [SkippableFact]
    public void Torchsharp_gpt2_matches_onnx_runtime_on_the_fixture_weights()
    {
        var fixture = SharedData.Require("models/onnx/tiny-random-gpt2-fp32");
        var graph = ModelProto.Parser.ParseFrom(File.ReadAllBytes(Path.Combine(fixture, "past.onnx"))).Graph;
        var init = graph.Initializer.ToDictionary(i => i.Name, i => (Shape: i.Dims.ToArray(), Data: Floats(i)));
        // The exporter deduplicated equal tensors: every LayerNorm shares h.0.ln_1 (γ = 1, β = 0), every c_attn/c_fc bias h.0's,
        // and the c_proj biases enter SkipLayerNormalization as h.0.ln_1.bias (zeros). Checked, not assumed:
        init["transformer.h.0.ln_1.weight"].Data.Should().OnlyContain(x => x == 1);
        init["transformer.h.0.ln_1.bias"].Data.Should().OnlyContain(x => x == 0);
        graph.Node.Where(n => n.OpType == "SkipLayerNormalization").Should().OnlyContain(n => n.Input[2] == "transformer.h.0.ln_1.weight" && n.Input[4] == "transformer.h.0.ln_1.bias");
        graph.Node.Where(n => n.OpType == "Attention").Select(n => n.Input[2]).Distinct().Should().Equal("transformer.h.0.attn.c_attn.bias");
        graph.Node.Where(n => n.OpType == "FastGelu").Select(n => n.Input[1]).Distinct().Should().Equal("transformer.h.0.mlp.c_fc.bias");
        var lmHead = graph.Node.Single(n => n.Output.Contains("logits")).Input[1];
        var wte = init["transformer.wte.weight"];
        var head = init[lmHead];
        head.Shape.Should().Equal(32, 1000);
        for (int v = 0; v < 1000; v += 37) for (int d = 0; d < 32; d++) head.Data[d * 1000 + v].Should().Be(wte.Data[v * 32 + d], "the output projection is the tied embedding");

        var sd = new Dictionary<string, Tensor>();
        Tensor T(string name) => tensor(init[name].Data, init[name].Shape);
        sd["transformer.wte.weight"] = T("transformer.wte.weight");
        sd["transformer.wpe.weight"] = T("transformer.wpe.weight");
        for (int l = 0; l < 5; l++)
        {
            var p = $"transformer.h.{l}.";
            foreach (var ln in new[] { "ln_1", "ln_2" }) { sd[p + ln + ".weight"] = T("transformer.h.0.ln_1.weight"); sd[p + ln + ".bias"] = T("transformer.h.0.ln_1.bias"); }
            sd[p + "attn.c_attn.weight"] = T(p + "attn.c_attn.weight"); sd[p + "attn.c_attn.bias"] = T("transformer.h.0.attn.c_attn.bias");
            sd[p + "attn.c_proj.weight"] = T(p + "attn.c_proj.weight"); sd[p + "attn.c_proj.bias"] = T("transformer.h.0.ln_1.bias");
            sd[p + "mlp.c_fc.weight"] = T(p + "mlp.c_fc.weight"); sd[p + "mlp.c_fc.bias"] = T("transformer.h.0.mlp.c_fc.bias");
            sd[p + "mlp.c_proj.weight"] = T(p + "mlp.c_proj.weight"); sd[p + "mlp.c_proj.bias"] = T("transformer.h.0.ln_1.bias");
        }
        sd["transformer.ln_f.weight"] = T("transformer.h.0.ln_1.weight"); sd["transformer.ln_f.bias"] = T("transformer.h.0.ln_1.bias");
        Directory.CreateDirectory(_dir);
        Safetensors.SaveStateDict(Path.Combine(_dir, "model.safetensors"), sd);
        foreach (var f in new[] { "tokenizer.json", "tokenizer_config.json", "vocab.json" }) File.Copy(Path.Combine(fixture, f), Path.Combine(_dir, f));
        // The fixture's config.json keeps n_embd/n_head/n_layer under a nested "model" object and has no model_type;
        // the sizes written here are the graph's (wte [1000, 32], wpe [512, 32], 5 blocks, Attention num_heads = 4).
        graph.Node.Where(n => n.OpType == "Attention").Should().HaveCount(5).And.OnlyContain(n => n.Attribute.Single(a => a.Name == "num_heads").I == 4);
        File.WriteAllText(Path.Combine(_dir, "config.json"), new AttnEval.Backends.TorchSharp.Modeling.Gpt2Config(1000, 32, 5, 4, 512) { BosTokenId = 98, EosTokenIds = [98] }.ToJson());

        using var torch = new TorchSharpBackend().Load(new ModelSource(_dir));
        using var ort = new OnnxBackend().Load(new ModelSource(fixture, "onnx"));
        var prompt = ort.Tokenizer.Encode("Hello world, this is a test of");
        torch.Tokenizer.Encode("Hello world, this is a test of").Should().Equal(prompt);
        var req = new GenerationRequest { PromptTokens = prompt, MaxNewTokens = 60, StopTokens = [] };
        var a = torch.Generate(req).Sequences[0];
        var b = ort.Generate(req).Sequences[0];
        b.Tokens.Should().Equal(a.Tokens);
        a.Tokens.Distinct().Should().HaveCountGreaterThan(3, "a non-degenerate continuation");
        for (int i = 0; i < a.Tokens.Count; i++) b.Scores.LogProbs[i].Should().BeApproximately(a.Scores.LogProbs[i], 1e-4f, $"step {i}");
        var sa = torch.Score(new ScoreRequest { Tokens = [.. prompt, .. a.Tokens], From = 1 });
        var sb = ort.Score(new ScoreRequest { Tokens = [.. prompt, .. a.Tokens], From = 1 });
        for (int i = 0; i < sa.LogProbs.Count; i++) sb.LogProbs[i].Should().BeApproximately(sa.LogProbs[i], 1e-4f, $"position {i}");
    }

    private static float[] Floats(TensorProto t)
    {
        var bytes = t.RawData.ToByteArray();
        var f = new float[bytes.Length / 4];
        Buffer.BlockCopy(bytes, 0, f, 0, bytes.Length);
        return f;
    }
}
