using AttnEval.Evals.SearchRobustness;

namespace AttnEval.Evals.SearchRobustness.Tests;

public class Bm25Tests
{
    private static CorpusDocument Doc(string id, string text) => new(id, "", text, null, false);

    /// <summary>Lucene's BM25 per term: idf·(k1+1)·tf / (tf + k1·(1 − b + b·dl/avgdl)), idf = ln(1 + (N − n + 0.5)/(n + 0.5)).
    /// Document lengths 1 and 4 are stored exactly by Lucene's one-byte norm (1/√dl = 1 and 0.5).</summary>
    private static double Term(double tf, double dl, double avgdl, int n, int docs, double k1 = 1.2, double b = 0.75) =>
        Math.Log(1 + (docs - n + 0.5) / (n + 0.5)) * (k1 + 1) * tf / (tf + k1 * (1 - b + b * dl / avgdl));

    [Fact]
    public void Ranks_a_hand_made_corpus_by_the_bm25_formula()
    {
        using var index = new SearchIndex([
            Doc("d1", "apple"),
            Doc("d2", "apple banana cherry grape"),
            Doc("d3", "banana banana cherry grape"),
            Doc("d4", "kiwi lemon mango melon"),
        ]);
        const double avgdl = (1 + 4 + 4 + 4) / 4.0;
        // "the" is a stop word, "bananas" stems to "banana".
        var hits = index.Search("the apple bananas", 3);
        var expected = new Dictionary<string, double>
        {
            ["d1"] = Term(1, 1, avgdl, 2, 4),
            ["d2"] = Term(1, 4, avgdl, 2, 4) + Term(1, 4, avgdl, 2, 4),
            ["d3"] = Term(2, 4, avgdl, 2, 4),
        };
        hits.Select(h => h.Document.DocId).Should().Equal("d2", "d1", "d3");
        foreach (var h in hits) h.Score.Should().BeApproximately(expected[h.Document.DocId], 1e-4, h.Document.DocId);
        hits.Select(h => h.Rank).Should().Equal(1, 2, 3);
        expected["d2"].Should().BeApproximately(1.26670, 1e-4); // hand: 2 · ln2 · 2.2 / (1 + 1.2·(0.25 + 0.75·4/3.25))
    }

    [Theory]
    [InlineData("capital:france")]
    [InlineData("capital.France")]
    [InlineData("capital_france")]
    [InlineData("CAPITAL_FRANCE?")]
    public void Terms_joined_by_colon_dot_or_underscore_find_what_the_same_words_with_a_space_find(string query)
    {
        // Issue 14 item 17: Lucene's StandardTokenizer (UAX #29) keeps "capital:france", "capital.france" and
        // "capital_france" as one token, which the index never holds; such a query found nothing.
        using var index = new SearchIndex([Doc("d1", "Paris is the capital of France."), Doc("d2", "Berlin is in Germany."), Doc("d3", "The config_file path")]);
        index.Terms(query).Should().Equal("capit", "franc");
        var spaced = index.Search("capital france", 3);
        var joined = index.Search(query, 3);
        joined.Select(h => h.Document.DocId).Should().Equal(spaced.Select(h => h.Document.DocId)).And.Equal("d1");
        joined[0].Score.Should().BeApproximately(spaced[0].Score, 1e-6);
    }

    [Fact]
    public void The_index_splits_joined_words_too_and_numbers_keep_their_dots()
    {
        using var index = new SearchIndex([Doc("d1", "Paris is the capital of France."), Doc("d3", "The config_file path"), Doc("d4", "pi is 3.14 exactly")]);
        index.Search("config file", 3).Select(h => h.Document.DocId).Should().Equal("d3");
        index.Terms("3.14 and e.g. U.S.").Should().Equal("3.14", "e", "g", "u", "s");
        index.Terms("alpha.beta.gamma_delta_2").Should().Equal("alpha", "beta", "gamma", "delta", "2"); // chains split fully
        index.Search("3.14", 3).Select(h => h.Document.DocId).Should().Equal("d4");
    }

    [Fact]
    public void Other_k1_and_b_change_the_scores_as_the_formula_says_and_ties_go_to_the_lower_doc_id()
    {
        using var index = new SearchIndex([Doc("b", "red fox"), Doc("a", "red fox"), Doc("c", "red red red fox")], k1: 0.9, b: 0.4);
        var hits = index.Search("red", 3);
        hits.Select(h => h.Document.DocId).Should().Equal("c", "a", "b");
        hits[1].Score.Should().Be(hits[2].Score);
        // dl 2 is stored lossily; dl = 4 ("red red red fox") exactly: avgdl uses the exact sum 8/3.
        hits[0].Score.Should().BeApproximately(Term(3, 4, 8 / 3.0, 3, 3, 0.9, 0.4), 1e-4);
    }

    [Fact]
    public void Scoped_search_stays_in_the_questions_passages_and_pads_in_doc_id_order()
    {
        using var index = new SearchIndex([
            new CorpusDocument("q1-p0", "", "K01 V10 K02 V20", "q1", false),
            new CorpusDocument("q1-p1", "", "K03 V11", "q1", true),
            new CorpusDocument("q1-p2", "", "K04 V12 K05 V13", "q1", false),
            new CorpusDocument("q2-p0", "", "K03 V99", "q2", true),
        ]);
        index.Search("K03", 3).Select(h => h.Document.DocId).Should().Equal("q1-p1", "q2-p0");
        index.Search("K03", 3, scopeQid: "q1").Select(h => h.Document.DocId).Should().Equal("q1-p1");
        var padded = index.Search("K03", 3, scopeQid: "q1", pad: true);
        padded.Select(h => h.Document.DocId).Should().Equal("q1-p1", "q1-p0", "q1-p2");
        padded.Skip(1).Should().OnlyContain(h => h.Score == 0);
        index.Search("the of and", 3).Should().BeEmpty();
    }

    [Fact]
    public void Duplicate_ids_and_bad_parameters_are_refused()
    {
        FluentActions.Invoking(() => new SearchIndex([Doc("a", "x"), Doc("a", "y")])).Should().Throw<ArgumentException>().WithMessage("*'a' appears twice*");
        FluentActions.Invoking(() => new SearchIndex([Doc("a", "x")], b: 1.5)).Should().Throw<ArgumentException>().WithMessage("*b must be in [0, 1]*");
        FluentActions.Invoking(() => new SearchIndex([])).Should().Throw<ArgumentException>().WithMessage("*empty*");
    }
}

public class PerturbationTests
{
    private static ResultPassage P(string id, bool gold = false, string text = "t") => new(id, "", text, 1, gold);

    [Fact]
    public void Distractors_go_top_bottom_or_interleaved_and_keep_k()
    {
        var results = new[] { P("a"), P("b"), P("c"), P("d") };
        var negs = new[] { P("x") with { Injected = "distractor" }, P("y") with { Injected = "distractor" } };
        Perturbations.Distract(results, negs, "top", 4).Select(r => r.DocId).Should().Equal("x", "y", "a", "b");
        Perturbations.Distract(results, negs, "bottom", 4).Select(r => r.DocId).Should().Equal("a", "b", "x", "y");
        Perturbations.Distract(results, negs, "interleave", 4).Select(r => r.DocId).Should().Equal("a", "x", "b", "y");
        Perturbations.Distract(results.Take(1).ToList(), negs, "top", 3).Select(r => r.DocId).Should().Equal("x", "y", "a");
    }

    [Fact]
    public void Counterfactual_copies_the_gold_passage_with_the_answer_replaced_at_rank_one()
    {
        var gold = new CorpusDocument("q1-p1", "", "K17 V42 K03 V11 K20 v11x", "q1", true);
        var list = Perturbations.Mislead([P("q1-p1", gold: true), P("q1-p0"), P("q1-p2")], gold, "V11", "V57", 3);
        list.Select(r => r.DocId).Should().Equal("q1-p1~cf", "q1-p1", "q1-p0");
        list[0].Text.Should().Be("K17 V42 K03 V57 K20 v11x");
        list[0].Injected.Should().Be("counterfactual");
        list[0].IsGold.Should().BeFalse();
    }

    [Fact]
    public void Gold_removal_truncation_noise_and_shuffle()
    {
        var results = new[] { P("a", gold: true, text: "one two three four five"), P("b", text: "six seven"), P("c") };
        Perturbations.DropGold(results).Select(r => r.DocId).Should().Equal("b", "c");
        Perturbations.Truncate(results, 50).Select(r => r.Text).Should().Equal("one two three", "six", "t");
        var noisy = Perturbations.Noise(results, [P("z") with { Injected = "noise" }], 1, new Random(3));
        noisy.Should().HaveCount(3);
        noisy.Count(r => r.DocId == "z").Should().Be(1);
        noisy.Where(r => r.DocId != "z").Select(r => r.DocId).Should().BeSubsetOf(["a", "b", "c"]).And.HaveCount(2);
        var s1 = Perturbations.Shuffle(results, new Random(5));
        s1.Select(r => r.DocId).Should().BeEquivalentTo(["a", "b", "c"]);
        Perturbations.Shuffle(results, new Random(5)).Select(r => r.DocId).Should().Equal(s1.Select(r => r.DocId));
        Enumerable.Range(0, 20).Select(seed => string.Join(",", Perturbations.Shuffle(results, new Random(seed)).Select(r => r.DocId)))
            .Distinct().Should().HaveCount(6, "every order of three passages appears over 20 seeds");
    }

    [Fact]
    public void Question_typos_hit_only_long_words_at_the_given_rate()
    {
        const string q = "Please find the value of K03 quickly.";
        Perturbations.Typo(q, 0, new Random(1)).Should().Be(q);
        var log = new List<string>();
        var t = Perturbations.Typo(q, 1, new Random(1), log);
        log.Should().HaveCount(4, "Please, find, value and quickly have four letters or more (no doubled letters, so every edit shows)");
        var (a, b) = (q.TrimEnd('.').Split(' '), t.TrimEnd('.').Split(' '));
        t.Should().EndWith(".");
        b.Should().HaveCount(a.Length);
        for (int i = 0; i < a.Length; i++)
        {
            bool longWord = a[i].Length >= 4 && a[i].All(char.IsLetter);
            if (!longWord) b[i].Should().Be(a[i]);
            else AnswerText.NormalizedEditDistance(a[i], b[i]).Should().BeInRange(0.01, 0.51, $"{a[i]} -> {b[i]} is one edit (a swap counts two)");
        }
        Perturbations.Typo(q, 1, new Random(1)).Should().Be(t, "seeded");
    }

    [Fact]
    public void Query_perturbations_drop_replace_and_swap_entities()
    {
        Func<string, bool> stop = w => w is "the" or "of";
        Perturbations.DropTerm("K03", 1, stop, new Random(1)).Should().Be("K03", "the only term is never dropped");
        Perturbations.DropTerm("capital of France", 0, stop, new Random(1)).Should().Be("capital of France");
        var dropped = Perturbations.DropTerm("capital of France", 1, stop, new Random(1));
        dropped.Should().BeOneOf("of France", "capital of");
        Perturbations.Synonym("find the value", new Dictionary<string, string[]> { ["find"] = ["locate"] }, 1, new Random(1)).Should().Be("locate the value");
        Perturbations.Redundant("Who?", "It rained.", "before").Should().Be("It rained. Who?");
        Perturbations.Redundant("Who?", "It rained.", "after").Should().Be("Who? It rained.");

        var swapped = Perturbations.Entity("value of K03 now", ["K03", "K04", "K13", "K99", "V03", "Paris"], 1, new Random(2));
        swapped.Should().BeOneOf("value of K04 now", "value of K13 now", "value of V03 now");
        Perturbations.Entity("where is Roger Donaldson from", ["Roger Donaldson", "Roger Donalds", "K03", "Paris"], 1, new Random(1))
            .Should().Be("where is Roger Donalds from");
        Perturbations.EntityLexicon(["K17 V42 K03", "Barack Obama met Angela Merkel"]).Should().Equal("Angela Merkel", "Barack Obama", "K03", "K17", "V42");
    }

    [Fact]
    public void Conditions_parse_with_defaults_and_clear_errors()
    {
        var c = Condition.Parse("R-DISTR m=3", "conditions[1]");
        c.Name.Should().Be("R-DISTR(m=3,position=top)");
        c.Point.Should().Be(InjectionPoint.Results);
        Condition.Parse("R-NOISE x=50", "c").Severity.Should().Be("m=0,x=50");
        Condition.Parse("R-SHUF", "c").Name.Should().Be("R-SHUF");
        FluentActions.Invoking(() => Condition.Parse("R-DISTRO", "conditions[2]")).Should().Throw<ArgumentException>().WithMessage("conditions[2]: unknown condition 'R-DISTRO'*");
        FluentActions.Invoking(() => Condition.Parse("Q-TYPO rate=2", "conditions[0]")).Should().Throw<ArgumentException>().WithMessage("conditions[0]: Q-TYPO rate=2: expected a number in [0, 1]");
        FluentActions.Invoking(() => Condition.Parse("R-DISTR k=2", "x")).Should().Throw<ArgumentException>().WithMessage("*has no knob 'k'; expected m, position");
    }

    [Fact]
    public void Answers_are_normalised_and_scored_as_squad()
    {
        AnswerText.Normalize("The  Eiffel-Tower!").Should().Be("eiffeltower");
        AnswerText.ExactMatch("the V11", ["V11"]).Should().BeTrue();
        AnswerText.ExactMatch("Montre\u0301al", ["Montr\u00e9al"]).Should().BeTrue(); // NFKC: decomposed = composed
        AnswerText.F1("Barack Obama jr", ["Barack Obama"]).Should().BeApproximately(0.8, 1e-12); // P 2/3, R 1
        AnswerText.CoverMatch("it is V11 probably", ["v11"]).Should().BeTrue();
        AnswerText.ParseAnswer(" <answer> V11</answer>").Should().Be("V11");
        AnswerText.ParseAnswer("no tags").Should().BeNull();
        AnswerText.NormalizedEditDistance("kitten", "sitting").Should().BeApproximately(3 / 7.0, 1e-12);
        SearchRobustnessEvaluation.AnswerType("V11").Should().Be("code:A99");
        SearchRobustnessEvaluation.AnswerType("no").Should().Be("yesno");
        SearchRobustnessEvaluation.AnswerType("1,945").Should().Be("number");
    }
}
