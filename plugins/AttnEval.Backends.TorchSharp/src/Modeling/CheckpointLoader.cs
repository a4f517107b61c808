using System.Text.Json;
using AttnEval.Abstractions;
using TorchSharp;
using AttnEval.ModelFiles.Weights;
using static TorchSharp.torch;

namespace AttnEval.Backends.TorchSharp.Modeling;

/// <summary>
/// Loads Hugging Face weights into a module whose parameter names are the checkpoint's keys: a single
/// <c>model.safetensors</c> or a sharded <c>model.safetensors.index.json</c>, headers and index checked first
/// (<see cref="SafetensorsHeader"/>). Memory: the data is streamed into the parameters tensor by tensor in chunks of
/// <see cref="ChunkBytes"/>, converted to the parameter's dtype on the way — no whole-file or whole-tensor copy.
/// Strict: every parameter must be present with its exact shape, and no tensor may remain unconsumed (after the
/// architecture's key map).
/// </summary>
internal static class CheckpointLoader
{
    /// <summary>Bytes read and converted at a time.</summary>
    public const int ChunkBytes = 16 << 20;

    /// <summary>The checked weight files of a model folder.</summary>
    /// <exception cref="ModelLoadException">No safetensors file, a malformed index or header (the message names the file and tensor).</exception>
    public static IReadOnlyList<SafetensorsHeader> WeightFiles(string dir) => SafetensorsHeader.ReadFolder(dir);

    /// <summary>Builds a module with its parameters created directly in <paramref name="dtype"/> (no float32 copy first).
    /// libtorch's default dtype is one process-wide setting, so builds are serialised: two models loaded at once on
    /// different threads (a float32 and a bfloat16 one) would otherwise get each other's parameter dtype.</summary>
    public static T Create<T>(ScalarType dtype, Func<T> build)
    {
        lock (DefaultDtypeGate)
        {
            var previous = get_default_dtype();
            set_default_dtype(dtype);
            try { return build(); }
            finally { set_default_dtype(previous); }
        }
    }

    private static readonly Lock DefaultDtypeGate = new();

    /// <summary>Copies the tensors of <paramref name="files"/> into <paramref name="module"/>.</summary>
    /// <param name="module">Target module.</param>
    /// <param name="files">Checked safetensors headers.</param>
    /// <param name="mapKey">Maps a checkpoint key to a parameter name, or null for a tensor the architecture knowingly
    /// leaves out (the caller checks it, e.g. a tied <c>lm_head.weight</c>).</param>
    /// <exception cref="ModelLoadException">Missing/unconsumed tensor or wrong shape; the message names the file and tensor.</exception>
    public static void Load(nn.Module module, IReadOnlyList<SafetensorsHeader> files, Func<string, string?> mapKey)
    {
        var expected = module.state_dict();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var buffer = new byte[ChunkBytes];
        var staging = new Dictionary<int, float[]>();
        using var noGrad = no_grad();
        foreach (var file in files)
        {
            using var stream = new FileStream(file.Path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, FileOptions.SequentialScan);
            foreach (var entry in file.Entries)
            {
                var name = mapKey(entry.Name);
                if (name is null) continue;
                if (!expected.TryGetValue(name, out var target))
                    throw new ModelLoadException($"{file.Path}: tensor '{entry.Name}' is not consumed by this architecture (no such parameter; a config that does not match the weights, e.g. attention_bias false with q/k/v biases present).");
                if (!target.shape.SequenceEqual(entry.Shape.Select(d => (long)d)))
                    throw new ModelLoadException($"{file.Path}: tensor '{entry.Name}' has shape [{string.Join(", ", entry.Shape)}], expected [{string.Join(", ", target.shape)}].");
                Copy(stream, entry, target, buffer, staging);
                seen.Add(name);
            }
        }
        var missing = expected.Keys.Where(k => !seen.Contains(k)).ToList();
        if (missing.Count > 0)
        {
            var t = expected[missing[0]];
            throw new ModelLoadException($"{string.Join(", ", files.Select(f => f.Path))}: missing tensor '{missing[0]}' (expected shape [{string.Join(", ", t.shape)}])" +
                (missing.Count > 1 ? $" and {missing.Count - 1} more" : "") + ".");
        }
    }

    /// <summary>Streams one tensor into <paramref name="target"/> chunk by chunk: the bytes of a chunk are decoded to
    /// float32 (F16/BF16 widened exactly) and <c>copy_</c> converts them to the parameter's dtype.</summary>
    /// <param name="stream">The open file.</param>
    /// <param name="entry">The tensor's header entry.</param>
    /// <param name="target">The parameter to fill.</param>
    /// <param name="buffer">Byte buffer of <see cref="ChunkBytes"/>.</param>
    /// <param name="staging">float32 staging arrays by length, reused across tensors (the library wraps whole arrays,
    /// and layers repeat the same few sizes), so loading leaves no per-tensor garbage behind.</param>
    private static void Copy(FileStream stream, SafetensorsEntry entry, Tensor target, byte[] buffer, Dictionary<int, float[]> staging)
    {
        using var flat = target.view(-1);
        long perChunk = buffer.Length / 4;   // elements per chunk, sized for the float32 staging array
        stream.Position = entry.Begin;
        for (long offset = 0; offset < entry.Count; offset += perChunk)
        {
            int n = (int)Math.Min(perChunk, entry.Count - offset);
            var bytes = buffer.AsSpan(0, n * entry.Width);
            stream.ReadExactly(bytes);
            if (!staging.TryGetValue(n, out var values)) staging[n] = values = new float[n];
            switch (entry.DType)
            {
                case "F32":
                    System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(bytes).CopyTo(values);
                    break;
                case "F16":
                    for (int i = 0; i < n; i++) values[i] = (float)System.Buffers.Binary.BinaryPrimitives.ReadHalfLittleEndian(bytes.Slice(i * 2, 2));
                    break;
                default:
                    for (int i = 0; i < n; i++) values[i] = BitConverter.Int32BitsToSingle(System.Buffers.Binary.BinaryPrimitives.ReadUInt16LittleEndian(bytes.Slice(i * 2, 2)) << 16);
                    break;
            }
            using var chunk = tensor(values);
            using var slice = flat.narrow(0, offset, n);
            slice.copy_(chunk);
        }
    }

    /// <summary>A warning when the config ties the output head to the token embedding but the files also carry an
    /// <c>lm_head.weight</c> that differs from it (compared chunk by chunk, no full copy); null when absent or equal.</summary>
    /// <param name="files">Checked headers.</param>
    /// <param name="embedding">The loaded token embedding <c>[vocab, d_model]</c>.</param>
    /// <param name="embeddingKey">Its checkpoint name, for the message.</param>
    public static string? TiedHeadWarning(IReadOnlyList<SafetensorsHeader> files, Tensor embedding, string embeddingKey)
    {
        foreach (var file in files)
            foreach (var entry in file.Entries.Where(e => e.Name == "lm_head.weight"))
            {
                if (!embedding.shape.SequenceEqual(entry.Shape.Select(d => (long)d)))
                    return $"{file.Path}: config.json ties the output head to '{embeddingKey}' (tie_word_embeddings), but the file carries an lm_head.weight of shape [{string.Join(", ", entry.Shape)}]; it is ignored and the embedding is used, as Hugging Face does.";
                using var noGrad = no_grad();
                using var scratch = empty(embedding.shape, embedding.dtype);
                using var stream = File.OpenRead(file.Path);
                Copy(stream, entry, scratch, new byte[ChunkBytes], []);
                double diff = (scratch.to(ScalarType.Float32) - embedding.to(ScalarType.Float32)).abs().max().item<float>();
                return diff == 0 ? null
                    : $"{file.Path}: config.json ties the output head to '{embeddingKey}' (tie_word_embeddings), but the file's lm_head.weight differs from it (max |Δ| = {diff:G3}); the embedding is used, as Hugging Face does — check tie_word_embeddings.";
            }
        return null;
    }

    /// <summary>Parses a dtype name.</summary>
    /// <exception cref="ModelLoadException">Unknown name.</exception>
    public static ScalarType ParseDType(string dtype) => dtype.ToLowerInvariant() switch
    {
        "float32" or "fp32" or "float" => ScalarType.Float32,
        "float16" or "fp16" or "half" => ScalarType.Float16,
        "bfloat16" or "bf16" => ScalarType.BFloat16,
        _ => throw new ModelLoadException($"dtype '{dtype}' is not supported (expected float32, float16 or bfloat16)."),
    };

    /// <summary>The canonical dtype name.</summary>
    public static string DTypeName(ScalarType t) => t switch { ScalarType.Float16 => "float16", ScalarType.BFloat16 => "bfloat16", _ => "float32" };
}
