using AttnEval.Abstractions;
using AttnEval.Metrics.Uqac;
using NSubstitute;

namespace AttnEval.Metrics.Uqac.Tests;

/// <summary>The streamed reducer on hand-built attention rows, and the whole estimator on TV-10 with hand-set probabilities.</summary>
public sealed class ReducerAndEstimatorTests
{
    private static void Feed(AttentionChainReducer r, int layer, int queryStart, int heads, int keys, params float[][] rowsByHeadThenQuery)
    {
        int queries = rowsByHeadThenQuery.Length / heads;
        var flat = rowsByHeadThenQuery.SelectMany(x => x.Concat(new float[keys - x.Length])).ToArray();
        r.Accept(new AttentionRowBlock(0, layer, queryStart, queries, heads, keys, flat));
    }

    [Fact]
    public void Preparation_zeroes_self_and_sink_applies_recency_factors_renormalises_and_keeps_the_lowest_entropy_heads()
    {
        // Query at position 3 (prompt of 1 token), two heads of one layer.
        // head 0: [.1 .2 .3 .4] → zero self and sink → [0 .2 .3 0] → ×κ2, ×κ1 → [0 .041876 .049933 0] → [0 .456120 .543880 0], entropy 0.689291
        // head 1: [.5 .45 .01 .04] → [0 .45·κ2 .01·κ1 0] → [0 .982641 .017359 0], entropy 0.087573
        var one = new AttentionChainReducer(promptLength: 1, modelLayers: 1, topHeads: 1);
        Feed(one, 0, 3, 2, 4, [.1f, .2f, .3f, .4f], [.5f, .45f, .01f, .04f]);
        one.Row(3).Should().Equal([0f, .9826414f, .0173586f, 0f], (a, b) => Math.Abs(a - b) < 1e-6);

        var two = new AttentionChainReducer(promptLength: 1, modelLayers: 1, topHeads: 2);
        Feed(two, 0, 3, 2, 4, [.1f, .2f, .3f, .4f], [.5f, .45f, .01f, .04f]);
        two.Row(3).Should().Equal([0f, .9826414f, .5438796f, 0f], (a, b) => Math.Abs(a - b) < 1e-6);   // element-wise max, not renormalised
    }

    [Fact]
    public void Recency_factors_apply_to_the_ten_previous_keys_only()
    {
        // Uniform row at position 12: key 1 (distance 11) is untouched, key 11 (distance 1) gets κ1.
        // Normaliser 1 + Σκ = 6.7995...: â[1] = 0.147070, â[2] = κ10·â[1] = 0.138136, â[11] = κ1·â[1] = 0.024479.
        var r = new AttentionChainReducer(promptLength: 1, modelLayers: 1, topHeads: 1);
        Feed(r, 0, 12, 1, 13, Enumerable.Repeat(1f / 13, 13).ToArray());
        var m = r.Row(12)!;
        m[0].Should().Be(0); m[12].Should().Be(0);
        m[1].Should().BeApproximately(0.1470698f, 1e-6f);
        m[2].Should().BeApproximately(0.1381358f, 1e-6f);
        m[11].Should().BeApproximately(0.0244790f, 1e-6f);
        m.Sum().Should().BeApproximately(1f, 1e-5f);
        AttentionChainReducer.RecencyFactors.Should().HaveCount(10);
    }

    [Fact]
    public void Rows_finish_after_the_last_wanted_layer_and_prompt_rows_are_ignored()
    {
        // Two layers; a teacher-forced style block with queries 1..2 (prompt length 2 → only query 2 is a response row).
        var r = new AttentionChainReducer(promptLength: 2, modelLayers: 2, topHeads: 1);
        Feed(r, 0, 1, 1, 3, [.5f, .5f, 0f], [.2f, .3f, .5f]);
        r.RowCount.Should().Be(0);
        r.Row(2).Should().BeNull();
        // layer 1, head 0 for query 2: [.1 .8 .1] → [0 .8κ1 0] → [0 1 0], entropy 0 < layer 0's [0 1 0]? equal → earlier layer kept
        Feed(r, 1, 1, 1, 3, [.5f, .5f, 0f], [.1f, .8f, .1f]);
        r.RowCount.Should().Be(1);
        r.Row(1).Should().BeNull();
        r.Row(2).Should().Equal(0f, 1f, 0f);

        var onlyLayer1 = new AttentionChainReducer(promptLength: 2, modelLayers: 2, topHeads: 1, layers: new HashSet<int> { 1 });
        onlyLayer1.Layers.Should().BeEquivalentTo([1]);
        Feed(onlyLayer1, 1, 2, 1, 3, [.1f, .8f, .1f]);
        onlyLayer1.RowCount.Should().Be(1);
        FluentActions.Invoking(() => new AttentionChainReducer(2, 2, 1, new HashSet<int> { 2 })).Should().Throw<ArgumentOutOfRangeException>().WithMessage("*layers must be in [0, 1], got [2]*");
    }

    // ---- the whole estimator on TV-10 --------------------------------------------------------------------------

    private sealed class FixedRows(int promptLength, float[][] rows) : IReducedAttention, IAttentionRowReducer
    {
        public int PromptLength => promptLength;
        public int RowCount => rows.Length;
        public float[]? Row(int position) => position >= promptLength && position - promptLength < rows.Length ? rows[position - promptLength] : null;
        public IReadOnlySet<int>? Layers => null;
        public void Accept(in AttentionRowBlock block) { }
    }

    // Response token ids 100..107 = TV-10 tokens; probabilities of the generated tokens in the original pass:
    private static readonly double[] P = [0.5, 0.9, 0.8, 0.6, 0.95, 0.7, 0.9, 0.85];

    private static (EstimationContext Context, List<int[]> Scored) Tv10Context(float[][]? finalHidden = null)
    {
        var tok = Substitute.For<ITokenizer>();
        tok.EosId.Returns(1); tok.BosId.Returns(0); tok.StopIds.Returns([1]);
        tok.TokenText(Arg.Any<int>()).Returns(c => c.Arg<int>() is var id && id >= 100 ? ChainTests.Tv10Tokens[id - 100] : "<p>");
        tok.Decode(Arg.Any<IEnumerable<int>>()).Returns(c => string.Concat(c.Arg<IEnumerable<int>>().Where(i => i >= 100).Select(i => ChainTests.Tv10Tokens[i - 100])));
        var response = Enumerable.Range(100, 8).ToArray();

        static TokenLogProb T(int id, double p) => new(id, (float)Math.Log(p));
        // top candidates at the chain positions 0, 1, 3, 5 (tokens "Add", " 3", " 4", " 7"); 900+ are alternatives
        var top = new IReadOnlyList<TokenLogProb>[8];
        for (int i = 0; i < 8; i++) top[i] = [T(100 + i, P[i])];
        top[0] = [T(100, .5), T(900, .3), T(901, .005)];
        top[1] = [T(101, .9), T(910, .05)];
        top[3] = [T(103, .6), T(930, .35)];
        top[5] = [T(105, .7), T(950, .2), T(951, .02)];
        // probability of the answer token (response 7) in each variant
        var answerProb = new Dictionary<int, double> { [900] = .8, [910] = .85, [930] = .4, [950] = .1, [951] = .5 };

        var scored = new List<int[]>();
        var model = Substitute.For<ILanguageModel>();
        model.Tokenizer.Returns(tok);
        model.SupportsFinalHidden.Returns(finalHidden is not null);
        model.Score(Arg.Any<ScoreRequest>(), Arg.Any<CancellationToken>()).Returns(c =>
        {
            var req = c.Arg<ScoreRequest>();
            if (req.CaptureFinalHidden)
            {
                req.Tokens.Should().Equal([0, 2, .. Enumerable.Range(100, 8)], "prompt then response, one pass");
                return new TokenScores([], [], []) { FinalHidden = finalHidden };
            }
            req.From.Should().Be(2);
            var cont = req.Tokens.Skip(2).ToArray();
            scored.Add(cont);
            var lp = new float[8];
            double ans = P[7];
            for (int i = 0; i < 8; i++)
            {
                if (cont[i] == 100 + i) lp[i] = (float)Math.Log(P[i]);
                else { lp[i] = top[i].Single(t => t.Token == cont[i]).LogProb; ans = answerProb[cont[i]]; }
            }
            lp[7] = (float)Math.Log(ans);
            return new TokenScores(cont, lp, new float[8], req.TopLogProbs > 0 ? top : null);
        });
        // A substitute does not run the contract's default ScoreBatch (one Score per request): configure it so.
        model.ScoreBatch(Arg.Any<IReadOnlyList<ScoreRequest>>(), Arg.Any<CancellationToken>())
            .Returns(c => c.Arg<IReadOnlyList<ScoreRequest>>().Select(r => model.Score(r)).ToList());
        var answer = new GeneratedSequence(new TokenScores(response, P.Select(p => (float)Math.Log(p)).ToArray(), new float[8]), "Add 3 and 4: 7 is 7", FinishReason.Length);
        var ctx = new EstimationContext
        {
            Model = model, Sample = new Sample("s", "q", "7", new Dictionary<string, object?>()), Prompt = "q", PromptTokens = [0, 2],
            Answer = answer, Reducer = new FixedRows(2, ChainTests.Tv10Rows),
        };
        return (ctx, scored);
    }

    [Fact]
    public void Estimator_on_TV10_gives_the_hand_computed_marginal()
    {
        var (ctx, scored) = Tv10Context();
        var est = new UqacEstimatorFactory().Create(OptionValues.Empty).Estimate(ctx);
        // chain tokens 0 1 3 5 ("Add" " 3" " 4" " 7"), answer token 7; alternatives (> .01, not original): 930 .35, 900 .3,
        // 950 .2, 910 .05, 951 .02. C = Σ_k Π_chain p × p_answer:
        //   original .5·.9·.6·.7·.85 = .16065; 930: .5·.9·.35·.7·.4 = .0441; 900: .3·.9·.6·.7·.8 = .09072;
        //   950: .5·.9·.6·.2·.1 = .0054; 910: .5·.05·.6·.7·.85 = .008925; 951: .5·.9·.6·.02·.5 = .0027 → .312495
        est.Confidence.Should().BeApproximately(0.312495, 1e-6);
        est.Uncertainty.Should().BeApproximately(-0.312495, 1e-6);
        est.Details!["chain"].Should().BeEquivalentTo(new[] { 0, 1, 3, 5, 7 });
        est.Details["kept"].Should().BeEquivalentTo(new[] { 0, 1, 3, 5 });
        est.Details["answer_tokens"].Should().BeEquivalentTo(new[] { 7, 7 });
        est.Details["variants"].Should().Be(6);
        est.Details["token_ends"].Should().BeEquivalentTo(new[] { 3, 5, 9, 11, 12, 14, 17, 19 });   // "Add", " 3", " and", " 4", ":", " 7", " is", " 7"
        ((double)est.Details["p_answer"]!).Should().BeApproximately(0.85, 1e-6);
        ((double)est.Details["attn_prod"]!).Should().BeApproximately(.5 * .9 * .6 * .7 * .85, 1e-6);
        ((double)est.Details["sim_mean"]!).Should().BeApproximately((.5 + .9 + .6 + .7 + .85) / 5, 1e-6);
        scored.Should().HaveCount(6);
        scored[1][3].Should().Be(930);   // variants change exactly one chain token, the rest is teacher-forced as generated
        scored.Skip(1).Should().OnlyContain(v => v.Zip(Enumerable.Range(100, 8)).Count(x => x.First != x.Second) == 1);
    }

    [Fact]
    public void With_final_hidden_states_the_chain_is_filtered_by_mean_cosine_to_the_answer()
    {
        // Absolute positions: prompt 0–1, response 2–9. Chain tokens are response 0, 1, 3, 5 (positions 2, 3, 5, 7), the
        // answer is response 7 (position 9) with state (1, 0). Cosines: pos 2 (0, 1) → 0, pos 3 (1, 1) → 0.707,
        // pos 5 (2, 0) → 1, pos 7 (−1, 0) → −1 (below the 0.0 threshold).
        var h = Enumerable.Range(0, 10).Select(_ => new float[] { 0, 1 }).ToArray();
        h[3] = [1, 1]; h[5] = [2, 0]; h[7] = [-1, 0]; h[9] = [1, 0];
        var (ctx, scored) = Tv10Context(h);
        var single = new Dictionary<string, object?> { ["variant"] = "sim_prod" };
        var all = new UqacEstimatorFactory().Create(new OptionValues(single)).Estimate(ctx);
        all.Details!["similarity"].Should().Be("hidden");
        all.Details["kept"].Should().BeEquivalentTo(new[] { 0, 1, 3 }, "response 5 points away from the answer");
        ((double)all.Details["sim_prod"]!).Should().BeApproximately(.5 * .9 * .6 * .85, 1e-6);

        single["similarity_top_k"] = 2L;
        new UqacEstimatorFactory().Create(new OptionValues(single)).Estimate(ctx).Details!["kept"].Should().BeEquivalentTo(new[] { 1, 3 });
        single["similarity"] = "attention";
        new UqacEstimatorFactory().Create(new OptionValues(single)).Estimate(ctx).Details!["similarity"].Should().Be("attention");
        scored.Should().BeEmpty("single-pass variants score no variant; the hidden-state pass is the only model call");

        var (noHidden, _) = Tv10Context();
        new UqacEstimatorFactory().Create(OptionValues.Empty).Estimate(noHidden).Details!["similarity"].Should().Be("attention (the backend has no final hidden states)");
    }

    [Fact]
    public void Single_pass_variants_make_no_model_call()
    {
        var (ctx, scored) = Tv10Context();
        var est = new UqacEstimatorFactory().Create(new OptionValues(new Dictionary<string, object?> { ["variant"] = "attn_prod" }));
        est.Needs.Should().Be(MetricNeeds.TokenScores | MetricNeeds.AttentionRows);
        est.Estimate(ctx).Confidence.Should().BeApproximately(.5 * .9 * .6 * .7 * .85, 1e-6);
        scored.Should().BeEmpty();
        new UqacEstimatorFactory().Create(OptionValues.Empty).Needs.Should().Be(MetricNeeds.TokenScores | MetricNeeds.AttentionRows | MetricNeeds.ModelCalls);
    }

    [Fact]
    public void Options_carry_the_spec_defaults()
    {
        var o = new UqacEstimatorFactory().Options.ToDictionary(x => x.Key, x => x.Default);
        o["top_heads"].Should().Be(16L); o["buffer"].Should().Be(3L); o["threshold"].Should().Be(0.5); o["min_chain_length"].Should().Be(5L);
        o["max_steps"].Should().Be(1000L); o["similarity_top_k"].Should().Be(10L); o["similarity_threshold"].Should().Be(0.0);
        o["top_alternatives"].Should().Be(5L); o["ens_threshold"].Should().Be(0.01); o["ens_k"].Should().Be(10L);
        o["answer_format"].Should().Be("number"); o["variant"].Should().Be("ens_marginal"); o["parity_quirks"].Should().Be(false);
    }

    [Fact]
    public void Bad_samples_get_clear_errors()
    {
        var (ctx, _) = Tv10Context();
        var uqac = new UqacEstimatorFactory().Create(OptionValues.Empty);
        var noNumber = ctx with { Answer = ctx.Answer with { Text = "no digits at all" } };
        FluentActions.Invoking(() => uqac.Estimate(noNumber)).Should().Throw<InvalidOperationException>()
            .WithMessage("uqac: no answer found in the response (answer_format number): expected a number on the last non-empty line*");
        FluentActions.Invoking(() => uqac.Estimate(ctx with { Reducer = null })).Should().Throw<InvalidOperationException>().WithMessage("uqac: no attention rows*");
    }
}
