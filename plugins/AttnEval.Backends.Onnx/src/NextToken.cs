using AttnEval.Abstractions;

namespace AttnEval.Backends.Onnx;

/// <summary>
/// Next-token maths on one row of logits (length V), in double precision: log-probabilities and entropy under the
/// temperature-1 distribution, greedy choice, top alternatives, and seeded sampling with temperature, top-k and top-p
/// (the same order of operations as the TorchSharp backend: logits / T, keep the k largest, keep the smallest prefix of
/// the sorted distribution whose mass reaches top_p, one draw).
/// </summary>
internal static class NextToken
{
    /// <summary>log Σ exp(x): the log-partition of a logit row.</summary>
    public static double LogSumExp(ReadOnlySpan<float> x)
    {
        double max = double.NegativeInfinity;
        foreach (var v in x) if (v > max) max = v;
        double sum = 0;
        foreach (var v in x) sum += Math.Exp(v - max);
        return max + Math.Log(sum);
    }

    /// <summary>Entropy −Σ p log p of softmax(x) in nats, given its log-partition <paramref name="lse"/>.</summary>
    public static double Entropy(ReadOnlySpan<float> x, double lse)
    {
        double h = 0;
        foreach (var v in x)
        {
            double lp = v - lse, p = Math.Exp(lp);
            if (p > 0) h -= p * lp;
        }
        return h;
    }

    /// <summary>Index of the largest logit; ties go to the lowest id.</summary>
    public static int ArgMax(ReadOnlySpan<float> x)
    {
        int best = 0;
        for (int i = 1; i < x.Length; i++) if (x[i] > x[best]) best = i;
        return best;
    }

    /// <summary>The <paramref name="k"/> most likely tokens with their log-probabilities, most likely first (ties: lower id first).</summary>
    public static IReadOnlyList<TokenLogProb> Top(ReadOnlySpan<float> x, double lse, int k)
    {
        k = Math.Min(k, x.Length);
        var ids = new int[x.Length];
        for (int i = 0; i < ids.Length; i++) ids[i] = i;
        var row = x.ToArray();
        Array.Sort(ids, (a, b) => row[b].CompareTo(row[a]) is var c && c != 0 ? c : a.CompareTo(b));
        var top = new TokenLogProb[k];
        for (int j = 0; j < k; j++) top[j] = new TokenLogProb(ids[j], (float)(row[ids[j]] - lse));
        return top;
    }

    /// <summary>One seeded draw from softmax(x / T) restricted by top-k and top-p.</summary>
    public static int Sample(ReadOnlySpan<float> x, SamplingOptions s, Random rng)
    {
        int v = x.Length;
        var scaled = new double[v];
        for (int i = 0; i < v; i++) scaled[i] = x[i] / s.Temperature;
        if (s.TopK > 0 && s.TopK < v)
        {
            var sorted = (double[])scaled.Clone();
            Array.Sort(sorted);
            double kth = sorted[v - s.TopK];
            for (int i = 0; i < v; i++) if (scaled[i] < kth) scaled[i] = double.NegativeInfinity;
        }
        double max = scaled.Max(), sum = 0;
        var probs = new double[v];
        for (int i = 0; i < v; i++) sum += probs[i] = Math.Exp(scaled[i] - max);
        for (int i = 0; i < v; i++) probs[i] /= sum;
        if (s.TopP < 1)
        {
            var order = Enumerable.Range(0, v).OrderByDescending(i => probs[i]).ToArray();
            double cum = 0;
            foreach (var i in order)
            {
                double p = probs[i];
                if (cum > s.TopP) probs[i] = 0;      // keep the smallest prefix whose mass reaches top_p
                cum += p;
            }
        }
        double total = probs.Sum(), u = rng.NextDouble() * total, acc = 0;
        int last = 0;
        for (int i = 0; i < v; i++)
        {
            if (probs[i] <= 0) continue;
            acc += probs[i]; last = i;
            if (u < acc) return i;
        }
        return last;
    }
}
