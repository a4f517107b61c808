using AttnEval.Abstractions;
using AttnEval.TestSupport;

namespace AttnEval.Backends.TorchSharp.Tests;

/// <summary>Contract 1.3 batching on the lab model (shipped in the repository): <c>GenerateBatch</c> over prompts of
/// different lengths (left padding) and <c>ScoreBatch</c> over variants sharing a prefix (one prefix pass, right padding)
/// give what one-at-a-time calls give, with every capture in the request's own coordinates.</summary>
public sealed class BatchingTests : IDisposable
{
    private readonly ILanguageModel _m = new TorchSharpBackend().Load(new ModelSource(LabModel.Folder));

    public void Dispose() => _m.Dispose();

    private static readonly IReadOnlyList<string> Questions = LabModel.Questions;

    private IReadOnlyList<int> Prompt(string q) => _m.Tokenizer.Encode(LabModel.Prompt(q), addBos: true);

    private static void SameScores(TokenScores batched, TokenScores single, string what)
    {
        batched.Tokens.Should().Equal(single.Tokens, what);
        for (int i = 0; i < single.LogProbs.Count; i++)
        {
            batched.LogProbs[i].Should().BeApproximately(single.LogProbs[i], 1e-5f, $"{what}: log p of token {i}");
            batched.Entropies[i].Should().BeApproximately(single.Entropies[i], 1e-4f, $"{what}: entropy at token {i}");
        }
    }

    private static void SameRows(FullPatternRecorder batched, FullPatternRecorder single, string what)
    {
        batched.Keys.Should().BeEquivalentTo(single.Keys, $"{what}: the same (sequence, layer, head, query) rows, no padding rows");
        foreach (var key in single.Keys)
        {
            var a = single.Row(key.Layer, key.Head, key.Query, key.Sequence)!;
            var b = batched.Row(key.Layer, key.Head, key.Query, key.Sequence)!;
            b.Length.Should().Be(a.Length, $"{what}: row {key} covers the request's own keys only");
            for (int j = 0; j < a.Length; j++) b[j].Should().BeApproximately(a[j], 1e-5f, $"{what}: row {key}, key {j}");
        }
    }

    [Fact]
    public void Batched_greedy_generation_over_prompts_of_different_lengths_equals_one_at_a_time()
    {
        var prompts = Questions.Select(Prompt).ToList();
        prompts.Select(p => p.Count).Distinct().Should().HaveCountGreaterThan(2, "the batch must need left padding");
        var singleRec = prompts.Select(_ => new FullPatternRecorder()).ToList();
        var batchRec = prompts.Select(_ => new FullPatternRecorder()).ToList();
        var single = prompts.Select((p, i) => _m.Generate(new GenerationRequest { PromptTokens = p, MaxNewTokens = 40, StopStrings = ["####"], Captures = [singleRec[i]] })).ToList();
        var batched = _m.GenerateBatch(prompts.Select((p, i) => new GenerationRequest { PromptTokens = p, MaxNewTokens = 40, StopStrings = ["####"], Captures = [batchRec[i]] }).ToList());

        batched.Should().HaveCount(prompts.Count);
        for (int i = 0; i < prompts.Count; i++)
        {
            batched[i].PromptTokens.Should().Equal(prompts[i]);
            batched[i].Sequences[0].Text.Should().Be(single[i].Sequences[0].Text);
            batched[i].Sequences[0].Finish.Should().Be(single[i].Sequences[0].Finish);
            SameScores(batched[i].Sequences[0].Scores, single[i].Sequences[0].Scores, $"question {i}");
            SameRows(batchRec[i], singleRec[i], $"question {i}");
        }
        single.Select(s => s.Sequences[0].Tokens.Count).Distinct().Should().HaveCountGreaterThan(1, "answers end at different steps");
        single.Should().OnlyContain(s => s.Sequences[0].Scores.LogProbs.All(float.IsFinite));
    }

    [Fact]
    public void Generation_returns_the_hidden_states_and_top_k_of_the_teacher_forced_pass_over_prompt_and_answer()
    {
        // Contract 1.4: CaptureFinalHidden during a left-padded batched decode gives, per answer, the final hidden state of
        // every fed position (prompt + answer − 1) and TopLogProbs the top-k per step, as one teacher-forced Score does.
        var prompts = Questions.Select(Prompt).ToList();
        var requests = prompts.Select((p, i) => new GenerationRequest
        {
            PromptTokens = p, MaxNewTokens = 40, TopLogProbs = 5, CaptureFinalHidden = i != 2,     // one row without
        }).ToList();
        var batched = _m.GenerateBatch(requests);
        for (int i = 0; i < prompts.Count; i++)
        {
            var seq = batched[i].Sequences[0];
            if (i == 2) { seq.Scores.FinalHidden.Should().BeNull("its request did not ask"); continue; }
            var tokens = prompts[i].Concat(seq.Tokens).ToArray();
            var forced = _m.Score(new ScoreRequest { Tokens = tokens, From = prompts[i].Count, TopLogProbs = 5, CaptureFinalHidden = true });
            seq.Scores.FinalHidden.Should().HaveCount(tokens.Length - 1, "every fed position: the prompt and all generated tokens but the last");
            for (int p = 0; p < tokens.Length - 1; p++)
                for (int k = 0; k < _m.Info.DModel; k++)
                    seq.Scores.FinalHidden![p][k].Should().BeApproximately(forced.FinalHidden![p][k], 1e-4f, $"question {i}, position {p}, component {k}");
            seq.Scores.TopK.Should().HaveCount(seq.Tokens.Count);
            for (int t = 0; t < seq.Tokens.Count; t++)
            {
                seq.Scores.TopK![t].Select(e => e.Token).Should().Equal(forced.TopK![t].Select(e => e.Token), $"question {i}, step {t}: the same alternatives");
                for (int j = 0; j < 5; j++) seq.Scores.TopK[t][j].LogProb.Should().BeApproximately(forced.TopK[t][j].LogProb, 1e-4f, "float32 rounding of log p down to about -16");
            }
        }
    }

    [SkippableFact]
    public void Batched_greedy_generation_with_grouped_query_attention_equals_one_at_a_time()
    {
        // stories260K (../shared/data): 8 query heads over 4 KV heads, a llama2.c checkpoint.
        using var m = Stories260KTests.Load();
        int[] text = [1, 403, 407, 261, 378, 432, 383, 286, 261, 376, 298, 315, 421, 395, 317, 426, 338, 401, 396, 267];
        var prompts = new[] { 3, 11, 7, 20 }.Select(n => (IReadOnlyList<int>)text.Take(n).ToArray()).ToList();
        var singleRec = prompts.Select(_ => new FullPatternRecorder()).ToList();
        var batchRec = prompts.Select(_ => new FullPatternRecorder()).ToList();
        var single = prompts.Select((p, i) => m.Generate(new GenerationRequest { PromptTokens = p, MaxNewTokens = 24, Captures = [singleRec[i]] })).ToList();
        var batched = m.GenerateBatch(prompts.Select((p, i) => new GenerationRequest { PromptTokens = p, MaxNewTokens = 24, Captures = [batchRec[i]] }).ToList());
        for (int i = 0; i < prompts.Count; i++)
        {
            SameScores(batched[i].Sequences[0].Scores, single[i].Sequences[0].Scores, $"prompt {i}");
            SameRows(batchRec[i], singleRec[i], $"prompt {i}");
        }
    }

    [Fact]
    public void Batched_sampling_keeps_each_request_s_seeds_and_is_reproducible()
    {
        var prompts = Questions.Take(3).Select(Prompt).ToList();
        GenerationRequest Req(int i) => new()
        {
            PromptTokens = prompts[i], MaxNewTokens = 24, NumSequences = 3, Sampling = new SamplingOptions(3.0, Seed: 100 + i),
        };
        var batched = _m.GenerateBatch([Req(0), Req(1), Req(2)]);
        var again = _m.GenerateBatch([Req(0), Req(1), Req(2)]);
        var single = Enumerable.Range(0, 3).Select(i => _m.Generate(Req(i))).ToList();
        for (int i = 0; i < 3; i++)
        {
            batched[i].Sequences.Should().HaveCount(3);
            batched[i].Sequences.Select(s => s.Text).Should().Equal(again[i].Sequences.Select(s => s.Text), "same batch, same seeds");
            // Each row draws from its own generator (seed + k): the batch does not change the draws on this model.
            batched[i].Sequences.Select(s => s.Text).Should().Equal(single[i].Sequences.Select(s => s.Text));
        }
        batched.SelectMany(r => r.Sequences.Select(s => s.Text)).Distinct().Should().HaveCountGreaterThan(3, "sampling at temperature 3 varies");
    }

    [Fact]
    public void Batched_scoring_with_head_interventions_equals_separate_calls()
    {
        // Contract 1.4 (AttentionInfluence): documents of different lengths scored in one right-padded batch with the same
        // heads under uniform attention give what each call alone gives; requests with other interventions (or none) in
        // the same ScoreBatch are batched apart and keep theirs.
        var masks = new HeadIntervention[] { new UniformAttention(new HeadId(1, 0)), new UniformAttention(new HeadId(1, 2)) };
        var docs = Questions.Select(q => (IReadOnlyList<int>)Prompt(q).Concat(_m.Tokenizer.Encode(" Answer: 12 #### 12")).ToList()).ToList();
        var requests = docs.Select(d => new ScoreRequest { Tokens = d, From = 1, Interventions = masks })
            .Concat(docs.Select(d => new ScoreRequest { Tokens = d, From = 1 }))
            .Append(new ScoreRequest { Tokens = docs[0], From = 1, Interventions = [new ZeroOutput(new HeadId(0, 1))] })
            .ToList();
        var batched = _m.ScoreBatch(requests);
        var single = requests.Select(r => _m.Score(r)).ToList();
        for (int i = 0; i < requests.Count; i++)
        {
            batched[i].Tokens.Should().Equal(single[i].Tokens);
            for (int t = 0; t < single[i].LogProbs.Count; t++)          // float32 rounding relative to |log p| (down to about -15 here)
                batched[i].LogProbs[t].Should().BeApproximately(single[i].LogProbs[t], 1e-5f * Math.Max(1f, Math.Abs(single[i].LogProbs[t])), $"request {i}, token {t}");
        }
        batched[0].LogProbs.Sum().Should().NotBeApproximately(batched[docs.Count].LogProbs.Sum(), 1e-3f, "the masked heads change the loss");
    }

    [Fact]
    public void Batched_scoring_of_variants_sharing_a_prefix_equals_separate_calls()
    {
        var prompt = Prompt(Questions[1]);
        var answer = _m.Generate(new GenerationRequest { PromptTokens = prompt, MaxNewTokens = 40 }).Sequences[0].Tokens;
        var original = prompt.Concat(answer).ToArray();
        int n = prompt.Count;
        // Variants as UQAC builds them: one answer token replaced (at different places), plus the original and a request
        // that shares nothing (its own first token), one scored from its first token, one with nothing to score.
        var requests = new List<ScoreRequest>();
        foreach (var at in new[] { 3, 9, answer.Count - 2 })
        {
            var v = (int[])original.Clone();
            v[n + at] = (v[n + at] + 5) % _m.Info.VocabSize;
            requests.Add(new ScoreRequest { Tokens = v, From = n, TopLogProbs = 3 });
        }
        requests.Add(new ScoreRequest { Tokens = original, From = n, TopLogProbs = 3, CaptureFinalHidden = true });
        requests.Add(new ScoreRequest { Tokens = original.Take(n + 5).ToArray(), From = n });
        requests.Add(new ScoreRequest { Tokens = Prompt(Questions[3]).Skip(1).ToArray(), From = 1, CaptureFinalHidden = true });
        requests.Add(new ScoreRequest { Tokens = original.Take(n).ToArray(), From = n });

        var singleRec = requests.Select(_ => new FullPatternRecorder()).ToList();
        var batchRec = requests.Select(_ => new FullPatternRecorder()).ToList();
        var single = requests.Select((r, i) => _m.Score(r with { Captures = [singleRec[i]] })).ToList();
        var batched = _m.ScoreBatch(requests.Select((r, i) => r with { Captures = [batchRec[i]] }).ToList());
        for (int i = 0; i < requests.Count; i++)
        {
            SameScores(batched[i], single[i], $"request {i}");
            if (single[i].TopK is { } top)
                for (int t = 0; t < top.Count; t++)
                    batched[i].TopK![t].Select(x => x.Token).Should().Equal(top[t].Select(x => x.Token), $"request {i} top-k at {t}");
            SameRows(batchRec[i], singleRec[i], $"request {i}");
            if (requests[i].CaptureFinalHidden)
            {
                batched[i].FinalHidden.Should().HaveCount(requests[i].Tokens.Count, "a hidden state for every position, prefix included");
                for (int p = 0; p < single[i].FinalHidden!.Count; p++)
                    for (int k = 0; k < _m.Info.DModel; k++)
                        batched[i].FinalHidden![p][k].Should().BeApproximately(single[i].FinalHidden![p][k], 1e-4f, $"request {i}, hidden state of position {p}");
            }
            else batched[i].FinalHidden.Should().BeNull();
        }
        batched[^1].Tokens.Should().BeEmpty();
    }

    [Fact]
    public void Bad_requests_in_a_batch_are_named_by_their_index()
    {
        var ok = new GenerationRequest { PromptTokens = Prompt(Questions[0]), MaxNewTokens = 4 };
        FluentActions.Invoking(() => _m.GenerateBatch([ok, ok with { PromptTokens = [] }]))
            .Should().Throw<ArgumentException>().WithMessage("request 1: the prompt is empty*");
        FluentActions.Invoking(() => _m.ScoreBatch([new ScoreRequest { Tokens = [1, 2], From = 1 }, new ScoreRequest { Tokens = [1, _m.Info.VocabSize], From = 1 }]))
            .Should().Throw<ArgumentException>().WithMessage($"request 1: token id {_m.Info.VocabSize} is outside the vocabulary*");
    }
}
