using System.Buffers.Binary;
using System.Text.Json;
using AttnEval.Abstractions;

namespace AttnEval.ModelFiles.Weights;

/// <summary>
/// Reads Hugging Face safetensors weights into float32: <c>model.safetensors</c>, or the shards listed by
/// <c>model.safetensors.index.json</c> (<c>weight_map</c>). File layout: u64 little-endian header length N, N bytes of
/// JSON (<c>name → {dtype, shape, data_offsets: [begin, end]}</c>, offsets relative to the data after the header), then
/// the data. Dtypes F32, F16 and BF16 are converted to float32.
/// </summary>
public static class SafetensorsReader
{
    /// <summary>The weight files of a Hugging Face folder (a single file or the shards of the index), in a stable order.</summary>
    /// <exception cref="ModelLoadException">Neither <c>model.safetensors</c> nor its index exists, or a shard is missing.</exception>
    public static IReadOnlyList<string> Files(string dir)
    {
        var single = Path.Combine(dir, "model.safetensors");
        if (File.Exists(single)) return [single];
        var index = Path.Combine(dir, "model.safetensors.index.json");
        if (!File.Exists(index)) throw new ModelLoadException($"{dir}: no model.safetensors or model.safetensors.index.json (expected Hugging Face safetensors weights).");
        if (ConfigReader.Open(index).Element("weight_map") is not { ValueKind: JsonValueKind.Object } map)
            throw new ModelLoadException($"{index}: missing object 'weight_map' (expected tensor name → shard file).");
        var files = map.EnumerateObject().Select(p => p.Value.GetString() ?? "").Distinct().Order(StringComparer.Ordinal).Select(f => Path.Combine(dir, f)).ToList();
        foreach (var f in files) if (!File.Exists(f)) throw new ModelLoadException($"{index}: shard '{Path.GetFileName(f)}' is listed in weight_map but missing.");
        return files;
    }

    /// <summary>Reads every tensor of the folder's weight files.</summary>
    /// <exception cref="ModelLoadException">A malformed file or an unsupported dtype; the message names the file and tensor.</exception>
    public static Dictionary<string, WeightTensor> ReadFolder(string dir)
    {
        var all = new Dictionary<string, WeightTensor>(StringComparer.Ordinal);
        foreach (var f in Files(dir)) foreach (var t in Read(f)) all[t.Name] = t;
        return all;
    }

    /// <summary>Reads every tensor of one safetensors file.</summary>
    /// <exception cref="ModelLoadException">A malformed file or an unsupported dtype.</exception>
    public static IEnumerable<WeightTensor> Read(string path)
    {
        using var s = File.OpenRead(path);
        var lenBytes = new byte[8];
        if (s.Read(lenBytes, 0, 8) != 8) throw new ModelLoadException($"{path}: truncated safetensors file (no 8-byte header length).");
        long headerLen = BinaryPrimitives.ReadInt64LittleEndian(lenBytes);
        if (headerLen <= 0 || headerLen > 100_000_000 || 8 + headerLen > s.Length) throw new ModelLoadException($"{path}: safetensors header length {headerLen} does not fit the file ({s.Length} bytes).");
        var header = new byte[headerLen];
        s.ReadExactly(header);
        JsonDocument doc;
        try { doc = JsonDocument.Parse(header); }
        catch (JsonException e) { throw new ModelLoadException($"{path}: safetensors header is not valid JSON ({e.Message}).", e); }
        var result = new List<WeightTensor>();
        using (doc)
        {
            foreach (var p in doc.RootElement.EnumerateObject())
            {
                if (p.Name == "__metadata__") continue;
                var dtype = p.Value.GetProperty("dtype").GetString();
                var shape = p.Value.GetProperty("shape").EnumerateArray().Select(e => e.GetInt32()).ToArray();
                var offs = p.Value.GetProperty("data_offsets").EnumerateArray().Select(e => e.GetInt64()).ToArray();
                long count = shape.Aggregate(1L, (a, x) => a * x);
                int width = dtype switch { "F32" => 4, "F16" or "BF16" => 2, _ => throw new ModelLoadException($"{path}: tensor '{p.Name}' has dtype {dtype}, expected F32, F16 or BF16.") };
                if (offs.Length != 2 || offs[1] - offs[0] != count * width || 8 + headerLen + offs[1] > s.Length)
                    throw new ModelLoadException($"{path}: tensor '{p.Name}' data_offsets [{string.Join(", ", offs)}] do not match shape [{string.Join(", ", shape)}] × {width} bytes within the file.");
                var raw = new byte[count * width];
                s.Position = 8 + headerLen + offs[0];
                s.ReadExactly(raw);
                var data = new float[count];
                for (long i = 0; i < count; i++)
                    data[i] = dtype switch
                    {
                        "F32" => BinaryPrimitives.ReadSingleLittleEndian(raw.AsSpan((int)(i * 4))),
                        "F16" => (float)BinaryPrimitives.ReadHalfLittleEndian(raw.AsSpan((int)(i * 2))),
                        _ => BitConverter.Int32BitsToSingle(BinaryPrimitives.ReadUInt16LittleEndian(raw.AsSpan((int)(i * 2))) << 16),
                    };
                result.Add(new WeightTensor(p.Name, shape, data));
            }
        }
        return result;
    }
}
