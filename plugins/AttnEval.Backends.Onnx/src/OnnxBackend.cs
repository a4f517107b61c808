using System.Security.Cryptography;
using System.Text.Json;
using AttnEval.Abstractions;
using AttnEval.ModelFiles;
using AttnEval.ModelFiles.Tokenization;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace AttnEval.Backends.Onnx;

/// <summary>
/// The <c>onnx</c> backend (DESIGN.md §5): ONNX Runtime sessions over decoder graphs. It loads standard exports
/// (inputs <c>input_ids</c>, <c>attention_mask</c>, <c>position_ids</c>, <c>past_key_values.{i}.key|value</c> or
/// <c>past_{i}</c>; outputs <c>logits</c>, <c>present.*</c>; framework-anchors §5.4) and AttnEval exports written by
/// <c>attneval export-onnx</c>, which add attention probabilities <c>blocks.{l}.attn.hook_pattern</c> as outputs and the
/// head-intervention inputs <c>q_scale</c>, <c>z_scale</c>, <c>uniform_flag</c> <c>[L, H]</c> and <c>z_bias</c> <c>[L, H, d_head]</c>
/// (specs/head-methods.md §0, backend note).
/// </summary>
/// <remarks>
/// <para><see cref="ModelSource.Path"/>: a folder (the graph is <c>genai_config.json</c>'s <c>model.decoder.filename</c>, else
/// <c>model.onnx</c>, else the folder's only <c>.onnx</c> file) or an <c>.onnx</c> file. Shapes come from the graph and from
/// <c>config.json</c> / <c>genai_config.json</c> beside it; the tokenizer from <c>tokenizer.json</c> / <c>tokenizer.model</c> /
/// <c>vocab.json</c>+<c>merges.txt</c>, or a llama2.c <c>tokenizer.bin</c>.</para>
/// <para>Options (<see cref="ModelSource.Options"/>): <c>threads</c>, ONNX Runtime's intra-op thread count (default: ORT's choice).
/// Devices: <c>cpu</c>; <c>cuda</c>/<c>cuda:N</c> needs the CUDA execution provider, which this build
/// (Microsoft.ML.OnnxRuntime, CPU) does not carry, so it is refused with that reason.</para>
/// </remarks>
public sealed class OnnxBackend : IModelBackend
{
    /// <inheritdoc />
    public string Name => "onnx";

    /// <summary>The <c>model.options</c> this backend reads.</summary>
    public IReadOnlyList<OptionSpec> Options { get; } =
    [
        new("threads", OptionType.Integer, null, "ONNX Runtime intra-op threads; default: ONNX Runtime's choice (one per physical core).") { Min = 1, Max = 4096 },
    ];

    /// <summary>Checks a device name: <c>cpu</c> is always available; <c>cuda[:N]</c> needs ONNX Runtime's CUDA execution provider.</summary>
    /// <param name="device">Device name.</param>
    /// <param name="reason">Why not, or empty.</param>
    public bool IsAvailable(string device, out string reason)
    {
        ArgumentNullException.ThrowIfNull(device);
        var d = device.Trim().ToLowerInvariant();
        if (d == "cpu") { reason = ""; return true; }
        if (d == "cuda" || d.StartsWith("cuda:", StringComparison.Ordinal))
        {
            if (d.Length > 5 && (!int.TryParse(d[5..], out var idx) || idx < 0)) { reason = $"device '{device}' is not a CUDA device name (expected cuda or cuda:N)."; return false; }
            if (!OrtEnv.Instance().GetAvailableProviders().Contains("CUDAExecutionProvider"))
            {
                reason = "CUDA requested but the ONNX Runtime CUDA execution provider is not installed (this plugin is built on Microsoft.ML.OnnxRuntime, CPU only; "
                    + "a CUDA build needs Microsoft.ML.OnnxRuntime.Gpu.Linux with matching CUDA and cuDNN).";
                return false;
            }
            reason = "";
            return true;
        }
        reason = $"device '{device}' is not supported by the onnx backend (expected cpu, cuda or cuda:N).";
        return false;
    }

    /// <inheritdoc />
    public ILanguageModel Load(ModelSource source, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(source);
        if (!IsAvailable(source.Device, out var reason)) throw new ModelLoadException(reason);
        if (source.DType is not ("float32" or "float16"))
            throw new ModelLoadException($"dtype '{source.DType}' is not supported by the onnx backend (the graph fixes its dtype; expected float32 or float16 — export with --dtype to change it).");
        var file = ResolveGraph(Path.GetFullPath(source.Path));
        var dir = Path.GetDirectoryName(file)!;
        var options = new SessionOptions { GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL, LogSeverityLevel = OrtLoggingLevel.ORT_LOGGING_LEVEL_ERROR };
        try
        {
            foreach (var key in source.Options.Keys)
                if (Options.All(o => o.Key != key))
                    throw new ModelLoadException($"model.options.{key}: unknown option of backend 'onnx' (known: {string.Join(", ", Options.Select(o => o.Key))}).");
            if (source.Options.TryGetValue("threads", out var th))
            {
                if (!int.TryParse(th, out var threads) || threads < 1) throw new ModelLoadException($"model.options.threads = '{th}' is not a positive integer.");
                options.IntraOpNumThreads = threads;
            }
            // Idle intra-op workers sleep instead of spinning, so a machine shared with other work does not collapse the run.
            options.AddSessionConfigEntry("session.intra_op.allow_spinning", "0");
            var device = source.Device.Trim().ToLowerInvariant();
            if (device != "cpu") options.AppendExecutionProvider_CUDA(device.Length > 5 ? int.Parse(device[5..]) : 0);
            cancellationToken.ThrowIfCancellationRequested();
            InferenceSession session;
            try { session = new InferenceSession(file, options); }
            catch (OnnxRuntimeException e) { throw new ModelLoadException($"{file}: ONNX Runtime could not load the graph ({e.Message}).", e); }
            try
            {
                var graph = DecoderGraph.Inspect(session, file);
                var desc = ModelDescription.Read(dir, graph);
                int kvHeads = graph.KvHeads > 0 ? graph.KvHeads : desc.Heads;
                int headDim = graph.HeadDim > 0 ? graph.HeadDim : desc.DModel / desc.Heads;
                var dtype = graph.LogitsType == TensorElementType.Float16 || graph.CacheType == TensorElementType.Float16 ? "float16" : "float32";
                var info = new ModelInfo(desc.Architecture, graph.Layers, desc.Heads, kvHeads, desc.DModel, desc.VocabSize, desc.ContextLength, dtype, device)
                {
                    HeadDim = headDim, Name = Path.GetFileName(dir.TrimEnd('/')), WeightsSha256 = Sha256(file),
                };
                var tokenizer = LoadTokenizer(dir, source, desc);
                return new OnnxLanguageModel(session, options, graph, info, tokenizer);
            }
            catch { session.Dispose(); throw; }
        }
        catch (OnnxRuntimeException e) { options.Dispose(); throw new ModelLoadException($"{file}: {e.Message}", e); }
        catch { options.Dispose(); throw; }
    }

    private static string ResolveGraph(string path)
    {
        if (File.Exists(path))
            return path.EndsWith(".onnx", StringComparison.OrdinalIgnoreCase) ? path : throw new ModelLoadException($"{path}: not an .onnx file (expected an ONNX model folder or a .onnx file).");
        if (!Directory.Exists(path)) throw new ModelLoadException($"{path}: no such model folder or .onnx file.");
        var genai = Path.Combine(path, "genai_config.json");
        if (File.Exists(genai) && ConfigReader.Open(genai).Element("model") is { ValueKind: JsonValueKind.Object } m
            && m.TryGetProperty("decoder", out var d) && d.ValueKind == JsonValueKind.Object
            && d.TryGetProperty("filename", out var f) && f.ValueKind == JsonValueKind.String && File.Exists(Path.Combine(path, f.GetString()!)))
            return Path.Combine(path, f.GetString()!);
        if (File.Exists(Path.Combine(path, "model.onnx"))) return Path.Combine(path, "model.onnx");
        var all = Directory.GetFiles(path, "*.onnx");
        return all.Length == 1 ? all[0]
            : throw new ModelLoadException($"{path}: {(all.Length == 0 ? "no .onnx file" : $"{all.Length} .onnx files and no model.onnx")} (expected model.onnx, a single .onnx file, or genai_config.json naming the decoder).");
    }

    private static ITokenizerDetails LoadTokenizer(string dir, ModelSource source, ModelDescription desc)
    {
        string? bin = source.Tokenizer is { } tp && File.Exists(tp) && tp.EndsWith(".bin", StringComparison.OrdinalIgnoreCase) ? tp
            : File.Exists(Path.Combine(dir, "tokenizer.bin")) ? Path.Combine(dir, "tokenizer.bin") : null;
        if (bin is not null) return Llama2cTokenizerReader.Read(bin, desc.VocabSize);
        var tokDir = source.Tokenizer is { } td && Directory.Exists(td) ? td : dir;
        return HfTokenizerLoader.Load(tokDir, desc.VocabSize, desc.EosIds, desc.BosId);
    }

    private static string Sha256(string graphFile)
    {
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var buffer = new byte[1 << 20];
        foreach (var f in new[] { graphFile, graphFile + ".data", Path.ChangeExtension(graphFile, ".onnx.data") }.Distinct().Where(File.Exists))
        {
            using var s = File.OpenRead(f);
            int r;
            while ((r = s.Read(buffer, 0, buffer.Length)) > 0) sha.AppendData(buffer, 0, r);
        }
        return Convert.ToHexStringLower(sha.GetHashAndReset());
    }
}
