using AttnEval.Abstractions;
using AttnEval.Backends.TorchSharp;
using AttnEval.Metrics.AttentionInfluence;
using AttnEval.Plugins.Sdk;
using AttnEval.TestSupport;

namespace AttnEval.Metrics.AttentionInfluence.Tests;

/// <summary>Eq. 5, per-domain selection, and scoring on the real stories260K model.</summary>
public sealed class AttentionInfluenceTests
{
    [Fact]
    public void Score_is_ref_minus_base_over_base()
    {
        AttentionInfluenceScorer.Formula(2.0, 2.5).Should().BeApproximately(0.25, 1e-15);
        AttentionInfluenceScorer.Formula(4.0, 3.0).Should().BeApproximately(-0.25, 1e-15);
        var bad = () => AttentionInfluenceScorer.Formula(0, 1);
        bad.Should().Throw<ArgumentOutOfRangeException>().WithMessage("*base loss must be > 0*");
    }

    [Fact]
    public void Selection_takes_the_top_percent_within_each_domain_never_across()
    {
        var scorer = new AttentionInfluenceScorer(new AttentionInfluenceOptions { SelectPercent = 20 });
        var docs = new List<ScoredDocument>();
        for (int i = 0; i < 10; i++) docs.Add(new($"m{i}", "math", i));            // math scores 0..9
        for (int i = 0; i < 5; i++) docs.Add(new($"w{i}", "web", 100 + i));        // web scores all above math
        var sel = scorer.Select(docs, Path.GetTempPath());
        sel.SelectedIds.Should().BeEquivalentTo(["m9", "m8", "w4"]);               // ceil(0.2·10) = 2, ceil(0.2·5) = 1
        var groups = (IReadOnlyDictionary<string, object?>)sel.Summary["groups"]!;
        ((IReadOnlyDictionary<string, object?>)groups["math"]!)["min_selected_score"].Should().Be(8.0);
    }

    [Fact]
    public void Corpus_check_auroc_counts_wins_of_positives_over_negatives_and_halves_ties()
    {
        // The corpus check uses the plugin SDK's Ranking.Auroc (it had its own pairwise copy before issue 17).
        // positives 0.9, 0.4, 0.4; negatives 0.4, 0.1: pairs (0.9>0.4) 1, (0.9>0.1) 1, (0.4=0.4) ½ twice, (0.4>0.1) 1 twice → 5/6.
        Ranking.Auroc([0.9, 0.4, 0.4, 0.4, 0.1], [true, true, true, false, false]).Should().Be(5.0 / 6);
        Ranking.Auroc([0.1, 0.2], [true, false]).Should().Be(0);
        Ranking.Auroc([0.1, 0.2], [true, true]).Should().Be(double.NaN);
    }

    [SkippableFact]
    public void On_stories260K_masking_no_head_gives_zero_and_masking_heads_changes_the_loss()
    {
        var bin = SharedData.Require("models/stories260K/stories260K.bin");
        using var model = new TorchSharpBackend().Load(new ModelSource(bin) { Tokenizer = Path.Combine(Path.GetDirectoryName(bin)!, "tok512.bin") });
        var doc = new Sample("d1", "Once upon a time, there was a little girl named Lily. Lily liked to play with her ball. One day, Lily lost her ball.", null,
            new Dictionary<string, object?> { ["domain"] = "story" });
        var none = new AttentionInfluenceScorer(new AttentionInfluenceOptions());
        var s0 = none.Score(model, doc);
        s0.Uncertainty.Should().Be(0);
        ((double)s0.Details!["l_base"]!).Should().BeInRange(0.1, 6.3);    // in-domain text: well below ln 512 = 6.24 + margin
        s0.Details["group"].Should().Be("story");

        var dir = Directory.CreateTempSubdirectory("ai-").FullName;
        var headsFile = Path.Combine(dir, "given.json");
        File.WriteAllText(headsFile, "{\"0-0\": [0.1], \"4-7\": [0.9], \"2-1\": [0.5]}");
        var masked = new AttentionInfluenceScorer(new AttentionInfluenceOptions { HeadsFile = headsFile, TopPercent = 5, Probes = 4, ProbePairs = 4, KeyLength = 4, ValueWords = 2, AblationDraws = 1 });
        masked.Prepare(model, dir);
        masked.Heads.Should().Equal(new HeadId(4, 7), new HeadId(2, 1));   // ceil(5 % of 40) = 2, ranked by mean
        var s1 = masked.Score(model, doc);
        ((double)s1.Details!["l_base"]!).Should().Be((double)s0.Details["l_base"]!);
        var expected = ((double)s1.Details["l_ref"]! - (double)s1.Details["l_base"]!) / (double)s1.Details["l_base"]!;
        s1.Uncertainty.Should().BeApproximately(expected, 1e-12).And.NotBe(0);
        File.Exists(Path.Combine(dir, "ai-heads.json")).Should().BeTrue();
    }
    [Fact]
    public void On_the_lab_model_a_batch_of_documents_scores_as_each_document_alone()
    {
        // Contract 1.4: ScoreBatch puts every chunk of the batch through one unmasked and one masked batched call; each
        // document's score equals its own Score within float rounding. A batch holding a document with no tokens throws
        // (the host then scores one by one) without keeping any of the batch for the corpus check.
        using var model = new TorchSharpBackend().Load(new ModelSource(LabModel.Folder));
        var docs = File.ReadLines(Path.Combine(LabModel.Folder, "eval", "influence.jsonl")).Take(6).Select((line, i) =>
        {
            var node = System.Text.Json.Nodes.JsonNode.Parse(line)!;
            return new Sample((string)node["id"]!, (string)node["text"]!, null, new Dictionary<string, object?> { ["domain"] = (string)node["kind"]! });
        }).ToList();
        var options = new AttentionInfluenceOptions { HeadsFile = Path.Combine(LabModel.Folder, "retrieval-heads.json"), TopPercent = 25, AblationDraws = 0 };
        var dir = Directory.CreateTempSubdirectory("ai-lab-").FullName;
        try
        {
            var batchScorer = new AttentionInfluenceScorer(options);
            batchScorer.Prepare(model, dir);
            batchScorer.Heads.Should().HaveCount(4);
            var oneScorer = new AttentionInfluenceScorer(options);
            oneScorer.Prepare(model, dir);

            var empty = new Sample("empty", "", null, new Dictionary<string, object?>());
            var act = () => batchScorer.ScoreBatch(model, [docs[0], empty]);
            act.Should().Throw<InvalidDataException>().WithMessage("document empty has no tokens");

            var batched = batchScorer.ScoreBatch(model, docs);
            for (int i = 0; i < docs.Count; i++)
            {
                var alone = oneScorer.Score(model, docs[i]);
                batched[i].Uncertainty.Should().BeApproximately(alone.Uncertainty, 1e-6, docs[i].Id);
                ((double)batched[i].Details!["l_base"]!).Should().BeApproximately((double)alone.Details!["l_base"]!, 1e-6);
                batched[i].Details!["n_tokens"].Should().Be(alone.Details["n_tokens"]);
                batched[i].Details!["group"].Should().Be(docs[i].Field("domain"));
            }
            batched.Select(b => b.Uncertainty).Distinct().Should().HaveCountGreaterThan(3, "the documents differ");
        }
        finally { Directory.Delete(dir, recursive: true); }
    }
}
