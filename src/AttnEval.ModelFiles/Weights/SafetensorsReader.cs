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
    /// <summary>The weight files of a Hugging Face folder (a single file or the shards of the index), in a stable order,
    /// headers and index checked (<see cref="SafetensorsHeader.ReadFolder"/>).</summary>
    /// <exception cref="ModelLoadException">Neither <c>model.safetensors</c> nor its index exists, a shard is missing, or a header is faulty.</exception>
    public static IReadOnlyList<string> Files(string dir) => SafetensorsHeader.ReadFolder(dir).Select(h => h.Path).ToList();

    /// <summary>Reads every tensor of the folder's weight files (headers and index checked first: <see cref="SafetensorsHeader"/>).</summary>
    /// <exception cref="ModelLoadException">A malformed file or index; the message names the file and tensor.</exception>
    public static Dictionary<string, WeightTensor> ReadFolder(string dir)
    {
        var all = new Dictionary<string, WeightTensor>(StringComparer.Ordinal);
        foreach (var h in SafetensorsHeader.ReadFolder(dir))
            foreach (var t in Read(h))
                if (!all.TryAdd(t.Name, t)) throw new ModelLoadException($"{h.Path}: tensor '{t.Name}' is also in another shard.");
        return all;
    }

    /// <summary>Reads every tensor of one safetensors file.</summary>
    /// <exception cref="ModelLoadException">A malformed file or an unsupported dtype.</exception>
    public static IEnumerable<WeightTensor> Read(string path) => Read(SafetensorsHeader.Read(path));

    private static List<WeightTensor> Read(SafetensorsHeader header)
    {
        using var s = File.OpenRead(header.Path);
        var result = new List<WeightTensor>();
        foreach (var e in header.Entries)
        {
            long count = e.Count;
            var raw = new byte[e.End - e.Begin];
            s.Position = e.Begin;
            s.ReadExactly(raw);
            var data = new float[count];
            for (long i = 0; i < count; i++)
                data[i] = e.DType switch
                {
                    "F32" => BinaryPrimitives.ReadSingleLittleEndian(raw.AsSpan((int)(i * 4))),
                    "F16" => (float)BinaryPrimitives.ReadHalfLittleEndian(raw.AsSpan((int)(i * 2))),
                    _ => BitConverter.Int32BitsToSingle(BinaryPrimitives.ReadUInt16LittleEndian(raw.AsSpan((int)(i * 2))) << 16),
                };
            result.Add(new WeightTensor(e.Name, e.Shape, data));
        }
        return result;
    }
}
