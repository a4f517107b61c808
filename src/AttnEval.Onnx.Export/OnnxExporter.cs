using System.Text.Json;
using AttnEval.Abstractions;
using AttnEval.ModelFiles;
using AttnEval.ModelFiles.Weights;
using Google.Protobuf;

namespace AttnEval.Onnx.Export;

/// <summary>Settings of one export.</summary>
/// <param name="DType"><c>float32</c>, or <c>float16</c> (weights stored as float16 and cast to float32 inside the graph: half
/// the file, float32 compute — ONNX Runtime's CPU provider lacks most float16 kernels).</param>
/// <param name="PatternLayers">Layers whose attention probabilities become outputs <c>blocks.{l}.attn.hook_pattern</c>; null = all.</param>
/// <param name="Tokenizer">A tokenizer file or folder when it is not beside the weights (llama2.c <c>tokenizer.bin</c>); null = look beside them.</param>
public sealed record OnnxExportOptions(string DType = "float32", IReadOnlySet<int>? PatternLayers = null, string? Tokenizer = null);

/// <summary>What an export wrote.</summary>
/// <param name="Graph">Path of <c>model.onnx</c>.</param>
/// <param name="Architecture">The <c>model_type</c> exported.</param>
/// <param name="Layers">Number of layers.</param>
/// <param name="PatternLayers">Layers with a <c>blocks.{l}.attn.hook_pattern</c> output.</param>
/// <param name="Bytes">Size of <c>model.onnx</c> in bytes.</param>
/// <param name="CopiedFiles">Files copied beside it (config, tokenizer).</param>
public sealed record OnnxExportResult(string Graph, string Architecture, int Layers, IReadOnlyList<int> PatternLayers, long Bytes, IReadOnlyList<string> CopiedFiles)
{
    /// <summary>Faults that did not stop the export, one line each naming the file.</summary>
    public IReadOnlyList<string> Warnings { get; init; } = [];
}

/// <summary>
/// <c>attneval export-onnx</c>: writes an ONNX decoder graph from the same weights as the TorchSharp backend reads —
/// a Hugging Face folder (<c>model_type</c> llama, mistral, qwen2 or gpt2; safetensors, single or sharded) or a llama2.c
/// checkpoint (<c>.bin</c>) — keeping what fused exports hide: attention probabilities of the chosen layers as outputs named
/// after TransformerLens (<c>blocks.{l}.attn.hook_pattern</c>) and the head-intervention inputs <c>q_scale</c>, <c>z_scale</c>,
/// <c>uniform_flag</c>, <c>z_bias</c> (specs/head-methods.md §0, backend note; DESIGN.md §5). The KV cache is an input/output
/// pair per layer with HF Optimum names, so the <c>onnx</c> backend (and any ORT client) runs it like a standard export.
/// The output folder gets <c>model.onnx</c>, <c>config.json</c> and the tokenizer files.
/// </summary>
public static class OnnxExporter
{
    private static readonly string[] TokenizerFiles =
        ["tokenizer.json", "tokenizer_config.json", "tokenizer.model", "vocab.json", "merges.txt", "special_tokens_map.json", "generation_config.json", "tokenizer.bin"];

    /// <summary>Exports <paramref name="modelPath"/> into <paramref name="outDir"/> (created; existing files of the same names are replaced).</summary>
    /// <exception cref="ModelLoadException">The model cannot be read (missing file, unsupported architecture, missing weight) or is over protobuf's 2 GiB.</exception>
    /// <exception cref="ArgumentException">A bad option (dtype, a pattern layer out of range).</exception>
    public static OnnxExportResult Export(string modelPath, string outDir, OnnxExportOptions? options = null)
    {
        options ??= new OnnxExportOptions();
        if (options.DType is not ("float32" or "float16")) throw new ArgumentException($"dtype '{options.DType}' is not supported (expected float32 or float16).");
        var path = Path.GetFullPath(modelPath);
        DecoderSpec spec;
        Dictionary<string, WeightTensor> weights;
        var copied = new List<string>();
        Directory.CreateDirectory(outDir);
        if (File.Exists(path))
        {
            var (header, tensors) = Llama2cWeights.Read(path);
            spec = DecoderSpec.FromLlama2c(header);
            weights = tensors;
            var dir = Path.GetDirectoryName(path)!;
            var tok = options.Tokenizer ?? new[] { Path.Combine(dir, "tokenizer.bin"), Path.Combine(dir, $"tok{header.VocabSize}.bin") }.FirstOrDefault(File.Exists)
                ?? throw new ModelLoadException($"{path}: no tokenizer beside the checkpoint (expected {Path.Combine(dir, "tokenizer.bin")} or tok{header.VocabSize}.bin; or pass --tokenizer).");
            File.Copy(tok, Path.Combine(outDir, "tokenizer.bin"), overwrite: true);
            File.WriteAllText(Path.Combine(outDir, "config.json"), spec.ToConfigJson(1, [2]));
            copied.AddRange(["tokenizer.bin", "config.json"]);
        }
        else if (Directory.Exists(path))
        {
            spec = DecoderSpec.FromConfig(Path.Combine(path, "config.json"));
            weights = SafetensorsReader.ReadFolder(path);
            File.Copy(Path.Combine(path, "config.json"), Path.Combine(outDir, "config.json"), overwrite: true);
            copied.Add("config.json");
            if (options.Tokenizer is { } tf && File.Exists(tf))
            {
                var name = tf.EndsWith(".bin", StringComparison.OrdinalIgnoreCase) ? "tokenizer.bin" : Path.GetFileName(tf);
                File.Copy(tf, Path.Combine(outDir, name), overwrite: true);
                copied.Add(name);
            }
            var tokDir = options.Tokenizer is { } td && Directory.Exists(td) ? td : path;
            foreach (var f in TokenizerFiles.Where(f => File.Exists(Path.Combine(tokDir, f))))
            {
                File.Copy(Path.Combine(tokDir, f), Path.Combine(outDir, f), overwrite: true);
                copied.Add(f);
            }
        }
        else throw new ModelLoadException($"{path}: no such model folder or checkpoint file (expected a Hugging Face folder or a llama2.c .bin).");

        var layers = options.PatternLayers ?? Enumerable.Range(0, spec.Layers).ToHashSet();
        foreach (var l in layers)
            if (l < 0 || l >= spec.Layers) throw new ArgumentException($"pattern layer {l} is outside the model's {spec.Layers} layers.");
        long weightBytes = weights.Values.Sum(t => t.Count) * (options.DType == "float16" ? 2 : 4);
        if (weightBytes > (2L << 30) - (64 << 20))
            throw new ModelLoadException($"{path}: {weightBytes / (1 << 20)} MiB of weights exceed what one protobuf file holds (2 GiB); external-data exports are not implemented yet.");
        var metadata = new Dictionary<string, string>
        {
            ["attneval.source"] = Path.GetFileName(path.TrimEnd('/')),
            ["attneval.model_type"] = spec.ModelType,
            ["attneval.dtype"] = options.DType,
            ["attneval.pattern_layers"] = string.Join(",", layers.Order()),
        };
        var writer = new DecoderGraphWriter(path, spec, weights, options.DType == "float16", layers);
        var model = writer.Build(metadata);
        var graphPath = Path.Combine(outDir, "model.onnx");
        using (var f = File.Create(graphPath)) model.WriteTo(f);
        return new OnnxExportResult(graphPath, spec.ModelType, spec.Layers, layers.Order().ToList(), new FileInfo(graphPath).Length, copied) { Warnings = writer.Warnings };
    }

    /// <summary>Parses a layer list: <c>all</c>, <c>none</c>, or comma-separated indices and ranges (<c>0,2,4-7</c>).</summary>
    /// <exception cref="ArgumentException">Not such a list.</exception>
    public static IReadOnlySet<int>? ParseLayers(string text)
    {
        var t = text.Trim();
        if (t.Equals("all", StringComparison.OrdinalIgnoreCase)) return null;
        if (t.Equals("none", StringComparison.OrdinalIgnoreCase)) return new HashSet<int>();
        var set = new HashSet<int>();
        foreach (var part in t.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
        {
            var ends = part.Split('-');
            if (ends.Length is < 1 or > 2 || !ends.All(e => int.TryParse(e, out var x) && x >= 0))
                throw new ArgumentException($"layers '{text}': '{part}' is not a layer index or range (expected all, none, or e.g. 0,2,4-7).");
            int a = int.Parse(ends[0]), b = int.Parse(ends[^1]);
            for (int l = a; l <= b; l++) set.Add(l);
        }
        return set;
    }
}
