using System.Text.Json;
using AttnEval.Abstractions;
using TorchSharp;
using TorchSharp.PyBridge;
using static TorchSharp.torch;

namespace AttnEval.Backends.TorchSharp.Modeling;

/// <summary>
/// Loads Hugging Face weights into a module whose parameter names are the checkpoint's keys: a single
/// <c>model.safetensors</c> or a sharded <c>model.safetensors.index.json</c>, read with TorchSharp.PyBridge.
/// Strict: every parameter must be present with its exact shape, and no unknown tensor may remain (after the
/// architecture's key map); any dtype (fp32/fp16/bf16) is converted to the parameter's dtype.
/// </summary>
internal static class CheckpointLoader
{
    /// <summary>The weight files of a model folder.</summary>
    /// <exception cref="ModelLoadException">No safetensors file, or a malformed index.</exception>
    public static IReadOnlyList<string> WeightFiles(string dir)
    {
        var single = Path.Combine(dir, "model.safetensors");
        if (File.Exists(single)) return [single];
        var index = Path.Combine(dir, "model.safetensors.index.json");
        if (File.Exists(index))
        {
            try
            {
                using var doc = JsonDocument.Parse(File.ReadAllBytes(index));
                var map = doc.RootElement.GetProperty("weight_map");
                return map.EnumerateObject().Select(p => Path.Combine(dir, p.Value.GetString()!)).Distinct().Order(StringComparer.Ordinal).ToList();
            }
            catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException)
            {
                throw new ModelLoadException($"{index}: malformed index (expected an object with a 'weight_map' of tensor name → file): {e.Message}", e);
            }
        }
        throw new ModelLoadException($"{dir}: no model.safetensors or model.safetensors.index.json (only safetensors weights are supported).");
    }

    /// <summary>Copies the tensors of <paramref name="files"/> into <paramref name="module"/>.</summary>
    /// <param name="module">Target module.</param>
    /// <param name="files">Safetensors files.</param>
    /// <param name="mapKey">Maps a checkpoint key to a parameter name, or null to ignore the tensor.</param>
    /// <exception cref="ModelLoadException">Unreadable file, missing/unexpected tensor or wrong shape; the message names the file and tensor.</exception>
    public static void Load(nn.Module module, IReadOnlyList<string> files, Func<string, string?> mapKey)
    {
        var expected = module.state_dict();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        using var noGrad = no_grad();
        foreach (var file in files)
        {
            if (!File.Exists(file)) throw new ModelLoadException($"{file}: weight file not found.");
            Dictionary<string, Tensor> sd;
            try { sd = Safetensors.LoadStateDict(file); }
            catch (Exception e) { throw new ModelLoadException($"{file}: not a readable safetensors file ({e.Message}).", e); }
            try
            {
                foreach (var (key, value) in sd)
                {
                    var name = mapKey(key);
                    if (name is null) continue;
                    if (!expected.TryGetValue(name, out var target))
                        throw new ModelLoadException($"{file}: unexpected tensor '{key}' (no such parameter in this architecture).");
                    if (!target.shape.SequenceEqual(value.shape))
                        throw new ModelLoadException($"{file}: tensor '{key}' has shape [{string.Join(", ", value.shape)}], expected [{string.Join(", ", target.shape)}].");
                    target.copy_(value);
                    seen.Add(name);
                }
            }
            finally { foreach (var t in sd.Values) t.Dispose(); }
        }
        var missing = expected.Keys.Where(k => !seen.Contains(k)).ToList();
        if (missing.Count > 0)
        {
            var t = expected[missing[0]];
            throw new ModelLoadException($"{string.Join(", ", files)}: missing tensor '{missing[0]}' (expected shape [{string.Join(", ", t.shape)}])" +
                (missing.Count > 1 ? $" and {missing.Count - 1} more" : "") + ".");
        }
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
