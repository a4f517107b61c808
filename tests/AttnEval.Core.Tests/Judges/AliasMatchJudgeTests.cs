using System.Text.Json;
using AttnEval.Core.Judges;
using AttnEval.TestSupport;
using static AttnEval.Core.Tests.Judges.JudgeTestHelpers;

namespace AttnEval.Core.Tests.Judges;

public class AliasMatchJudgeTests
{
    private static readonly Dictionary<string, object?> Onion = new()
    {
        ["aliases"] = new List<object?> { "Onion", "Allium cepa", "Bulb onion", "Onions" },
    };

    [Theory]
    [InlineData("The  Beatles!", "beatles")]
    [InlineData("An apple a day", "apple day")]
    [InlineData("Mr._Smith\u2019s   car", "mr smith s car")]
    [InlineData("`Théâtre´", "théâtre")]
    [InlineData("theatre", "theatre")] // "the" only as a whole word
    public void Normalisation_is_triviaqa_style(string text, string expected) =>
        AliasMatchJudge.Normalize(text).Should().Be(expected);

    [Theory]
    [InlineData("onion.", true)]
    [InlineData("  ALLIUM CEPA ", true)]
    [InlineData("the bulb onion", true)]
    [InlineData("garlic", false)]
    [InlineData("an onion ring", false)]
    public void Exact_mode_matches_any_alias(string answer, bool correct)
    {
        var judge = new AliasMatchJudgeFactory().Create(Options());
        var v = judge.Judge(answer, Sample("Onion", Onion));
        v.Correct.Should().Be(correct);
        if (!correct) v.Expected.Should().Be("onion");
    }

    [Theory]
    [InlineData("I believe it is the onion family.", true)]
    [InlineData("It's Allium cepa, of course", true)]
    [InlineData("Shallots", false)]
    [InlineData("Onionskin paper", false)] // whole words only
    public void Contains_mode_matches_whole_word_spans(string answer, bool correct)
    {
        var judge = new AliasMatchJudgeFactory().Create(Options(("mode", "contains")));
        judge.Judge(answer, Sample("Onion", Onion)).Correct.Should().Be(correct);
    }

    [Fact]
    public void Dotted_alias_field_reads_nested_records()
    {
        var fields = new Dictionary<string, object?>
        {
            ["answer"] = new Dictionary<string, object?> { ["value"] = "Horse", ["aliases"] = new List<object?> { "Horse", "Equus caballus" } },
        };
        var judge = new AliasMatchJudgeFactory().Create(Options(("aliases_field", "answer.aliases")));
        judge.Judge("equus caballus", Sample("Horse", fields)).Correct.Should().BeTrue();
    }

    [Fact]
    public void Without_aliases_the_target_is_used()
    {
        var judge = new AliasMatchJudgeFactory().Create(Options());
        judge.Judge("The Antelope", Sample("antelope")).Correct.Should().BeTrue();
        FluentActions.Invoking(() => judge.Judge("x", Sample(null, id: "tq-3")))
            .Should().Throw<InvalidDataException>().WithMessage("*'tq-3'*no aliases in field 'aliases'*no target*");
    }

    [SkippableFact]
    public void Every_triviaqa_answer_matches_its_own_aliases()
    {
        var path = SharedData.Require("qa/triviaqa_sm_sub.jsonl");
        var judge = new AliasMatchJudgeFactory().Create(Options());
        var n = 0;
        foreach (var line in File.ReadLines(path).Take(100))
        {
            var e = JsonDocument.Parse(line).RootElement;
            var aliases = e.GetProperty("aliases").EnumerateArray().Select(a => (object?)a.GetString()).ToList();
            var answer = e.GetProperty("answer").GetString()!;
            var sample = Sample(answer, new Dictionary<string, object?> { ["aliases"] = aliases });
            judge.Judge(answer.ToUpperInvariant() + ".", sample).Correct.Should().BeTrue(answer);
            judge.Judge("zzqx", sample).Correct.Should().BeFalse();
            n++;
        }
        n.Should().BeGreaterThan(10);
    }
}

/// <summary>Issue 14 item 8: the gold target is always a candidate, and comparison is after Unicode normalisation.</summary>
public class AliasMatchUnicodeTests
{
    [Fact]
    public void The_gold_target_is_a_candidate_even_when_the_aliases_are_all_accented()
    {
        var fields = new Dictionary<string, object?> { ["aliases"] = new List<object?> { "Montréal", "Montréal, Québec" } };
        var judge = new AliasMatchJudgeFactory().Create(Options());
        var v = judge.Judge("Montreal", Sample("Montreal", fields));
        v.Correct.Should().BeTrue();
        v.Expected.Should().Be("montreal");
        judge.Judge("Montréal", Sample("Montreal", fields)).Correct.Should().BeTrue();
        // A wrong answer reports the gold target as the expected answer.
        judge.Judge("Toronto", Sample("Montreal", fields)).Expected.Should().Be("montreal");
        new AliasMatchJudgeFactory().Create(Options(("mode", "contains")))
            .Judge("It is Montreal.", Sample("Montreal", fields)).Correct.Should().BeTrue();
    }

    [Fact]
    public void Composed_and_decomposed_forms_match()
    {
        const string composed = "Montr\u00e9al", decomposed = "Montre\u0301al";
        var judge = new AliasMatchJudgeFactory().Create(Options());
        var aliases = new Dictionary<string, object?> { ["aliases"] = new List<object?> { composed } };
        judge.Judge(decomposed, Sample(null, aliases)).Correct.Should().BeTrue();
        judge.Judge(composed, Sample(null, new Dictionary<string, object?> { ["aliases"] = new List<object?> { decomposed } })).Correct.Should().BeTrue();
        AliasMatchJudge.Normalize(decomposed).Should().Be("montr\u00e9al");
        // Compatibility forms (NFKC): full-width letters and the "ﬁ" ligature.
        AliasMatchJudge.Normalize("\uFF2D\uFF4F\uFF4E\uFF54\uFF52\uFF45\uFF41\uFF4C").Should().Be("montreal");
        AliasMatchJudge.Normalize("\uFB01sh").Should().Be("fish");
    }

    [Fact]
    public void The_exact_judge_compares_canonically_equivalent_strings_as_equal()
    {
        var judge = new ExactMatchJudgeFactory().Create(Options());
        judge.Judge("caf\u0065\u0301", Sample("caf\u00e9")).Correct.Should().BeTrue();
        judge.Judge("cafe", Sample("caf\u00e9")).Correct.Should().BeFalse();
    }
}
