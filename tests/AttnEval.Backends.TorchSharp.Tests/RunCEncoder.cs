using System.Buffers.Binary;
using System.Text;

namespace AttnEval.Backends.TorchSharp.Tests;

/// <summary>Test oracle: the encode loop of llama2.c run.c (PROVENANCE.md §1.3), written from its description — dummy
/// prefix " ", codepoint lookup with byte fallback (byte + 3), then repeated best-score pair merges.</summary>
internal static class RunCEncoder
{
    public static List<int> Encode(string tokenizerPath, int vocabSize, string text, bool bos)
    {
        var b = File.ReadAllBytes(tokenizerPath);
        var vocab = new string[vocabSize];
        var scores = new float[vocabSize];
        int off = 4;
        for (int i = 0; i < vocabSize; i++)
        {
            scores[i] = BinaryPrimitives.ReadSingleLittleEndian(b.AsSpan(off));
            int len = BinaryPrimitives.ReadInt32LittleEndian(b.AsSpan(off + 4));
            vocab[i] = Encoding.UTF8.GetString(b, off + 8, len);
            off += 8 + len;
        }
        var lookup = new Dictionary<string, int>();
        for (int i = 0; i < vocabSize; i++) lookup.TryAdd(vocab[i], i);
        var ids = new List<int>();
        if (bos) ids.Add(1);
        if (text.Length > 0) ids.Add(lookup[" "]);
        var withPrefix = text;
        for (int i = 0; i < withPrefix.Length; i += char.IsSurrogatePair(withPrefix, i) ? 2 : 1)
        {
            var cp = char.ConvertFromUtf32(char.ConvertToUtf32(withPrefix, i));
            if (lookup.TryGetValue(cp, out var id)) ids.Add(id);
            else foreach (var by in Encoding.UTF8.GetBytes(cp)) ids.Add(by + 3);
        }
        int start = bos ? 1 : 0;
        while (true)
        {
            float best = float.NegativeInfinity; int bestId = -1, bestIdx = -1;
            for (int i = start; i < ids.Count - 1; i++)
                if (lookup.TryGetValue(vocab[ids[i]] + vocab[ids[i + 1]], out var id) && scores[id] > best) { best = scores[id]; bestId = id; bestIdx = i; }
            if (bestIdx < 0) break;
            ids[bestIdx] = bestId;
            ids.RemoveAt(bestIdx + 1);
        }
        return ids;
    }
}
