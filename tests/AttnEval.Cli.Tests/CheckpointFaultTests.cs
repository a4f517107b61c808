using System.Buffers.Binary;
using System.Text;
using System.Text.Json.Nodes;
using AttnEval.TestSupport;

namespace AttnEval.Cli.Tests;

/// <summary>Issue 13's checkpoint faults, each made by editing a copy of the lab model's files: one error line naming the
/// file and the tensor (or key), exit code 2, before any run folder exists — through <c>attneval run</c> (torchsharp) and
/// <c>attneval export-onnx</c> alike.</summary>
[Collection("attneval processes")]
public sealed class CheckpointFaultTests : IDisposable
{
    private readonly string _model = Path.Combine(Path.GetTempPath(), "attneval-fault-" + Guid.NewGuid().ToString("N")[..10]);
    private string Weights => Path.Combine(_model, "model.safetensors");

    public CheckpointFaultTests()
    {
        Directory.CreateDirectory(_model);
        foreach (var f in Directory.GetFiles(Path.Combine(SharedData.RepoRoot, "samples/models/attneval-lab")))
            File.Copy(f, Path.Combine(_model, Path.GetFileName(f)));
    }

    public void Dispose()
    {
        try { Directory.Delete(_model, true); } catch (IOException) { }
    }

    /// <summary>Rewrites the header of a safetensors file (the data bytes are kept, optionally extended).</summary>
    private static void EditHeader(string file, Action<JsonObject> edit, byte[]? appendData = null)
    {
        var bytes = File.ReadAllBytes(file);
        long n = BinaryPrimitives.ReadInt64LittleEndian(bytes);
        var header = JsonNode.Parse(Encoding.UTF8.GetString(bytes, 8, (int)n))!.AsObject();
        var data = bytes.AsSpan(8 + (int)n).ToArray();
        edit(header);
        var h = Encoding.UTF8.GetBytes(header.ToJsonString());
        using var s = File.Create(file);
        var len = new byte[8];
        BinaryPrimitives.WriteInt64LittleEndian(len, h.Length);
        s.Write(len);
        s.Write(h);
        s.Write(data);
        if (appendData is not null) s.Write(appendData);
    }

    private static long DataLength(string file)
    {
        var bytes = File.ReadAllBytes(file);
        return bytes.Length - 8 - BinaryPrimitives.ReadInt64LittleEndian(bytes);
    }

    private void EditConfig(Action<JsonObject> edit)
    {
        var path = Path.Combine(_model, "config.json");
        var cfg = JsonNode.Parse(File.ReadAllText(path))!.AsObject();
        edit(cfg);
        File.WriteAllText(path, cfg.ToJsonString());
    }

    /// <summary>Both paths refuse with exit 2 and one line containing each of <paramref name="expected"/>; no run folder is made.</summary>
    private void BothRefuse(params string[] expected)
    {
        var runs = _model + "-runs";
        var (code, stdout, stderr) = AttnEvalProcess.Run(SharedData.RepoRoot, ["run", "recipes/quickstart.yaml", "--limit", "1",
            "--set", $"model.path={_model}", "--set", $"output.dir={runs}", "--set", "metrics=[msp]", .. AttnEvalProcess.PluginArgs()]);
        code.Should().Be(2, stdout + stderr);
        foreach (var e in expected) stderr.Should().Contain(e);
        Directory.Exists(runs).Should().BeFalse("no run folder exists when the model does not load");

        var outDir = _model + "-onnx";
        (code, stdout, stderr) = AttnEvalProcess.Run(SharedData.RepoRoot, "export-onnx", _model, outDir);
        try
        {
            code.Should().Be(2, stdout + stderr);
            stderr.Trim().Split('\n').Should().ContainSingle();
            foreach (var e in expected) stderr.Should().Contain(e);
        }
        finally { if (Directory.Exists(outDir)) Directory.Delete(outDir, true); }
    }

    [Fact]
    public void Overlapping_tensors()
    {
        EditHeader(Weights, h =>
        {
            var a = h["model.norm.weight"]!["data_offsets"]!.AsArray();
            long begin = (long)a[0]!;
            // Another [128] float32 tensor placed over the norm's bytes.
            h["model.layers.0.input_layernorm.weight"]!["data_offsets"] = new JsonArray(begin, begin + 512);
        });
        BothRefuse("model.safetensors: tensors '", "overlap");
    }

    [Fact]
    public void Header_length_larger_than_the_file()
    {
        var bytes = File.ReadAllBytes(Weights);
        BinaryPrimitives.WriteInt64LittleEndian(bytes, bytes.Length);
        File.WriteAllBytes(Weights, bytes);
        BothRefuse("model.safetensors: safetensors header length", "is larger than the file");
    }

    [Fact]
    public void A_tensor_ending_past_the_end_of_the_file()
    {
        long data = DataLength(Weights);
        EditHeader(Weights, h =>
        {
            var last = h.Where(p => p.Key != "__metadata__").MaxBy(p => (long)p.Value!["data_offsets"]![1]!);
            var o = last.Value!["data_offsets"]!.AsArray();
            long len = (long)o[1]! - (long)o[0]!;
            h[last.Key]!["data_offsets"] = new JsonArray(data - len + 4, data + 4);
        });
        BothRefuse("model.safetensors: tensor '", "past the end of the file");
    }

    [Fact]
    public void An_untied_model_without_lm_head()
    {
        EditHeader(Weights, h => h.Remove("lm_head.weight"));
        BothRefuse("lm_head.weight");
    }

    [Fact]
    public void A_tensor_the_architecture_does_not_consume()
    {
        long data = DataLength(Weights);
        EditHeader(Weights, h => h["model.layers.0.self_attn.q_proj.bias"] = new JsonObject
        {
            ["dtype"] = "F32", ["shape"] = new JsonArray(128), ["data_offsets"] = new JsonArray(data, data + 512),
        }, appendData: new byte[512]);
        BothRefuse("tensor 'model.layers.0.self_attn.q_proj.bias' is not consumed");
    }

    [Fact]
    public void A_rope_scaling_block_without_a_required_key()
    {
        EditConfig(c => c["rope_scaling"] = new JsonObject { ["rope_type"] = "llama3", ["factor"] = 8.0 });
        BothRefuse("config.json", "rope_scaling", "low_freq_factor");
    }

    [Fact]
    public void A_sharded_index_entry_missing_from_its_shard()
    {
        var shard = "model-00001-of-00001.safetensors";
        File.Move(Weights, Path.Combine(_model, shard));
        var map = new JsonObject();
        var bytes = File.ReadAllBytes(Path.Combine(_model, shard));
        var header = JsonNode.Parse(Encoding.UTF8.GetString(bytes, 8, (int)BinaryPrimitives.ReadInt64LittleEndian(bytes)))!.AsObject();
        foreach (var (name, _) in header) if (name != "__metadata__") map[name] = shard;
        map["model.layers.3.mlp.up_proj.weight_extra"] = shard;
        File.WriteAllText(Path.Combine(_model, "model.safetensors.index.json"), new JsonObject { ["weight_map"] = map }.ToJsonString());
        BothRefuse("model.safetensors.index.json: tensor 'model.layers.3.mlp.up_proj.weight_extra' is mapped to shard 'model-00001-of-00001.safetensors', which does not hold it");
    }

    [Fact]
    public void A_tied_model_whose_file_carries_a_different_lm_head_is_warned_about()
    {
        EditConfig(c => c["tie_word_embeddings"] = true);
        var runs = _model + "-runs";
        try
        {
            var (code, stdout, stderr) = AttnEvalProcess.Run(SharedData.RepoRoot, ["run", "recipes/quickstart.yaml", "--limit", "1",
                "--set", $"model.path={_model}", "--set", $"output.dir={runs}", "--set", "metrics=[msp]", .. AttnEvalProcess.PluginArgs()]);
            code.Should().Be(0, stdout + stderr);
            (stdout + stderr).Should().Contain("warning: ").And.Contain("lm_head.weight differs from it");
            var manifest = JsonNode.Parse(File.ReadAllText(Path.Combine(Directory.GetDirectories(runs).Single(), "manifest.json")))!;
            ((string)manifest["model"]!["warnings"]![0]!).Should().Contain("tie_word_embeddings");
        }
        finally { if (Directory.Exists(runs)) Directory.Delete(runs, true); }

        var outDir = _model + "-onnx";
        try
        {
            var (code, stdout, stderr) = AttnEvalProcess.Run(SharedData.RepoRoot, "export-onnx", _model, outDir);
            code.Should().Be(0, stdout + stderr);
            stderr.Should().Contain("attneval: warning: ").And.Contain("lm_head.weight differs from it");
        }
        finally { if (Directory.Exists(outDir)) Directory.Delete(outDir, true); }
    }
}
