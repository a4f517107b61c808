using System.Security.Cryptography;
using AttnEval.Abstractions;
using AttnEval.Backends.TorchSharp.Llama2c;
using AttnEval.Backends.TorchSharp.Modeling;
using AttnEval.ModelFiles;
using AttnEval.ModelFiles.Tokenization;
using TorchSharp;
using static TorchSharp.torch;

namespace AttnEval.Backends.TorchSharp;

/// <summary>
/// The <c>torchsharp</c> backend (DESIGN.md §5): loads Hugging Face folders (<c>model_type</c> llama, mistral, qwen2,
/// gpt2; <c>model.safetensors</c> or a sharded index) and llama2.c checkpoints (<c>.bin</c> with <c>tokenizer.bin</c>
/// or <c>tok{vocab}.bin</c> beside it, or <see cref="ModelSource.Tokenizer"/>), on <c>cpu</c>, or on <c>cuda[:N]</c>
/// when the plugin was built with <c>-p:TorchSharpRuntime=cuda</c>.
/// </summary>
/// <remarks>Options (<see cref="ModelSource.Options"/>, <see cref="Options"/>): <c>threads</c>, libtorch's intra-op thread
/// count (process-wide); default one per physical core. Idle OpenMP workers sleep (<c>OMP_WAIT_POLICY=PASSIVE</c> unless
/// set), so a shared machine does not collapse the run.</remarks>
public sealed class TorchSharpBackend : IModelBackend
{
    static TorchSharpBackend() => CpuThreads.PreferPassiveWaiting();

    /// <summary>The <c>model.options</c> this backend reads.</summary>
    public IReadOnlyList<OptionSpec> Options { get; } =
    [
        new("threads", OptionType.Integer, null,
            "libtorch intra-op threads (process-wide); default: one per physical core this process may use. Lower it when other work shares the machine.")
        { Min = 1, Max = 4096 },
    ];

    /// <summary>True when this build references the CUDA runtime package (<c>-p:TorchSharpRuntime=cuda</c>).</summary>
#if TORCHSHARP_CUDA
    public static bool BuiltWithCuda => true;
#else
    public static bool BuiltWithCuda => false;
#endif

    /// <inheritdoc />
    public string Name => "torchsharp";

    /// <summary>Checks a device name: <c>cpu</c> is always available; <c>cuda</c>/<c>cuda:N</c> needs the CUDA build and a visible GPU.</summary>
    /// <param name="device">Device name.</param>
    /// <param name="reason">Why not, or empty.</param>
    public bool IsAvailable(string device, out string reason)
    {
        ArgumentNullException.ThrowIfNull(device);
        var d = device.Trim().ToLowerInvariant();
        if (d == "cpu") { reason = ""; return true; }
        if (d == "cuda" || d.StartsWith("cuda:", StringComparison.Ordinal))
        {
            if (!BuiltWithCuda)
            {
                reason = "CUDA requested but TorchSharp-cuda-linux is not installed (this plugin was built with TorchSharp-cpu; rebuild it with -p:TorchSharpRuntime=cuda).";
                return false;
            }
            if (!cuda.is_available()) { reason = "CUDA requested but no CUDA device is visible to libtorch (driver missing or CUDA_VISIBLE_DEVICES empty)."; return false; }
            if (d.Length > 5 && (!int.TryParse(d[5..], out var idx) || idx < 0 || idx >= cuda.device_count()))
            { reason = $"device '{device}' does not exist ({cuda.device_count()} CUDA device(s) visible)."; return false; }
            reason = "";
            return true;
        }
        reason = $"device '{device}' is not supported by the torchsharp backend (expected cpu, cuda or cuda:N).";
        return false;
    }

    /// <inheritdoc />
    public ILanguageModel Load(ModelSource source, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(source);
        if (!IsAvailable(source.Device, out var reason)) throw new ModelLoadException(reason);
        var dtype = CheckpointLoader.ParseDType(source.DType);
        foreach (var key in source.Options.Keys)
            if (Options.All(o => o.Key != key))
                throw new ModelLoadException($"model.options.{key}: unknown option of backend 'torchsharp' (known: {string.Join(", ", Options.Select(o => o.Key))}).");
        int threads = CpuThreads.PhysicalCores();
        if (source.Options.TryGetValue("threads", out var th) && (!int.TryParse(th, out threads) || threads < 1))
            throw new ModelLoadException($"model.options.threads = '{th}' is not a positive integer.");
        if (source.Device.Trim().Equals("cpu", StringComparison.OrdinalIgnoreCase)) set_num_threads(threads);
        var device = torch.device(source.Device.Trim().ToLowerInvariant());
        var path = Path.GetFullPath(source.Path);
        cancellationToken.ThrowIfCancellationRequested();
        if (File.Exists(path)) return LoadLlama2c(path, source, device, dtype);
        if (!Directory.Exists(path)) throw new ModelLoadException($"{path}: no such model folder or checkpoint file.");
        var configPath = Path.Combine(path, "config.json");
        var reader = ConfigReader.Open(configPath);
        var modelType = reader.String("model_type") ?? throw new ModelLoadException($"{configPath}: missing key 'model_type' (expected llama, mistral, qwen2 or gpt2).");
        ICausalDecoder decoder;
        IReadOnlyList<int> eos; int? bos;
        IReadOnlyList<string> warnings;
        var files = CheckpointLoader.WeightFiles(path);
        switch (modelType)
        {
            case "llama" or "mistral" or "qwen2":
                var lc = LlamaConfig.FromReader(reader);
                var lm = LlamaForCausalLM.FromPretrained(path, device, dtype, out warnings);
                decoder = new LlamaDecoder(lm); eos = lc.EosTokenIds; bos = lc.BosTokenId;
                break;
            case "gpt2":
                var gc = Gpt2Config.FromReader(reader);
                var gm = CheckpointLoader.Create(dtype, () => new Gpt2LMHeadModel(gc, device));
                CheckpointLoader.Load(gm, files, Gpt2LMHeadModel.MapKey);
                warnings = CheckpointLoader.TiedHeadWarning(files, gm.TokenEmbedding, "transformer.wte.weight") is { } w ? [w] : [];
                decoder = new Gpt2Decoder(gm); eos = gc.EosTokenIds; bos = gc.BosTokenId;
                break;
            default:
                throw new ModelLoadException($"{configPath}: model_type '{modelType}' is not supported by the torchsharp backend (expected llama, mistral, qwen2 or gpt2).");
        }
        try
        {
            var tokenizer = source.Tokenizer is { } tp && File.Exists(tp) && tp.EndsWith(".bin", StringComparison.OrdinalIgnoreCase)
                ? Llama2cTokenizerReader.Read(tp, decoder.VocabSize)
                : HfTokenizerLoader.Load(source.Tokenizer is { } td && Directory.Exists(td) ? td : path, decoder.VocabSize, eos, bos);
            var info = Describe(decoder, dtype, source.Device, Path.GetFileName(path.TrimEnd('/')), files.Select(f => f.Path).ToList()) with { Warnings = warnings };
            return new TorchSharpLanguageModel(decoder, tokenizer, info, device);
        }
        catch { decoder.Dispose(); throw; }
    }

    private static TorchSharpLanguageModel LoadLlama2c(string path, ModelSource source, Device device, ScalarType dtype)
    {
        var (model, header) = Llama2cCheckpoint.Load(path, device, dtype);
        try
        {
            var dir = Path.GetDirectoryName(path)!;
            var tokPath = source.Tokenizer ?? new[] { Path.Combine(dir, "tokenizer.bin"), Path.Combine(dir, $"tok{header.VocabSize}.bin") }.FirstOrDefault(File.Exists)
                ?? throw new ModelLoadException($"{path}: no tokenizer beside the checkpoint (expected {Path.Combine(dir, "tokenizer.bin")} or tok{header.VocabSize}.bin; or set model.tokenizer).");
            ITokenizerDetails tokenizer = Directory.Exists(tokPath)
                ? HfTokenizerLoader.Load(tokPath, header.VocabSize, [2], 1)   // a Hugging Face tokenizer folder for a llama2.c checkpoint
                : Llama2cTokenizerReader.Read(tokPath, header.VocabSize);
            var decoder = new LlamaDecoder(model);
            return new TorchSharpLanguageModel(decoder, tokenizer, Describe(decoder, dtype, source.Device, Path.GetFileNameWithoutExtension(path), [path]), device);
        }
        catch { model.Dispose(); throw; }
    }

    private static ModelInfo Describe(ICausalDecoder d, ScalarType dtype, string device, string name, IReadOnlyList<string> files) =>
        new(d.Architecture, d.Layers, d.Heads, d.KvHeads, d.DModel, d.VocabSize, d.ContextLength, CheckpointLoader.DTypeName(dtype), device.Trim().ToLowerInvariant())
        {
            HeadDim = d.HeadDim, Name = name, WeightsSha256 = Sha256(files),
        };

    private static string Sha256(IReadOnlyList<string> files)
    {
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var buffer = new byte[1 << 20];
        foreach (var f in files)
        {
            using var s = File.OpenRead(f);
            int r;
            while ((r = s.Read(buffer, 0, buffer.Length)) > 0) sha.AppendData(buffer, 0, r);
        }
        return Convert.ToHexStringLower(sha.GetHashAndReset());
    }
}
