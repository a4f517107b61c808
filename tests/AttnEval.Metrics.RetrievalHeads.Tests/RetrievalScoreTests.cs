using AttnEval.Abstractions;
using AttnEval.Plugins.Sdk;
using AttnEval.Metrics.RetrievalHeads;

namespace AttnEval.Metrics.RetrievalHeads.Tests;

/// <summary>Copy-paste score on hand-built attention (spec §1.1), ROUGE-1 recall, span search, grids and heads.json.</summary>
public sealed class RetrievalScoreTests
{
    /// <summary>One row per head of one layer at query position q, each a one-hot (or given) vector over q+1 keys.</summary>
    private static void Feed(CopyPasteReducer r, int layer, int q, params float[][] rowsPerHead)
    {
        var flat = rowsPerHead.SelectMany(x => x).ToArray();
        r.Accept(new AttentionRowBlock(0, layer, q, 1, rowsPerHead.Length, q + 1, flat));
    }

    private static float[] OneHot(int length, int at) { var v = new float[length]; v[at] = 1; return v; }

    [Fact]
    public void Event_count_and_unique_set_scores_match_hand_computed_values()
    {
        // prompt: positions 0..5 = [1, 7, 8, 7, 9, 2], needle span [1, 4) = tokens 7 8 7; generated: 7, 8, 7 (positions 6, 7, 8)
        int[] tokens = [1, 7, 8, 7, 9, 2, 7, 8, 7];
        var r = new CopyPasteReducer(layers: 1, heads: 2, promptLength: 6);
        // rows at q = 5, 6, 7 choose generated tokens 0, 1, 2. Head 0 copies: argmax 1 (7 ✓), 2 (8 ✓), 1 (7 ✓, same position again).
        // Head 1: argmax 3 (7 ✓), 4 (9, outside the span ✗), 6 (a generated 7, outside the span ✗).
        Feed(r, 0, 5, OneHot(6, 1), OneHot(6, 3));
        Feed(r, 0, 6, OneHot(7, 2), OneHot(7, 4));
        Feed(r, 0, 7, OneHot(8, 1), OneHot(8, 6));
        // a row before P−1 is ignored, and the final row (q = 8) chooses no generated token
        Feed(r, 0, 4, OneHot(5, 1), OneHot(5, 1));
        var ev = r.Scores(tokens, generated: 3, needleStart: 1, needleEnd: 4);
        ev[new HeadId(0, 0)].Should().BeApproximately(3 / 3.0, 1e-12);
        ev[new HeadId(0, 1)].Should().BeApproximately(1 / 3.0, 1e-12);
        var set = r.Scores(tokens, 3, 1, 4, RetrievalScoreMode.UniqueSet);
        set[new HeadId(0, 0)].Should().BeApproximately(2 / 3.0, 1e-12);   // positions {1, 2}
        set[new HeadId(0, 1)].Should().BeApproximately(1 / 3.0, 1e-12);
    }

    [Fact]
    public void Argmax_is_over_the_full_visible_row_ties_to_the_lowest_position_and_wrong_token_does_not_count()
    {
        int[] tokens = [1, 5, 6, 9, 5];   // prompt [1,5,6,9], needle span [1,3), generated 5
        var r = new CopyPasteReducer(1, 1, 4);
        Feed(r, 0, 3, [0.1f, 0.4f, 0.4f, 0.1f]);   // tie between 1 and 2 → 1 (token 5 = generated) ✓
        r.Argmax(3, 0, 0).Should().Be(1);
        r.Scores(tokens, 1, 1, 3)[new HeadId(0, 0)].Should().Be(0.5);
        var r2 = new CopyPasteReducer(1, 1, 4);
        Feed(r2, 0, 3, [0.1f, 0.2f, 0.6f, 0.1f]);  // argmax 2 holds token 6 ≠ 5 ✗
        r2.Scores(tokens, 1, 1, 3)[new HeadId(0, 0)].Should().Be(0);
        var bad = () => r2.Scores(tokens, 1, 3, 3);
        bad.Should().Throw<ArgumentException>().WithMessage("*empty*");
    }

    [Theory]
    [InlineData("eat a sandwich and sit in Dolores Park", "You should eat a sandwich in the park.", 5.0 / 8)]      // eat a sandwich in park of eat a sandwich and sit in dolor park
    [InlineData("the cats were running", "A cat runs.", 2.0 / 4)]                                                   // cat (cats→cat), run? running→run, runs→run
    [InlineData("Lily", "", 0.0)]
    public void Rouge1_recall_with_porter_stemming(string reference, string prediction, double expected)
    {
        RougeOne.Recall(reference, prediction).Should().BeApproximately(expected, 1e-12);
    }

    [Theory]
    [InlineData("Лучший город — Москва", "Я думаю, что лучший город — Москва.", 1.0)]   // Cyrillic: every reference token found
    [InlineData("Лучший город — Москва", "Лучший город — Париж.", 2.0 / 3)]
    [InlineData("मुझे काम है", "मुझे कम है", 2.0 / 3)]                                    // काम ≠ कम (vowel sign kept)
    [InlineData("東京タワー", "答えは東京タワーです。", 1.0)]                                 // CJK: one token per character
    public void Rouge1_recall_on_non_latin_needles(string reference, string prediction, double expected)
    {
        // Issue 14 item 9: the reference tokenizer kept only a–z and 0–9, so such a needle failed every trial (recall 0).
        RougeOne.Recall(reference, prediction).Should().BeApproximately(expected, 1e-12);
    }

    [Fact]
    public void Rouge_tokens_are_lowercased_split_on_non_alphanumerics_and_stemmed_above_three_letters()
    {
        RougeOne.Tokens("Running, dogs & CATS: 42x").Should().Equal("run", "dog", "cat", "42x");
    }

    [Fact]
    public void Span_search_takes_the_first_window_whose_token_set_overlaps_more_than_the_threshold()
    {
        int[] prompt = [1, 4, 5, 6, 7, 8, 4, 5, 6, 9];
        Haystack.LocateSpan(prompt, [4, 5, 6]).Should().Be((1, 4));
        Haystack.LocateSpan(prompt, [5, 6, 9]).Should().Be((7, 10));
        Haystack.LocateSpan(prompt, [4, 5, 3], 0.6).Should().Be((0, 3));     // window [1,4,5]: 2/3 > 0.6
        Haystack.LocateSpan(prompt, [4, 5, 3]).Should().BeNull();            // 2/3 ≤ 0.9
    }

    [Fact]
    public void Grids_follow_the_reference_linspace()
    {
        Haystack.Linspace(1000, 50000, 20).Take(3).Should().Equal(1000, 3579, 6158);
        Haystack.Linspace(1000, 50000, 20).Last().Should().Be(50000);
        Haystack.Depths(10, "linear").Should().Equal(0, 11, 22, 33, 44, 56, 67, 78, 89, 100);
        Haystack.Depths(3, "sigmoid").Should().Equal(0.669, 50, 99.331);
    }

    [Fact]
    public void Heads_file_round_trips_in_the_single_line_format_and_rejects_bad_keys()
    {
        var dir = Directory.CreateTempSubdirectory("rh-").FullName;
        var path = Path.Combine(dir, "heads.json");
        var scores = new Dictionary<HeadId, List<double>> { [new(1, 0)] = [0.5, 1.0], [new(0, 1)] = [0, 0.25] };
        HeadScoreFile.Write(path, scores);
        File.ReadAllText(path).Should().Be("{\"0-1\": [0, 0.25], \"1-0\": [0.5, 1]}");
        var back = HeadScoreFile.Read(path);
        back[new HeadId(1, 0)].Should().Equal(0.5, 1.0);
        HeadScoreFile.Means(back)[new HeadId(0, 1)].Should().Be(0.125);
        HeadScoreFile.Ranked(HeadScoreFile.Means(back)).Should().Equal(new HeadId(1, 0), new HeadId(0, 1));
        File.WriteAllText(path, "{\"a-b\": [1]}");
        var act = () => HeadScoreFile.Read(path);
        act.Should().Throw<InvalidDataException>().WithMessage("*heads.json: key 'a-b' is not a head id*");
        File.WriteAllText(path, "{\"1-2\": [\"x\"]}");
        act.Should().Throw<InvalidDataException>().WithMessage("*'1-2' must be a list of numbers*");
    }

    [Fact]
    public void Options_default_to_decode_phase_masking_and_refuse_a_malformed_excluded_head()
    {
        var factory = new RetrievalHeadsFactory();
        var values = factory.Options.ToDictionary(o => o.Key, o => o.Default);
        var o = RetrievalHeadOptions.From(new OptionValues(values));
        o.MaskPhase.Should().Be("decode", "the reference masks the decode steps only");
        o.AblationExclude.Should().BeEmpty();
        values["ablation_exclude"] = new List<object?> { "0-3", "L2H1" };
        RetrievalHeadOptions.From(new OptionValues(values)).AblationExclude.Should().Equal(new HeadId(0, 3), new HeadId(2, 1));
        values["ablation_exclude"] = new List<object?> { "0-3", "x-y" };
        FluentActions.Invoking(() => factory.Create(new OptionValues(values))).Should().Throw<ArgumentException>()
            .WithMessage("metrics.retrieval-heads.ablation_exclude[1]: 'x-y' is not a head (expected \"layer-head\", e.g. \"0-3\")");
    }

    [Fact]
    public void Ablation_check_draws_distinct_random_heads_outside_the_excluded_set_and_reports_spread()
    {
        var info = new ModelInfo("toy", 2, 4, 4, 16, 10, 64, "float32", "cpu");
        var named = new List<HeadId> { new(0, 0), new(1, 3) };
        // metric: 1 − 0.4 per named head ablated, − 0.05 per other head
        var r = AblationCheck.Run(info, named, 4, [new HeadId(0, 1)], seed: 3,
            hs => 1 - hs.Sum(h => named.Contains(h) ? 0.4 : 0.05));
        r.Base.Should().Be(1);
        r.NamedValue.Should().BeApproximately(0.2, 1e-12);
        r.RandomValues.Should().AllSatisfy(v => v.Should().BeApproximately(0.9, 1e-12));
        r.RandomStd.Should().BeApproximately(0, 1e-12);
        r.RandomSets.Should().HaveCount(4).And.AllSatisfy(s => { s.Should().HaveCount(2).And.OnlyHaveUniqueItems(); s.Should().NotContain(named).And.NotContain(new HeadId(0, 1)); });
        var tooMany = () => AblationCheck.RandomHeads(info, 7, new HashSet<HeadId> { new(0, 0), new(0, 1) }, new Random(1));
        tooMany.Should().Throw<ArgumentException>().WithMessage("*only 6 heads remain*");
    }

    [Fact]
    public void Ablation_verdict_says_whether_the_named_heads_move_the_metric_more_than_every_random_set()
    {
        IReadOnlyList<HeadId> named = [new(1, 0), new(1, 3)];
        IReadOnlyList<IReadOnlyList<HeadId>> sets = [[new(0, 1), new(0, 2)], [new(0, 2), new(1, 1)]];
        new AblationResult(2, named, 0.9, 0.1, sets, [0.85, 0.8]).Verdict("needle success").Should().Be(
            "needle success 0.900 → 0.100 with the top 2 ablated (1-0 1-3), 0.825 mean [0.800, 0.850] with 2 random sets of 2: the named heads matter (they change it more than every random set)");
        new AblationResult(2, named, 0.9, 0.5, sets, [0.85, 0.4]).Verdict("needle success").Should().EndWith(
            "0.625 mean [0.400, 0.850] with 2 random sets of 2: not shown (a random set changes it as much as the named heads)");
        new AblationResult(2, named, 0.0, 0.6, sets, [0.1, 0.2]).Verdict("compliance").Should().EndWith("the named heads matter (they change it more than every random set)", "a rise counts as a change too");
        new AblationResult(2, named, 0.9, 0.1, [], []).Verdict("needle success").Should().Be(
            "needle success 0.900 → 0.100 with the top 2 ablated (1-0 1-3); no random sets drawn, so the named heads are not compared with any");
    }
}
