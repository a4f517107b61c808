using System.Text;
using AttnEval.Abstractions;
using AttnEval.ModelFiles.Weights;
using AttnEval.Onnx.Export;
using AttnEval.TestSupport;

namespace AttnEval.Backends.Onnx.Tests;

/// <summary>Bad input to the exporter and the weight readers gets one clear message naming the file and what was expected.</summary>
public sealed class ExporterInputTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "attneval-exp-" + Guid.NewGuid().ToString("N"));

    public ExporterInputTests() => Directory.CreateDirectory(_dir);
    public void Dispose() => Directory.Delete(_dir, true);

    private string WriteSafetensors(string header, int dataBytes)
    {
        var h = Encoding.UTF8.GetBytes(header);
        var path = Path.Combine(_dir, "model.safetensors");
        using var f = File.Create(path);
        f.Write(BitConverter.GetBytes((long)h.Length));
        f.Write(h);
        f.Write(new byte[dataBytes]);
        return path;
    }

    [Fact]
    public void Safetensors_dtypes_are_converted_to_float32()
    {
        var h = Encoding.UTF8.GetBytes("""{"a":{"dtype":"F16","shape":[2],"data_offsets":[0,4]},"b":{"dtype":"BF16","shape":[1],"data_offsets":[4,6]},"__metadata__":{"format":"pt"}}""");
        var path = Path.Combine(_dir, "model.safetensors");
        using (var f = File.Create(path))
        {
            f.Write(BitConverter.GetBytes((long)h.Length)); f.Write(h);
            f.Write(BitConverter.GetBytes((Half)1.5)); f.Write(BitConverter.GetBytes((Half)(-2)));
            f.Write(BitConverter.GetBytes((ushort)(BitConverter.SingleToInt32Bits(3.25f) >>> 16)));
        }
        var t = SafetensorsReader.ReadFolder(_dir);
        t["a"].Data.Should().Equal(1.5f, -2f);
        t["a"].Shape.Should().Equal(2);
        t["b"].Data.Should().Equal(3.25f);
    }

    [Fact]
    public void Malformed_safetensors_name_the_file_and_tensor()
    {
        var path = WriteSafetensors("""{"w":{"dtype":"I8","shape":[4],"data_offsets":[0,4]}}""", 4);
        ((Action)(() => SafetensorsReader.Read(path).ToList())).Should().Throw<ModelLoadException>().WithMessage($"{path}: tensor 'w' has dtype I8, expected F32, F16 or BF16.");
        path = WriteSafetensors("""{"w":{"dtype":"F32","shape":[4],"data_offsets":[0,12]}}""", 12);
        ((Action)(() => SafetensorsReader.Read(path).ToList())).Should().Throw<ModelLoadException>().WithMessage($"{path}: tensor 'w': data_offsets [0, 12] do not hold shape [4] × 4 bytes (16).");
        File.WriteAllBytes(path, [1, 2, 3]);
        ((Action)(() => SafetensorsReader.Read(path).ToList())).Should().Throw<ModelLoadException>().WithMessage("*truncated safetensors file*");
        File.Delete(path);
        ((Action)(() => SafetensorsReader.Files(_dir))).Should().Throw<ModelLoadException>().WithMessage("*no model.safetensors or model.safetensors.index.json*");
    }

    [Fact]
    public void Unsupported_architecture_missing_weight_and_bad_options_are_reported()
    {
        File.WriteAllText(Path.Combine(_dir, "config.json"), """{"model_type":"bert","hidden_size":8}""");
        var outDir = Path.Combine(_dir, "out");
        ((Action)(() => OnnxExporter.Export(_dir, outDir))).Should().Throw<ModelLoadException>().WithMessage("*model_type 'bert' is not supported by the exporter (expected llama, mistral, qwen2 or gpt2).");
        File.WriteAllText(Path.Combine(_dir, "config.json"),
            """{"model_type":"llama","vocab_size":4,"hidden_size":4,"intermediate_size":8,"num_hidden_layers":1,"num_attention_heads":2,"tie_word_embeddings":true}""");
        WriteSafetensors("""{"model.embed_tokens.weight":{"dtype":"F32","shape":[4,4],"data_offsets":[0,64]}}""", 64);
        ((Action)(() => OnnxExporter.Export(_dir, outDir))).Should().Throw<ModelLoadException>().WithMessage($"{_dir}: weight 'model.layers.0.input_layernorm.weight' is missing from the checkpoint (expected for llama with 1 layers).");
        ((Action)(() => OnnxExporter.Export(_dir, outDir, new OnnxExportOptions("bfloat16")))).Should().Throw<ArgumentException>().WithMessage("dtype 'bfloat16' is not supported (expected float32 or float16).");
        ((Action)(() => OnnxExporter.Export(_dir, outDir, new OnnxExportOptions(PatternLayers: new HashSet<int> { 1 })))).Should().Throw<ArgumentException>().WithMessage("pattern layer 1 is outside the model's 1 layers.");
    }

    [Fact]
    public void Layer_lists_parse()
    {
        OnnxExporter.ParseLayers("all").Should().BeNull();
        OnnxExporter.ParseLayers("none").Should().BeEmpty();
        OnnxExporter.ParseLayers("0, 2,4-6").Should().BeEquivalentTo([0, 2, 4, 5, 6]);
        ((Action)(() => OnnxExporter.ParseLayers("3-x"))).Should().Throw<ArgumentException>().WithMessage("*'3-x' is not a layer index or range*");
    }

    [SkippableFact]
    public void Llama2c_v0_and_v1_checkpoints_read_to_the_same_tensors()
    {
        var (h0, t0) = Llama2cWeights.Read(SharedData.Require("models/stories260K/stories260K.bin"));
        var (h1, t1) = Llama2cWeights.Read(SharedData.Require("models/stories260K/stories260K_v1.bin"));
        (h0.Version, h1.Version).Should().Be((0, 1));
        h1.Should().BeEquivalentTo(h0, o => o.Excluding(h => h.Version).Excluding(h => h.DataOffset));
        t0.Keys.Should().BeEquivalentTo(t1.Keys);
        t0.Should().HaveCount(1 + 1 + 5 * 9, "embedding, final norm, nine tensors per layer, tied classifier");
        foreach (var k in t0.Keys) t1[k].Data.Should().Equal(t0[k].Data, k);
        var truncated = Path.Combine(_dir, "cut.bin");
        File.WriteAllBytes(truncated, File.ReadAllBytes(SharedData.Require("models/stories260K/stories260K.bin"))[..5000]);
        ((Action)(() => Llama2cWeights.Read(truncated))).Should().Throw<ModelLoadException>().WithMessage($"{truncated}: truncated llama2.c v0 checkpoint: 5000 bytes, expected 1056540*");
    }
}
