using AttnEval.Abstractions;
using AttnEval.TestSupport;

namespace AttnEval.Backends.TorchSharp.Tests;

/// <summary>Attention capture and head interventions on the real stories260K model (5 layers, 8 heads, GQA 2:1).</summary>
public sealed class CaptureAndInterventionTests
{
    private static readonly int[] Text = [1, 403, 407, 261, 378, 432, 383, 286, 261, 376, 298, 315, 421, 395, 317, 426, 338, 401, 396, 267, 337, 410, 408, 419, 292, 411, 322, 265, 282, 295, 433, 426];

    private static (TokenScores Scores, FullPatternRecorder Rec) ScoreWith(ILanguageModel m, params HeadIntervention[] iv)
    {
        var rec = new FullPatternRecorder();
        var s = m.Score(new ScoreRequest { Tokens = Text, From = 1, Captures = [rec], Interventions = iv });
        return (s, rec);
    }

    private static void RowsAreCausalDistributions(FullPatternRecorder rec)
    {
        foreach (var (seq, l, h, q) in rec.Keys)
        {
            var row = rec.Row(l, h, q, seq)!;
            double sum = 0;
            for (int j = 0; j < row.Length; j++)
            {
                if (j > q) row[j].Should().Be(0f, $"row {l}-{h} q={q} k={j} is above the diagonal");
                row[j].Should().BeInRange(0f, 1f);
                sum += row[j];
            }
            sum.Should().BeApproximately(1.0, 1e-5, $"row {l}-{h} q={q}");
        }
    }

    [SkippableFact]
    public void ScoreCaptureDeliversEveryRowAsCausalDistribution()
    {
        using var m = Stories260KTests.Load();
        var (plain, _) = (m.Score(new ScoreRequest { Tokens = Text, From = 1 }), 0);
        var (s, rec) = ScoreWith(m);
        rec.Count.Should().Be(5 * 8 * Text.Length);
        RowsAreCausalDistributions(rec);
        // Eager (capture) and fused (no capture) paths agree.
        s.LogProbs.Zip(plain.LogProbs).Should().OnlyContain(p => Math.Abs(p.First - p.Second) < 1e-5);
    }

    [SkippableFact]
    public void QueryChunkedPrefillGivesTheSameRows()
    {
        using var m = Stories260KTests.Load();
        var (_, full) = ScoreWith(m);
        ((TorchSharpLanguageModel)m).BlockBudgetBytes = 8 * 32 * 4 * 3;   // 3 query rows per block
        var (_, chunked) = ScoreWith(m);
        chunked.Count.Should().Be(full.Count);
        foreach (var (seq, l, h, q) in full.Keys)
        {
            var a = full.Row(l, h, q, seq)!; var b = chunked.Row(l, h, q, seq)!;
            for (int j = 0; j < a.Length; j++) b[j].Should().BeApproximately(a[j], 1e-5f);
        }
    }

    [SkippableFact]
    public void GenerateCaptureCoversPromptAndGeneratedPositions()
    {
        using var m = Stories260KTests.Load();
        var rec = new FullPatternRecorder(new HashSet<int> { 0, 4 });
        var r = m.Generate(new GenerationRequest { PromptTokens = Text[..5], MaxNewTokens = 10, Captures = [rec] });
        // prompt rows 0..4 then one row per fed generated token (the last generated token is never fed).
        rec.Count.Should().Be(2 * 8 * (5 + 9));
        rec.Row(1, 0, 0).Should().BeNull();
        RowsAreCausalDistributions(rec);
        r.Sequences[0].Tokens.Should().Equal(m.Generate(new GenerationRequest { PromptTokens = Text[..5], MaxNewTokens = 10 }).Sequences[0].Tokens);
    }

    [SkippableFact]
    public void UniformAttentionGivesUniformRowsForThatHeadOnly()
    {
        using var m = Stories260KTests.Load();
        var (baseScores, baseRec) = ScoreWith(m);
        var (s, rec) = ScoreWith(m, new UniformAttention(new HeadId(2, 3)));
        for (int q = 0; q < Text.Length; q++)
        {
            var row = rec.Row(2, 3, q)!;
            for (int j = 0; j <= q; j++) row[j].Should().BeApproximately(1f / (q + 1), 1e-6f);
            for (int l = 0; l <= 2; l++)
                for (int h = 0; h < 8; h++)
                    if (!(l == 2 && h == 3)) rec.Row(l, h, q).Should().Equal(baseRec.Row(l, h, q));
        }
        s.LogProbs.Should().NotEqual(baseScores.LogProbs);
    }

    [SkippableFact]
    public void ScaleQueryTinyMatchesUniformAttention()
    {
        using var m = Stories260KTests.Load();
        var (u, urec) = ScoreWith(m, new UniformAttention(new HeadId(1, 5)), new UniformAttention(new HeadId(3, 0)));
        var (q, qrec) = ScoreWith(m, new ScaleQuery(new HeadId(1, 5), 1e-5), new ScaleQuery(new HeadId(3, 0), 1e-5));
        for (int i = 0; i < u.LogProbs.Count; i++) q.LogProbs[i].Should().BeApproximately(u.LogProbs[i], 1e-4f);
        for (int i = 0; i < u.Entropies.Count; i++) q.Entropies[i].Should().BeApproximately(u.Entropies[i], 1e-4f);
        foreach (var (seq, l, h, pos) in urec.Keys)
        {
            var a = urec.Row(l, h, pos)!; var b = qrec.Row(l, h, pos)!;
            for (int j = 0; j < a.Length; j++) b[j].Should().BeApproximately(a[j], 1e-4f);
        }
    }

    [SkippableFact]
    public void OutputInterventionsAgreeAndDoNotLeak()
    {
        using var m = Stories260KTests.Load();
        var before = m.Score(new ScoreRequest { Tokens = Text, From = 1 });
        var head = new HeadId(0, 6);
        var zero = m.Score(new ScoreRequest { Tokens = Text, From = 1, Interventions = [new ZeroOutput(head)] });
        var scale0 = m.Score(new ScoreRequest { Tokens = Text, From = 1, Interventions = [new ScaleOutput(head, 0)] });
        var mean0 = m.Score(new ScoreRequest { Tokens = Text, From = 1, Interventions = [new MeanOutput(head, new float[8])] });
        var scale1 = m.Score(new ScoreRequest { Tokens = Text, From = 1, Interventions = [new ScaleOutput(head, 1)] });
        zero.LogProbs.Should().Equal(scale0.LogProbs);
        zero.LogProbs.Should().Equal(mean0.LogProbs);
        zero.LogProbs.Should().NotEqual(before.LogProbs);
        scale1.LogProbs.Zip(before.LogProbs).Should().OnlyContain(p => Math.Abs(p.First - p.Second) < 1e-5);
        var after = m.Score(new ScoreRequest { Tokens = Text, From = 1 });
        after.LogProbs.Should().Equal(before.LogProbs);
        var g1 = m.Generate(new GenerationRequest { PromptTokens = [1], MaxNewTokens = 20, Interventions = [new ZeroOutput(head), new UniformAttention(new HeadId(4, 1))] });
        var g2 = m.Generate(new GenerationRequest { PromptTokens = [1], MaxNewTokens = 20 });
        g2.Sequences[0].Scores.LogProbs.Zip(m.Generate(new GenerationRequest { PromptTokens = [1], MaxNewTokens = 20 }).Sequences[0].Scores.LogProbs)
            .Should().OnlyContain(p => p.First == p.Second);
        g1.Sequences[0].Scores.LogProbs.Should().NotEqual(g2.Sequences[0].Scores.LogProbs);
        m.SupportedInterventions.Should().HaveCount(6);
    }

    [SkippableFact]
    public void InterventionsFromAPositionLeaveEarlierRowsAndLogProbsUntouched()
    {
        using var m = Stories260KTests.Load();
        const int from = 20;
        var (baseScores, baseRec) = ScoreWith(m);
        var (late, rec) = ScoreWith(m, new UniformAttention(new HeadId(2, 3)) { FromPosition = from }, new ZeroOutput(new HeadId(1, 1)) { FromPosition = from },
            new ScaleQuery(new HeadId(0, 4), 1e-5) { FromPosition = from });
        // Score reports log p(token_i | prefix) for i ≥ 1: the entry for token i comes from the row of query i − 1.
        for (int i = 1; i <= from; i++) late.LogProbs[i - 1].Should().Be(baseScores.LogProbs[i - 1], $"query {i - 1} is before FromPosition");
        Enumerable.Range(from, Text.Length - 1 - from).Count(k => Math.Abs(late.LogProbs[k] - baseScores.LogProbs[k]) > 1e-4f)
            .Should().BeGreaterThan((Text.Length - 1 - from) / 2, "queries from FromPosition on are acted on");
        for (int q = 0; q < Text.Length; q++)
        {
            var row = rec.Row(2, 3, q)!;
            if (q < from) row.Should().Equal(baseRec.Row(2, 3, q));
            else for (int j = 0; j <= q; j++) row[j].Should().BeApproximately(1f / (q + 1), 1e-6f);
        }
        // Generate: FromPosition = prompt length − 1 masks the decode steps only (Wu et al. mask_phase: decode).
        var prompt = Text[..12];
        var g = m.Generate(new GenerationRequest { PromptTokens = prompt, MaxNewTokens = 8, Interventions = [new UniformAttention(new HeadId(4, 1)) { FromPosition = prompt.Length - 1 }] });
        var gAll = m.Generate(new GenerationRequest { PromptTokens = prompt, MaxNewTokens = 8, Interventions = [new UniformAttention(new HeadId(4, 1))] });
        g.Sequences[0].Scores.LogProbs[0].Should().BeApproximately(gAll.Sequences[0].Scores.LogProbs[0], 1e-5f, "the first new token comes from the last prompt row, masked in both");
        FluentActions.Invoking(() => new UniformAttention(new HeadId(0, 0)) { FromPosition = -1 }).Should().Throw<ArgumentOutOfRangeException>();
    }

    [Fact]
    public void FinalHiddenStatesTimesTheUnembeddingGiveTheScoredLogProbs()
    {
        // The lab model ships in the repository (untied lm_head): log_softmax(h_{i−1} · W_Uᵀ)[token_i] must equal Score's log p.
        var dir = Path.Combine(SharedData.RepoRoot, "samples", "models", "attneval-lab");
        using var m = new TorchSharpBackend().Load(new ModelSource(dir));
        m.SupportsFinalHidden.Should().BeTrue();
        var ids = m.Tokenizer.Encode("Records: K36 V84 K83 V62\nQuestion: What is the value of K83?\nAnswer: V62", addBos: true);
        var s = m.Score(new ScoreRequest { Tokens = ids, From = 1, CaptureFinalHidden = true });
        s.FinalHidden.Should().NotBeNull().And.HaveCount(ids.Count);
        s.FinalHidden!.Should().OnlyContain(h => h.Length == m.Info.DModel);
        m.Score(new ScoreRequest { Tokens = ids, From = 1 }).FinalHidden.Should().BeNull("not asked for");

        using var reference = Modeling.LlamaForCausalLM.FromPretrained(dir);
        var w = reference.named_parameters().Single(p => p.name == "lm_head.weight").parameter;      // [V, d]
        using var h = global::TorchSharp.torch.tensor(s.FinalHidden.SelectMany(x => x).ToArray(), [ids.Count, m.Info.DModel]);
        var logp = global::TorchSharp.torch.nn.functional.log_softmax(h.matmul(w.t()), -1);
        for (int i = 1; i < ids.Count; i++)
            logp[i - 1, ids[i]].item<float>().Should().BeApproximately(s.LogProbs[i - 1], 1e-4f, $"token {i}");

        // Causal: the states of a prefix do not depend on what follows it.
        var prefix = m.Score(new ScoreRequest { Tokens = ids.Take(10).ToList(), From = 10, CaptureFinalHidden = true }).FinalHidden!;
        for (int i = 0; i < 10; i++)
            for (int j = 0; j < m.Info.DModel; j++) prefix[i][j].Should().BeApproximately(s.FinalHidden[i][j], 1e-4f);
    }

    [SkippableFact]
    public void ReweightColumnsMovesMassAndKeepsRowsNormalised()
    {
        using var m = Stories260KTests.Load();
        var (_, baseRec) = ScoreWith(m);
        var (_, rec) = ScoreWith(m, new ReweightColumns(new HeadId(0, 2), [0], 0.25));
        RowsAreCausalDistributions(rec);
        for (int q = 1; q < Text.Length; q++)
            rec.Row(0, 2, q)![0].Should().BeApproximately(0.25f * baseRec.Row(0, 2, q)![0], 1e-6f);
        rec.Row(0, 2, 0)![0].Should().Be(1f);   // nothing to give the mass to: row unchanged
    }

    [SkippableFact]
    public void BadRequestsAreRejected()
    {
        using var m = Stories260KTests.Load();
        m.Invoking(x => x.Score(new ScoreRequest { Tokens = Text, From = 1, Interventions = [new ZeroOutput(new HeadId(5, 0))] }))
            .Should().Throw<ArgumentException>().WithMessage("*5-0*5 layers*");
        m.Invoking(x => x.Generate(new GenerationRequest { PromptTokens = [] })).Should().Throw<ArgumentException>();
        m.Invoking(x => x.Score(new ScoreRequest { Tokens = [1, 600], From = 1 })).Should().Throw<ArgumentException>().WithMessage("*600*");
    }

    [SkippableFact]
    public void SamplingIsSeededBatchedAndStopsOnStrings()
    {
        using var m = Stories260KTests.Load();
        var req = new GenerationRequest { PromptTokens = [1], MaxNewTokens = 30, NumSequences = 3, Sampling = new SamplingOptions(0.9, 0.95, 40, Seed: 7), TopLogProbs = 2 };
        var a = m.Generate(req); var b = m.Generate(req);
        a.Sequences.Should().HaveCount(3);
        for (int k = 0; k < 3; k++) a.Sequences[k].Tokens.Should().Equal(b.Sequences[k].Tokens);
        a.Sequences.Select(s => string.Join(",", s.Tokens)).Distinct().Count().Should().BeGreaterThan(1);
        a.Sequences[0].Scores.TopK![0].Should().HaveCount(2);
        a.Sequences.SelectMany(s => s.Scores.LogProbs).Should().OnlyContain(lp => lp <= 0);
        var stop = m.Generate(new GenerationRequest { PromptTokens = [1], MaxNewTokens = 50, StopStrings = ["Lily"] }).Sequences[0];
        stop.Finish.Should().Be(FinishReason.StopString);
        stop.Text.Should().Be("Once upon a time, there was a little girl named ");
        var stopTok = m.Generate(new GenerationRequest { PromptTokens = [1], MaxNewTokens = 50, StopTokens = [261] }).Sequences[0];
        stopTok.Finish.Should().Be(FinishReason.StopToken);
        stopTok.Tokens.Should().Equal(403, 407, 261);
    }
}
