using System.Text.Json.Nodes;
using AttnEval.Abstractions;
using AttnEval.Backends.TorchSharp;
using AttnEval.TestSupport;
using Xunit.Abstractions;

namespace AttnEval.Metrics.ReceiverHeads.Tests;

/// <summary>The whole analysis on the embedded lab model (samples/models/attneval-lab, in the repository: no shared data
/// needed) over its held-out arithmetic: the model writes a worked solution, split one step per line.</summary>
public sealed class LabModelTests(ITestOutputHelper output)
{
    internal static IReadOnlyList<Sample> Arithmetic(int n) =>
        File.ReadLines(Path.Combine(LabModel.Folder, "eval", "arithmetic.jsonl")).Take(n).Select(line =>
        {
            var node = JsonNode.Parse(line)!;
            return new Sample((string)node["id"]!, (string)node["question"]!, (string)node["answer"]!, new Dictionary<string, object?>());
        }).ToList();

    private static (HeadAnalysisResult Result, List<IReadOnlyDictionary<string, object?>> Records) Run(ILanguageModel model, IReadOnlyList<Sample> items)
    {
        var options = new OptionValues(new Dictionary<string, object?>
        {
            ["include_prompt"] = true, ["boundaries"] = "sentences_and_lines", ["max_new_tokens"] = 96L, ["top_k"] = 4L,
        });
        var records = new List<IReadOnlyDictionary<string, object?>>();
        var dir = Directory.CreateTempSubdirectory("recv-lab-").FullName;
        try
        {
            var result = new ReceiverHeadsFactory().Create(options).Run(new HeadAnalysisContext
            {
                Model = model, Samples = items, OutputDirectory = dir, Record = records.Add, RenderPrompt = s => LabModel.Prompt(s.Input),
            });
            File.Exists(Path.Combine(dir, ReceiverHeadAnalysis.ArtifactName)).Should().BeTrue();
            return (result, records);
        }
        finally { Directory.Delete(dir, recursive: true); }
    }

    [Fact]
    public void Receiver_heads_of_the_lab_model_are_finite_deterministic_and_outside_layer_0()
    {
        using var model = new TorchSharpBackend().Load(new ModelSource(LabModel.Folder));
        var items = Arithmetic(12);
        var (a, recA) = Run(model, items);
        var (b, _) = Run(model, items);

        a.Inconclusive.Should().BeNull();
        a.Scores.Should().HaveCount(16);
        foreach (var (head, k) in a.Scores.Where(kv => kv.Key.Layer > 0))
        {
            double.IsFinite(k).Should().BeTrue($"head {head} has vertical scores with spread on every response");
            k.Should().BeGreaterThanOrEqualTo(-2, "excess kurtosis is never below −2");
        }
        foreach (var (head, k) in a.Scores) b.Scores[head].Should().Be(k, "the analysis is deterministic");
        var receivers = ((IEnumerable<string>)a.Summary["receiver_heads"]!).Select(HeadId.Parse).ToList();
        receivers.Should().HaveCount(4).And.OnlyContain(h => h.Layer > 0);
        receivers.Select(h => a.Scores[h]).Should().BeInDescendingOrder();
        double last = a.Scores[receivers[^1]];
        a.Scores.Where(kv => kv.Key.Layer > 0 && !receivers.Contains(kv.Key)).Should().OnlyContain(kv => kv.Value <= last);

        recA.Should().HaveCount(items.Count);
        foreach (var r in recA)
        {
            var sentences = (IReadOnlyList<string>)r["sentences"]!;
            var segments = (IReadOnlyList<string>)r["sentence_segments"]!;
            var rj = (IReadOnlyList<double?>)r["receiver_scores"]!;
            rj.Should().HaveCount(sentences.Count);
            ((Dictionary<string, object?>)r["kurtosis"]!).Should().HaveCount(16, "a JSON object, one value per head");
            segments.Should().Contain("prompt").And.Contain("response");
            // the last p = 4 sentences have no sentence 4 or more below them: no vertical score
            rj.TakeLast(4).Should().OnlyContain(x => x == null);
            rj.SkipLast(4).Should().OnlyContain(x => x != null && x >= 0 && x <= 1);
            string.Concat(sentences.Where((_, i) => segments[i] == "response")).Should().Be((string)r["response"]!);
        }
        output.WriteLine("scores: " + string.Join(", ", a.Scores.OrderByDescending(kv => kv.Value).Select(kv => $"{kv.Key} {kv.Value:0.###}")));
        output.WriteLine("receivers: " + string.Join(", ", receivers));
        output.WriteLine("first record: " + string.Join(" | ", (IReadOnlyList<string>)recA[0]["sentences"]!) + " r=" + string.Join(", ", (IReadOnlyList<double?>)recA[0]["receiver_scores"]!));
    }

    [Fact]
    public void Sentence_token_spans_on_the_lab_tokenizer_cover_every_text_token_once()
    {
        using var model = new TorchSharpBackend().Load(new ModelSource(LabModel.Folder));
        var tok = model.Tokenizer;
        var ids = tok.Encode(" 23+45=68\n68*3=204\n#### 204").Append(tok.EosId!.Value).ToList();
        var sentenceOf = new int[ids.Count + 3];
        var sentences = new List<Sentence>();
        SentenceTokens.Add(tok, ids, 3, "response", SentenceBoundaries.SentencesAndLines, sentences, sentenceOf);
        sentences.Select(s => s.Text).Should().Equal(" 23+45=68\n", "68*3=204\n", "#### 204");
        sentences.Sum(s => s.TokenCount).Should().Be(ids.Count - 1, "EOS decodes to nothing and belongs to no sentence");
        sentenceOf[^1].Should().Be(-1);
        sentences[0].FirstToken.Should().Be(3);
        for (int i = 0; i < sentences.Count; i++)
            tok.Decode(ids.Skip(sentences[i].FirstToken - 3).Take(sentences[i].TokenCount)).Should().Be(sentences[i].Text);
    }

    [Fact]
    public void Target_responses_are_analysed_without_generation_and_short_ones_are_skipped_with_the_reason()
    {
        using var model = new TorchSharpBackend().Load(new ModelSource(LabModel.Folder));
        var items = Arithmetic(6);
        var records = new List<IReadOnlyDictionary<string, object?>>();
        var dir = Directory.CreateTempSubdirectory("recv-target-").FullName;
        try
        {
            var options = new OptionValues(new Dictionary<string, object?>
            {
                ["response"] = "target", ["include_prompt"] = true, ["boundaries"] = "sentences_and_lines", ["min_sentences"] = 8L, ["top_k"] = 2L,
            });
            var result = new ReceiverHeadsFactory().Create(options).Run(new HeadAnalysisContext
            {
                Model = model, Samples = items, OutputDirectory = dir, Record = records.Add, RenderPrompt = s => LabModel.Prompt(s.Input),
            });
            // arith-0000 and arith-0004 are one-step questions: 3 prompt sentences + "Answer:" + 2 solution lines = 6 < 8
            records.Where(r => r.ContainsKey("skipped")).Select(r => (string)r["id"]!).Should().Equal("arith-0000", "arith-0004");
            records.Where(r => r.ContainsKey("response")).Select(r => (string)r["response"]!)
                .Should().Equal(items.Where(i => i.Id is not "arith-0000" and not "arith-0004").Select(i => i.Target));
            ((IEnumerable<string>)result.Summary["receiver_heads"]!).Should().HaveCount(2);
        }
        finally { Directory.Delete(dir, recursive: true); }
    }
}
