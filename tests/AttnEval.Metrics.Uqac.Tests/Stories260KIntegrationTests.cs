using AttnEval.Abstractions;
using AttnEval.Backends.TorchSharp;
using AttnEval.Metrics.Uqac;
using AttnEval.TestSupport;

namespace AttnEval.Metrics.Uqac.Tests;

/// <summary>UQAC through the TorchSharp backend on stories260K (shared data; skipped when absent, fails under CI=true).</summary>
public sealed class Stories260KIntegrationTests
{
    private static ILanguageModel Load() =>
        new TorchSharpBackend().Load(new ModelSource(SharedData.Require("models/stories260K/stories260K.bin")));

    /// <summary>Oracle: M from the full patterns (all L×H rows kept), batch-sorted by (entropy, layer, head).</summary>
    private static float[] OracleRow(FullPatternRecorder full, ModelInfo info, int p, int topHeads)
    {
        var cands = new List<(double E, int L, int H, double[] A)>();
        for (int l = 0; l < info.Layers; l++)
            for (int h = 0; h < info.Heads; h++)
            {
                var a = full.Row(l, h, p)!.Select(x => (double)x).ToArray();
                a[p] = 0; a[0] = 0;
                for (int d = 1; d <= 10 && p - d >= 0; d++) a[p - d] *= AttentionChainReducer.RecencyFactors[d - 1];
                var s = a.Sum();
                a = a.Select(x => x / (s + 1e-12)).ToArray();
                cands.Add((-a.Sum(x => x * Math.Log(x + 1e-12)), l, h, a));
            }
        var keep = cands.OrderBy(c => c.E).ThenBy(c => c.L).ThenBy(c => c.H).Take(topHeads).ToList();
        return Enumerable.Range(0, p + 1).Select(c => (float)keep.Max(k => k.A[c])).ToArray();
    }

    [SkippableFact]
    public void Streamed_reduction_during_generation_equals_the_full_pattern_oracle_and_the_teacher_forced_pass()
    {
        using var model = Load();
        var prompt = model.Tokenizer.Encode("Once upon a time, Lily had three red balls.", addBos: true);
        int n = prompt.Count;
        var streamed = new AttentionChainReducer(n, model.Info.Layers, topHeads: 16);
        var full = new FullPatternRecorder();
        var gen = model.Generate(new GenerationRequest { PromptTokens = prompt, MaxNewTokens = 24, Captures = [streamed, full] }).Sequences[0];
        int r = gen.Tokens.Count;
        r.Should().BeGreaterThan(5);
        streamed.RowCount.Should().Be(r - 1, "the last generated token is never fed back");
        for (int p = n; p < n + r - 1; p++)
            streamed.Row(p).Should().Equal(OracleRow(full, model.Info, p, 16), (a, b) => Math.Abs(a - b) < 1e-6);

        var forced = new AttentionChainReducer(n, model.Info.Layers, topHeads: 16);
        model.Score(new ScoreRequest { Tokens = prompt.Concat(gen.Tokens).ToArray(), From = n, Captures = [forced] });
        forced.RowCount.Should().Be(r);
        for (int p = n; p < n + r - 1; p++)
            forced.Row(p).Should().Equal(streamed.Row(p)!, (a, b) => Math.Abs(a - b) < 1e-4);
    }

    [SkippableFact]
    public void Whole_estimator_on_a_real_model_gives_a_chain_inside_the_response_a_confidence_in_0_1_and_is_deterministic()
    {
        using var model = Load();
        var prompt = model.Tokenizer.Encode("Tom had 3 apples. Then he got 4 more apples.", addBos: true);
        var response = model.Tokenizer.Encode(" He was very happy and he ate them all with his mom.\n#### 7");
        int n = prompt.Count, r = response.Count;

        SampleEstimate Run()
        {
            var estimator = (UqacEstimator)new UqacEstimatorFactory().Create(OptionValues.Empty);
            var reducer = estimator.CreateReducer(model.Info, n)!;
            var scores = model.Score(new ScoreRequest { Tokens = prompt.Concat(response).ToArray(), From = n, Captures = [reducer] });
            var answer = new GeneratedSequence(scores, model.Tokenizer.Decode(response), FinishReason.Length);
            return estimator.Estimate(new EstimationContext
            {
                Model = model, Sample = new Sample("t", "q", "7", new Dictionary<string, object?>()), Prompt = "q", PromptTokens = prompt,
                Answer = answer, Reducer = reducer,
            });
        }

        var a = Run();
        var d = a.Details!;
        var (first, last) = ((int[])d["answer_tokens"]!) is [var f, var l] ? (f, l) : (-1, -1);
        model.Tokenizer.Decode(response.Skip(first).Take(last - first + 1)).Trim().Should().Be("7");
        var chain = (int[])d["chain"]!;
        chain.Should().OnlyContain(t => t >= 0 && t < r);
        chain.Should().BeInAscendingOrder().And.OnlyHaveUniqueItems();
        chain.Should().Contain(Enumerable.Range(first, last - first + 1));
        chain.Length.Should().BeGreaterThan(last - first + 1, "backtracking finds tokens before the answer");
        var kept = (int[])d["kept"]!;
        kept.Should().OnlyContain(t => chain.Contains(t) && (t < first || t > last));
        kept.Length.Should().BeLessThanOrEqualTo(10);
        foreach (var t in kept) StopWords.IsBlocked(model.Tokenizer.TokenText(response[t])).Should().BeFalse();
        a.Confidence.Should().BeInRange(0, 1);
        a.Uncertainty.Should().Be(-a.Confidence!.Value);
        ((int)d["variants"]!).Should().BeInRange(1, 1 + 10 + kept.Length);
        // C ≤ Σ_k ans_k·seq_k with variant 0 alone being ≤ p(answer)
        a.Confidence!.Value.Should().BeGreaterThan(0);
        ((double)d["p_answer"]!).Should().BeInRange(0, 1);

        var b = Run();
        b.Confidence.Should().Be(a.Confidence);
        ((int[])b.Details!["chain"]!).Should().Equal(chain);
    }
}
