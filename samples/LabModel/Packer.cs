using AttnEval.Abstractions;

namespace AttnEval.Samples.LabModel;

/// <summary>A tokenised sample: ids starting with BOS and ending with EOS; <c>Trained[i]</c> marks ids that are loss targets.</summary>
internal sealed record EncodedSample(LabTask Task, int[] Ids, bool[] Trained);

/// <summary>A packed batch as flat arrays (row-major <c>[Rows, Length]</c>).</summary>
/// <param name="Rows">Rows.</param>
/// <param name="Length">Tokens per row.</param>
/// <param name="Ids">Token ids (padding = 0).</param>
/// <param name="Positions">Position of each token inside its sample (restarting at 0).</param>
/// <param name="Segments">Sample index inside the row; padding gets −1 (padding attends to padding only).</param>
/// <param name="Targets">Next-token target at each position, −100 where there is no loss.</param>
/// <param name="Buckets">Statistics bucket of each position (see <see cref="Packer.Bucket"/>).</param>
/// <param name="Samples">Samples packed.</param>
/// <param name="TrainedTokens">Positions with a loss target.</param>
internal sealed record PackedBatch(int Rows, int Length, long[] Ids, long[] Positions, long[] Segments, long[] Targets, long[] Buckets, int Samples, int TrainedTokens);

/// <summary>
/// Tokenises samples with the model's own tokenizer (loaded through the backend) and packs them into rows: several
/// samples per row with block-diagonal attention and positions restarting at 0, so each sample is seen exactly as a
/// single prompt is seen at generation time (BOS first, EOS after the answer).
/// </summary>
internal sealed class Packer(ITokenizer tokenizer, IReadOnlySet<int> valueIds)
{
    /// <summary>Number of statistics buckets: per task, all trained tokens (task) and value tokens (5 + task); EOS
    /// targets (10); no loss (11).</summary>
    public const int BucketCount = 12;
    public const int EosBucket = 10, NoLossBucket = 11;

    public static int Bucket(LabTask task, bool isValue) => (int)task + (isValue ? 5 : 0);

    public EncodedSample Encode(LabSample s)
    {
        if (s.Tokens is { } t) return new EncodedSample(s.Task, t, s.TokenTrained!);
        var ids = new List<int>(128) { LabVocabulary.BosId };
        var trained = new List<bool>(128) { false };
        foreach (var seg in s.Segments)
        {
            var e = tokenizer.Encode(seg.Text);
            ids.AddRange(e);
            for (int i = 0; i < e.Count; i++) trained.Add(seg.Trained);
        }
        ids.Add(LabVocabulary.EosId);
        trained.Add(true);
        return new EncodedSample(s.Task, [.. ids], [.. trained]);
    }

    /// <summary>Fills <paramref name="rows"/> rows of <paramref name="length"/> tokens from <paramref name="next"/>;
    /// samples longer than a row are skipped.</summary>
    public PackedBatch Pack(int rows, int length, Func<EncodedSample> next)
    {
        int n = rows * length;
        var ids = new long[n];
        var pos = new long[n];
        var seg = new long[n];
        var tgt = new long[n];
        var bucket = new long[n];
        Array.Fill(seg, -1);
        Array.Fill(tgt, -100);
        Array.Fill(bucket, NoLossBucket);
        int samples = 0, trainedTokens = 0;
        EncodedSample? pending = null;
        for (int r = 0; r < rows; r++)
        {
            int used = 0, index = 0;
            while (true)
            {
                var s = pending ?? next();
                pending = null;
                if (s.Ids.Length > length) continue;
                if (used + s.Ids.Length > length) { pending = s; break; }
                int o = r * length + used;
                for (int i = 0; i < s.Ids.Length; i++)
                {
                    ids[o + i] = s.Ids[i];
                    pos[o + i] = i;
                    seg[o + i] = index;
                    if (i + 1 < s.Ids.Length && s.Trained[i + 1])
                    {
                        int target = s.Ids[i + 1];
                        tgt[o + i] = target;
                        bucket[o + i] = target == LabVocabulary.EosId ? EosBucket : Bucket(s.Task, valueIds.Contains(target));
                        trainedTokens++;
                    }
                }
                used += s.Ids.Length;
                index++;
                samples++;
            }
        }
        return new PackedBatch(rows, length, ids, pos, seg, tgt, bucket, samples, trainedTokens);
    }
}
