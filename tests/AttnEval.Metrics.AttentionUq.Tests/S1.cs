using AttnEval.Abstractions;
using NSubstitute;

namespace AttnEval.Metrics.AttentionUq.Tests;

/// <summary>
/// Scenario S1 of specs/uq-attention-methods.md §0.6: L = 2 layers, H = 2 heads, a prompt of P = 3 tokens and an answer
/// of n = 4 tokens (y = [2, 4, 1, 5], "Rome was Italy" + EOS). Attention is built as full causal rows over absolute
/// positions (each summing to 1, the prompt keys taking what the spec's generated-key values leave) and handed to the
/// reducers the way a backend does: prefill blocks, then one row per head per decode step; or a whole teacher-forced pass.
/// </summary>
internal static class S1
{
    public const int L = 2, H = 2, P = 3, N = 4, T = P + N;
    public const int Bos = 7, Eos = 5;
    public static readonly int[] Prompt = [Bos, 10, 11];
    public static readonly int[] Answer = [2, 4, 1, 5];
    public static readonly float[] LogProbs = [-0.10f, -1.20f, -0.50f, -0.05f];

    /// <summary>a^{l,h}_j for j = 1, 2, 3 (spec §1.6): the generation-time self-weight A[P+j−1, P+j−1].</summary>
    private static readonly double[,][] SelfWeight =
    {
        { [0.30, 0.25, 0.40], [0.60, 0.10, 0.20] },
        { [0.15, 0.35, 0.05], [0.50, 0.45, 0.55] },
    };

    /// <summary>G[2, 0] by (l, h) (spec §4.8).</summary>
    private static readonly double[,] Row2Col0 = { { 0.20, 0.30 }, { 0.05, 0.15 } };

    /// <summary>G[3, 0..1] by (l, h) (spec §4.8).</summary>
    private static readonly double[,][] Row3 = { { [0.10, 0.15], [0.05, 0.25] }, { [0.20, 0.10], [0.10, 0.05] } };

    /// <summary>Self-weight of the last position T−1 (only a teacher-forced pass computes it): layer 1 from spec §2.6, layer 0 ours.</summary>
    private static readonly double[,] LastDiagonal = { { 0.25, 0.35 }, { 0.20, 0.30 } };

    /// <summary>Prefill rows (query 0..2 over keys 0..q): layer 1's diagonal is spec §2.6's d_0..d_2.</summary>
    private static readonly double[,][][] PromptRows =
    {
        { [[1], [0.5, 0.5], [0.3, 0.3, 0.4]], [[1], [0.5, 0.5], [0.3, 0.3, 0.4]] },
        { [[1], [0.4, 0.6], [0.3, 0.25, 0.45]], [[1], [0.3, 0.7], [0.35, 0.25, 0.40]] },
    };

    /// <summary>The full causal row of (layer, head) at absolute query position t ∈ [0, T), over keys 0..t.</summary>
    public static double[] Row(int layer, int head, int t)
    {
        if (t < P) return PromptRows[layer, head][t];
        int j = t - P + 1;                                   // decode step j (t = P + j − 1); j = N is the last position
        var generated = new double[j];                      // keys P .. t = y_0 .. y_{j−1}
        if (j == N)
        {
            for (int k = 0; k < j - 1; k++) generated[k] = 0.1;
            generated[j - 1] = LastDiagonal[layer, head];
        }
        else
        {
            generated[j - 1] = SelfWeight[layer, head][j - 1];
            if (j == 2) generated[0] = Row2Col0[layer, head];
            if (j == 3) { generated[0] = Row3[layer, head][0]; generated[1] = Row3[layer, head][1]; }
        }
        double rest = (1 - generated.Sum()) / P;
        return [.. Enumerable.Repeat(rest, P), .. generated];
    }

    private static bool Wanted(IAttentionRowReducer r, int layer, bool honourLayers) => !honourLayers || r.Layers is null || r.Layers.Contains(layer);

    /// <summary>Delivers one block of query positions [start, start + count) of one layer, over <paramref name="keys"/> keys.</summary>
    public static void Deliver(IAttentionRowReducer r, int layer, int start, int count, int keys, Func<int, int, int, double[]> row)
    {
        var flat = new float[H * count * keys];
        for (int h = 0; h < H; h++)
            for (int q = 0; q < count; q++)
            {
                var values = row(layer, h, start + q);
                for (int k = 0; k < values.Length; k++) flat[(h * count + q) * keys + k] = (float)values[k];
            }
        r.Accept(new AttentionRowBlock(0, layer, start, count, H, keys, flat));
    }

    /// <summary>What a backend's <c>Generate</c> delivers for an answer of <paramref name="n"/> tokens: the prompt prefill in
    /// query chunks of <paramref name="chunk"/> (keys up to the chunk's end), then decode steps j = 1 … n−1, one row per
    /// head at query P+j−1 over P+j keys. The last token's row never arrives. Layers outside <c>r.Layers</c> are skipped
    /// unless <paramref name="honourLayers"/> is false (then the reducer must ignore them itself).</summary>
    public static void Generate(IAttentionRowReducer r, int n = N, int chunk = 2, bool honourLayers = true)
    {
        for (int start = 0; start < P; start += chunk)
        {
            int count = Math.Min(chunk, P - start);
            for (int l = 0; l < L; l++)
                if (Wanted(r, l, honourLayers)) Deliver(r, l, start, count, start + count, Row);
        }
        for (int j = 1; j < n; j++)
            for (int l = 0; l < L; l++)
                if (Wanted(r, l, honourLayers)) Deliver(r, l, P + j - 1, 1, P + j, Row);
    }

    /// <summary>What a backend's teacher-forced <c>Score</c> over prompt + answer delivers: rows 0 … T−1 in query chunks,
    /// every row over all T keys (zeros after the query).</summary>
    public static void TeacherForced(IAttentionRowReducer r, int chunk = 4)
    {
        for (int start = 0; start < T; start += chunk)
            for (int l = 0; l < L; l++)
                if (Wanted(r, l, true)) Deliver(r, l, start, Math.Min(chunk, T - start), T, Row);
    }

    /// <summary>Word tokenizer of S1: 2 "Rome", 4 " was", 1 " Italy", 5 EOS (decodes to nothing when special; "." when
    /// <paramref name="eosIsSpecial"/> is false), 0 " the", 3 " Paris", 10 "Where", 11 " is", 7 BOS. <c>Encode</c> maps
    /// each character c to id 1000 + c (after BOS when asked), enough for the eliciting prompt.</summary>
    public static ITokenizer Tokenizer(bool eosIsSpecial = true)
    {
        var texts = new Dictionary<int, string>
        {
            [0] = " the", [1] = " Italy", [2] = "Rome", [3] = " Paris", [4] = " was", [Eos] = eosIsSpecial ? "" : ".", [10] = "Where", [11] = " is", [Bos] = "",
        };
        var tok = Substitute.For<ITokenizer>();
        tok.BosId.Returns(Bos);
        tok.EosId.Returns(eosIsSpecial ? Eos : (int?)null);
        tok.StopIds.Returns(eosIsSpecial ? new[] { Eos } : Array.Empty<int>());
        tok.TokenText(Arg.Any<int>()).Returns(c => texts.GetValueOrDefault(c.Arg<int>(), "?"));
        tok.Decode(Arg.Any<IEnumerable<int>>()).Returns(c => string.Concat(c.Arg<IEnumerable<int>>().Select(i => i >= 1000 ? ((char)(i - 1000)).ToString() : texts.GetValueOrDefault(i, "?"))));
        tok.Encode(Arg.Any<string>(), Arg.Any<bool>()).Returns(c =>
            (IReadOnlyList<int>)(c.ArgAt<bool>(1) ? new[] { Bos } : Array.Empty<int>()).Concat(c.ArgAt<string>(0).Select(ch => 1000 + ch)).ToList());
        return tok;
    }

    /// <summary>A fake model of S1's shape whose <c>Score</c> runs <paramref name="score"/> (null: Score fails the test).</summary>
    public static ILanguageModel Model(ITokenizer? tokenizer = null, int vocab = 8, Func<ScoreRequest, TokenScores>? score = null)
    {
        var tok = tokenizer ?? Tokenizer();   // configured before the model: NSubstitute tracks the last call
        var m = Substitute.For<ILanguageModel>();
        m.Info.Returns(new ModelInfo("llama", L, H, H, 8, vocab, 4096, "float32", "cpu"));
        m.Tokenizer.Returns(tok);
        m.SupportsAttentionCapture.Returns(true);
        m.Score(Arg.Any<ScoreRequest>(), Arg.Any<CancellationToken>()).Returns(c =>
            score is null ? throw new InvalidOperationException("this test expects no Score call") : score(c.Arg<ScoreRequest>()));
        return m;
    }

    /// <summary>Runs an estimator as the host does: reducer from <c>CreateReducer</c>, rows delivered by
    /// <paramref name="deliver"/> (default: <see cref="Generate"/>), then <c>Estimate</c>.</summary>
    public static SampleEstimate Run(ISampleEstimator estimator, ILanguageModel model, float[]? logProbs = null, float[]? entropies = null,
        int[]? answer = null, Action<IAttentionRowReducer, int>? deliver = null, string prompt = "Where is Rome?")
    {
        var y = answer ?? Answer;
        var lp = logProbs ?? LogProbs;
        var reducer = estimator.Needs.HasFlag(MetricNeeds.AttentionRows) ? estimator.CreateReducer(model.Info, P) : null;
        if (reducer is not null) (deliver ?? ((r, n) => Generate(r, n)))(reducer, y.Length);
        return estimator.Estimate(Context(model, y, lp, entropies ?? new float[y.Length], reducer, prompt));
    }

    public static EstimationContext Context(ILanguageModel model, int[] y, float[] logProbs, float[] entropies, IAttentionRowReducer? reducer, string prompt = "Where is Rome?") => new()
    {
        Model = model,
        Sample = new Sample("s1", "Where is Rome?", "Italy", new Dictionary<string, object?>()),
        Prompt = prompt,
        PromptTokens = Prompt,
        Answer = new GeneratedSequence(new TokenScores(y, logProbs, entropies), model.Tokenizer.Decode(y), FinishReason.StopToken),
        Reducer = reducer,
    };

    public static ISampleEstimator Create(ISampleEstimatorFactory factory, Dictionary<string, object?>? options = null) =>
        factory.Create(new OptionValues(options ?? new Dictionary<string, object?>()));
}
